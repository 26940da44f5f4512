package integration

// Issue 17, "must show" 2: a versioned bucket of 3,000 versions is
// emptied by the loops people run, which list a page, delete it and list
// the next page from markers naming versions that are gone: boto3's
// bucket.object_versions.delete() and the SDK's ListObjectVersions
// paginator deleting each page as it goes. Before markers were positions,
// page 2 failed with 404 NoSuchVersion (checked on the earlier code).

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/wormfs/wormfs/meta"
)

// fillVersions writes keys×perKey versions into a versioned bucket
// through the store (the listing and deleting are what is tested, over
// S3), plus one delete marker per 10 keys.
func fillVersions(t *testing.T, e *s3Env, bucket string, keys, perKey int) int {
	t.Helper()
	e.plainBucket(t, bucket, "Enabled")
	n := 0
	for k := 0; k < keys; k++ {
		key := fmt.Sprintf("dir%d/key %04d.txt", k%7, k)
		for v := 0; v < perKey; v++ {
			w, err := e.Store.NewWriter(bucket, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.WriteAt([]byte(fmt.Sprintf("%s v%d", key, v)), 0); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Publish(meta.PublishOptions{}); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if k%10 == 0 {
			if _, err := e.Store.Delete(bucket, key, meta.PublishOptions{}); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	return n
}

func assertEmptyAndDelete(t *testing.T, e *s3Env, bucket string) {
	t.Helper()
	out, err := e.Client.ListObjectVersions(e.ctx(t), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	must(t, err, "ListObjectVersions")
	if n := len(out.Versions) + len(out.DeleteMarkers); n != 0 {
		t.Fatalf("%d versions and markers left in %s", n, bucket)
	}
	_, err = e.Client.DeleteBucket(e.ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	must(t, err, "DeleteBucket of the emptied bucket")
}

func TestS3CompatEmptyVersionedBucket(t *testing.T) {
	e := testS3(t)
	t.Run("sdk paginator", func(t *testing.T) {
		const b = "empty-sdk"
		total := fillVersions(t, e, b, 1000, 3)
		p := s3.NewListObjectVersionsPaginator(e.Client, &s3.ListObjectVersionsInput{Bucket: aws.String(b), MaxKeys: aws.Int32(1000)})
		deleted, pages := 0, 0
		for p.HasMorePages() {
			page, err := p.NextPage(e.ctx(t))
			if err != nil {
				code, status := apiErr(err)
				t.Fatalf("page %d (after deleting %d): %d %s: %v", pages+1, deleted, status, code, err)
			}
			pages++
			var ids []types.ObjectIdentifier
			for _, v := range page.Versions {
				ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
			}
			for _, m := range page.DeleteMarkers {
				ids = append(ids, types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
			}
			if len(ids) == 0 {
				continue
			}
			res, err := e.Client.DeleteObjects(e.ctx(t), &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
			must(t, err, "DeleteObjects")
			if len(res.Errors) != 0 {
				t.Fatalf("DeleteObjects errors: %+v", res.Errors[0])
			}
			deleted += len(ids)
		}
		if deleted != total || pages < 3 {
			t.Fatalf("deleted %d of %d in %d pages", deleted, total, pages)
		}
		t.Logf("deleted %d versions and markers in %d pages", deleted, pages)
		assertEmptyAndDelete(t, e, b)
	})
	t.Run("boto3 object_versions.delete", func(t *testing.T) {
		py, err := exec.LookPath("python3")
		if err != nil {
			if requireEnv("WORMFS_REQUIRE_BOTO3") || requireEnv("WORMFS_REQUIRE_AWSCLI") {
				t.Fatalf("python3 not found: %v", err)
			}
			t.Skipf("python3 not found (%v)", err)
		}
		env := isolatedEnv(t)
		if out, err := runPy(t, py, env, "-c", "import boto3"); err != nil {
			if requireEnv("WORMFS_REQUIRE_BOTO3") || requireEnv("WORMFS_REQUIRE_AWSCLI") {
				t.Fatalf("python3 cannot import boto3: %v\n%s", err, out)
			}
			t.Skipf("python3 cannot import boto3 (%v)", err)
		}
		const b = "empty-boto3"
		total := fillVersions(t, e, b, 1000, 3)
		script := `
import os, boto3
s3 = boto3.resource("s3", endpoint_url=os.environ["WORMFS_S3_ENDPOINT"])
res = s3.Bucket(os.environ["WORMFS_BUCKET"]).object_versions.delete()
n = sum(len(r.get("Deleted", [])) for r in res)
errs = sum(len(r.get("Errors", [])) for r in res)
print("DELETED %d ERRORS %d BATCHES %d" % (n, errs, len(res)))
`
		env = append(env, "WORMFS_S3_ENDPOINT="+e.PlainURL, "WORMFS_BUCKET="+b)
		out, err := runPy(t, py, env, "-c", script)
		t.Logf("boto3: %s", tailString(out, 2000))
		if err != nil {
			t.Fatalf("bucket.object_versions.delete() failed: %v", err)
		}
		want := fmt.Sprintf("DELETED %d ERRORS 0", total)
		if !strings.Contains(out, want) {
			t.Fatalf("boto3 output %q, want %q", strings.TrimSpace(out), want)
		}
		assertEmptyAndDelete(t, e, b)
	})
}
