package s3

// A smoke run of the operations with the real AWS SDK for Go v2 against the
// listener on 127.0.0.1 (the big end-to-end suite is in integration/).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/wormfs/wormfs/meta"
)

const (
	testRootKey    = "OPSTESTROOT"
	testRootSecret = "ops-test-root-secret"
)

// testEnv is one listener over one store.
type testEnv struct {
	store *meta.Store
	srv   *Server
	url   string
	hc    *http.Client
}

func newTestEnv(t testing.TB, users ...User) *testEnv {
	t.Helper()
	st, err := meta.Open(meta.Options{Dir: t.TempDir(), GCInterval: -1, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(st, Options{AccessKey: testRootKey, SecretKey: testRootSecret, Users: users, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	// TLS, so that the SDK at its default settings sends aws-chunked
	// bodies with CRC32 trailers, as against AWS.
	hs := httptest.NewTLSServer(srv)
	t.Cleanup(func() {
		hs.Close()
		st.Close()
	})
	return &testEnv{store: st, srv: srv, url: hs.URL, hc: hs.Client()}
}

// client is an SDK client with default settings but the endpoint, path
// style (the endpoint is an IP address) and the given key pair.
func (e *testEnv) client(ak, sk string) *awss3.Client {
	return awss3.New(awss3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.url),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, ""),
		HTTPClient:   e.hc,
		// What config.LoadDefaultConfig sets; a bare Options leaves both
		// unset, which sends no checksums at all.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
}

// apiCode returns the S3 error code and HTTP status of an SDK error.
func apiCode(err error) (string, int) {
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

func wantCode(t *testing.T, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %d %s, got success", status, code)
	}
	c, s := apiCode(err)
	if c != code || s != status {
		t.Fatalf("want %d %s, got %d %s (%v)", status, code, s, c, err)
	}
}

func TestSDKSmokeLockedLifecycle(t *testing.T) {
	e := newTestEnv(t)
	c := e.client(testRootKey, testRootSecret)
	ctx := context.Background()
	b := aws.String("locked")

	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: b, ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	ver, err := c.GetBucketVersioning(ctx, &awss3.GetBucketVersioningInput{Bucket: b})
	if err != nil || ver.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning after create with lock: %v %v", ver.Status, err)
	}
	lc, err := c.GetObjectLockConfiguration(ctx, &awss3.GetObjectLockConfigurationInput{Bucket: b})
	if err != nil || lc.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled || lc.ObjectLockConfiguration.Rule != nil {
		t.Fatalf("lock config: %+v %v", lc, err)
	}

	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	body := []byte("keep me for a day")
	put, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("docs/a.txt"), Body: bytes.NewReader(body),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(until), ContentType: aws.String("text/plain"),
		Metadata: map[string]string{"owner": "ops"}})
	if err != nil {
		t.Fatal(err)
	}
	if put.VersionId == nil || *put.VersionId == "" {
		t.Fatal("PutObject returned no version id")
	}

	got, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: b, Key: aws.String("docs/a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(data, body) || got.ObjectLockMode != types.ObjectLockModeGovernance || !got.ObjectLockRetainUntilDate.Equal(until) ||
		aws.ToString(got.ContentType) != "text/plain" || got.Metadata["owner"] != "ops" {
		t.Fatalf("GetObject: %q mode=%v until=%v ct=%v meta=%v", data, got.ObjectLockMode, got.ObjectLockRetainUntilDate, aws.ToString(got.ContentType), got.Metadata)
	}

	rng, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: b, Key: aws.String("docs/a.txt"), Range: aws.String("bytes=5-6")})
	if err != nil {
		t.Fatal(err)
	}
	data, _ = io.ReadAll(rng.Body)
	rng.Body.Close()
	if string(data) != "me" || aws.ToString(rng.ContentRange) != "bytes 5-6/17" {
		t.Fatalf("range: %q %q", data, aws.ToString(rng.ContentRange))
	}

	vs, err := c.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: b, Prefix: aws.String("docs/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Versions) != 1 || aws.ToString(vs.Versions[0].VersionId) != aws.ToString(put.VersionId) || !aws.ToBool(vs.Versions[0].IsLatest) {
		t.Fatalf("versions: %+v", vs.Versions)
	}

	_, err = c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: b, Key: aws.String("docs/a.txt"), VersionId: put.VersionId})
	wantCode(t, err, "AccessDenied", 403)

	// A delete without version id makes a delete marker; the locked
	// version stays.
	del, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: b, Key: aws.String("docs/a.txt")})
	if err != nil || !aws.ToBool(del.DeleteMarker) {
		t.Fatalf("delete marker: %+v %v", del, err)
	}
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: b, Key: aws.String("docs/a.txt")})
	wantCode(t, err, "NoSuchKey", 404)
	old, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: b, Key: aws.String("docs/a.txt"), VersionId: put.VersionId})
	if err != nil {
		t.Fatal(err)
	}
	old.Body.Close()

	// Governance bypass by root removes the version.
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: b, Key: aws.String("docs/a.txt"), VersionId: put.VersionId,
		BypassGovernanceRetention: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: b, Key: aws.String("docs/a.txt"), VersionId: put.VersionId})
	wantCode(t, err, "NoSuchVersion", 404)
}

func TestSDKSmokeRetentionAndHold(t *testing.T) {
	e := newTestEnv(t, User{AccessKey: "writer", SecretKey: "writer-secret", Allow: []string{"read", "write"}})
	c := e.client(testRootKey, testRootSecret)
	w := e.client("writer", "writer-secret")
	ctx := context.Background()
	b := aws.String("ret")
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: b, ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObjectLockConfiguration(ctx, &awss3.PutObjectLockConfigurationInput{Bucket: b, ObjectLockConfiguration: &types.ObjectLockConfiguration{
		ObjectLockEnabled: types.ObjectLockEnabledEnabled,
		Rule:              &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeCompliance, Days: aws.Int32(1)}},
	}}); err != nil {
		t.Fatal(err)
	}
	put, err := w.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String("r.txt"), Body: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	ret, err := c.GetObjectRetention(ctx, &awss3.GetObjectRetentionInput{Bucket: b, Key: aws.String("r.txt"), VersionId: put.VersionId})
	if err != nil || ret.Retention.Mode != types.ObjectLockRetentionModeCompliance {
		t.Fatalf("default retention stamped: %+v %v", ret, err)
	}
	// Shortening COMPLIANCE is refused for root too.
	_, err = c.PutObjectRetention(ctx, &awss3.PutObjectRetentionInput{Bucket: b, Key: aws.String("r.txt"), VersionId: put.VersionId,
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(time.Now().Add(time.Hour))}, BypassGovernanceRetention: aws.Bool(true)})
	wantCode(t, err, "AccessDenied", 403)
	// The writer has no lock grant.
	_, err = w.PutObjectLegalHold(ctx, &awss3.PutObjectLegalHoldInput{Bucket: b, Key: aws.String("r.txt"), LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}})
	wantCode(t, err, "AccessDenied", 403)
	_, err = c.GetObjectLegalHold(ctx, &awss3.GetObjectLegalHoldInput{Bucket: b, Key: aws.String("r.txt")})
	wantCode(t, err, "NoSuchObjectLockConfiguration", 404)
	if _, err := c.PutObjectLegalHold(ctx, &awss3.PutObjectLegalHoldInput{Bucket: b, Key: aws.String("r.txt"), LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}}); err != nil {
		t.Fatal(err)
	}
	lh, err := c.GetObjectLegalHold(ctx, &awss3.GetObjectLegalHoldInput{Bucket: b, Key: aws.String("r.txt")})
	if err != nil || lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("legal hold: %+v %v", lh, err)
	}
	// DeleteObjects reports the protected version in Errors.
	out, err := c.DeleteObjects(ctx, &awss3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("r.txt"), VersionId: put.VersionId}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "AccessDenied" || len(out.Deleted) != 0 {
		t.Fatalf("DeleteObjects: deleted %+v errors %+v", out.Deleted, out.Errors)
	}
	// Suspending versioning on a lock bucket is refused.
	_, err = c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: b, VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	wantCode(t, err, "InvalidBucketState", 409)
}

func TestSDKSmokeMultipartCopyList(t *testing.T) {
	e := newTestEnv(t)
	c := e.client(testRootKey, testRootSecret)
	ctx := context.Background()
	b := aws.String("mpu")
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	cr, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	part1 := bytes.Repeat([]byte("a"), meta.MinPartSize)
	p1, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: b, Key: aws.String("big"), UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(part1)})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: b, Key: aws.String("big"), UploadId: cr.UploadId, PartNumber: aws.Int32(2), Body: strings.NewReader("tail")})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := c.ListParts(ctx, &awss3.ListPartsInput{Bucket: b, Key: aws.String("big"), UploadId: cr.UploadId})
	if err != nil || len(lp.Parts) != 2 {
		t.Fatalf("ListParts: %+v %v", lp, err)
	}
	lu, err := c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: b})
	if err != nil || len(lu.Uploads) != 1 {
		t.Fatalf("ListMultipartUploads: %+v %v", lu, err)
	}
	done, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("big"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: p1.ETag}, {PartNumber: aws.Int32(2), ETag: p2.ETag}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.Trim(aws.ToString(done.ETag), `"`), "-2") {
		t.Fatalf("multipart ETag %q", aws.ToString(done.ETag))
	}
	head, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: b, Key: aws.String("big")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(part1)+4) {
		t.Fatalf("HeadObject: %+v %v", head, err)
	}
	if _, err := c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: b, Key: aws.String("dir/copy"), CopySource: aws.String("mpu/big")}); err != nil {
		t.Fatal(err)
	}
	l2, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: b, Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(l2.Contents) != 1 || aws.ToString(l2.Contents[0].Key) != "big" || len(l2.CommonPrefixes) != 1 || aws.ToString(l2.CommonPrefixes[0].Prefix) != "dir/" {
		t.Fatalf("ListObjectsV2: %+v %+v", l2.Contents, l2.CommonPrefixes)
	}
	// Paginate one key at a time.
	var keys []string
	p := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: b, MaxKeys: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	if strings.Join(keys, ",") != "big,dir/copy" {
		t.Fatalf("paginated keys %v", keys)
	}
	// A bucket policy without statements is refused, never stored.
	_, err = c.PutBucketPolicy(ctx, &awss3.PutBucketPolicyInput{Bucket: b, Policy: aws.String("{}")})
	wantCode(t, err, "MalformedPolicy", 400)
}

// BenchmarkSDKPut64MiB and BenchmarkSDKGet64MiB measure one 64 MiB object
// through the SDK over TLS (CRC32 trailer, synced commit) and back.
func BenchmarkSDKPut64MiB(b *testing.B) {
	e := newTestEnv(b)
	c := e.client(testRootKey, testRootSecret)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String("k"), Body: bytes.NewReader(data)}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSDKGet64MiB(b *testing.B) {
	e := newTestEnv(b)
	c := e.client(testRootKey, testRootSecret)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20)
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String("k"), Body: bytes.NewReader(data)}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bench"), Key: aws.String("k")})
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, out.Body)
		out.Body.Close()
		if err != nil || n != int64(len(data)) {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
}

// TestSDKListingPaginationMatchesModel pages through ListObjects (v1 and
// v2) and ListObjectVersions with small pages, with and without a
// delimiter, and compares the union with what an in-memory model says.
func TestSDKListingPaginationMatchesModel(t *testing.T) {
	e := newTestEnv(t)
	c := e.client(testRootKey, testRootSecret)
	ctx := context.Background()
	b := aws.String("pages")
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: b, VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a", "a/b", "a/b/c", "a/d", "b", "b/x", "c/y/z", "c/y/zz", "d", "e/f", "e/g", "zz"}
	versions := 0
	for i, k := range keys {
		for j := 0; j <= i%3; j++ {
			if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: b, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
				t.Fatal(err)
			}
			versions++
		}
	}
	if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: b, Key: aws.String("b")}); err != nil {
		t.Fatal(err)
	}
	versions++ // the delete marker
	current := []string{}
	for _, k := range keys {
		if k != "b" {
			current = append(current, k)
		}
	}
	model := func(prefix, delim string, all []string) []string {
		var out []string
		seen := map[string]bool{}
		for _, k := range all {
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			if delim != "" {
				if i := strings.Index(k[len(prefix):], delim); i >= 0 {
					cp := k[:len(prefix)+i+len(delim)]
					if !seen[cp] {
						seen[cp] = true
						out = append(out, cp+"(prefix)")
					}
					continue
				}
			}
			out = append(out, k)
		}
		return out
	}
	for _, tc := range []struct{ name, prefix, delim string }{
		{"everything", "", ""},
		{"top level", "", "/"},
		{"under a/", "a/", "/"},
		{"prefix c", "c", "/"},
		{"prefix without delimiter", "e", ""},
	} {
		for _, page := range []int32{1, 2, 5} {
			t.Run(fmt.Sprintf("%s/page %d", tc.name, page), func(t *testing.T) {
				want := strings.Join(model(tc.prefix, tc.delim, current), ",")
				var v2 []string
				p := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: b, Prefix: aws.String(tc.prefix), Delimiter: aws.String(tc.delim), MaxKeys: aws.Int32(page)})
				for p.HasMorePages() {
					out, err := p.NextPage(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if int32(len(out.Contents)+len(out.CommonPrefixes)) > page || aws.ToInt32(out.KeyCount) != int32(len(out.Contents)+len(out.CommonPrefixes)) {
						t.Fatalf("page of %d entries, KeyCount %d, max %d", len(out.Contents)+len(out.CommonPrefixes), aws.ToInt32(out.KeyCount), page)
					}
					v2 = append(v2, merge(out.Contents, out.CommonPrefixes)...)
				}
				if got := strings.Join(v2, ","); got != want {
					t.Fatalf("v2:\n got %s\nwant %s", got, want)
				}
				var v1 []string
				marker := ""
				for n := 0; ; n++ {
					out, err := c.ListObjects(ctx, &awss3.ListObjectsInput{Bucket: b, Prefix: aws.String(tc.prefix), Delimiter: aws.String(tc.delim), MaxKeys: aws.Int32(page), Marker: aws.String(marker)})
					if err != nil {
						t.Fatal(err)
					}
					v1 = append(v1, merge(out.Contents, out.CommonPrefixes)...)
					if !aws.ToBool(out.IsTruncated) || n > 100 {
						break
					}
					marker = aws.ToString(out.NextMarker)
					if marker == "" {
						marker = aws.ToString(out.Contents[len(out.Contents)-1].Key)
					}
				}
				if got := strings.Join(v1, ","); got != want {
					t.Fatalf("v1:\n got %s\nwant %s", got, want)
				}
			})
		}
	}
	for _, page := range []int32{1, 2, 7} {
		t.Run(fmt.Sprintf("versions/page %d", page), func(t *testing.T) {
			n, latest := 0, 0
			var km, vm *string
			for i := 0; ; i++ {
				out, err := c.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: b, MaxKeys: aws.Int32(page), KeyMarker: km, VersionIdMarker: vm})
				if err != nil {
					t.Fatal(err)
				}
				n += len(out.Versions) + len(out.DeleteMarkers)
				for _, v := range out.Versions {
					if aws.ToBool(v.IsLatest) {
						latest++
					}
				}
				for _, d := range out.DeleteMarkers {
					if aws.ToBool(d.IsLatest) {
						latest++
					}
				}
				if !aws.ToBool(out.IsTruncated) || i > 200 {
					break
				}
				km, vm = out.NextKeyMarker, out.NextVersionIdMarker
			}
			if n != versions || latest != len(keys) {
				t.Fatalf("versions: %d entries (want %d), %d latest (want %d)", n, versions, latest, len(keys))
			}
		})
	}
}

// merge lists keys and common prefixes in key order.
func merge(objs []types.Object, prefixes []types.CommonPrefix) []string {
	var out []string
	for _, o := range objs {
		out = append(out, aws.ToString(o.Key))
	}
	for _, p := range prefixes {
		out = append(out, aws.ToString(p.Prefix)+"(prefix)")
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.TrimSuffix(out[i], "(prefix)") < strings.TrimSuffix(out[j], "(prefix)")
	})
	return out
}
