package s3

// Issue 17: the listener answers as AWS S3 does for what clients depend
// on. One test per numbered item of the issue, with the AWS SDK for Go v2
// at its default settings; each checks status and code. Every test here
// failed on the code before the fix (checked by putting the non-test
// files of s3/ and meta/ back to their earlier state and running
// `go test -run TestCompat ./s3/`).

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func compatEnv(t *testing.T) (*testEnv, *awss3.Client, context.Context) {
	e := newTestEnv(t, User{AccessKey: "reader", SecretKey: "reader-secret", Allow: []string{"read"}})
	return e, e.client(testRootKey, testRootSecret), context.Background()
}

func compatBucket(t *testing.T, c *awss3.Client, name, versioning string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if versioning != "" {
		if _, err := c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: aws.String(name),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatus(versioning)}}); err != nil {
			t.Fatal(err)
		}
	}
}

func compatPut(t *testing.T, c *awss3.Client, bucket, key, body string) *awss3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

// compatMultipart uploads parts of the given sizes and returns the upload
// id, the completed parts and the content.
func compatMultipart(t *testing.T, c *awss3.Client, bucket, key string, sizes []int, f ...func(*awss3.CreateMultipartUploadInput)) (string, []types.CompletedPart, []byte) {
	t.Helper()
	ctx := context.Background()
	in := &awss3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	for _, fn := range f {
		fn(in)
	}
	cu, err := c.CreateMultipartUpload(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	var parts []types.CompletedPart
	for i, n := range sizes {
		data := bytes.Repeat([]byte{byte('a' + i)}, n)
		all = append(all, data...)
		up, err := c.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cu.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag})
	}
	return *cu.UploadId, parts, all
}

// Item 1: ListObjectVersions markers are positions. A "list a page,
// delete it, list the next page" loop must not fail on page 2 when the
// marker's version is gone (also the null version, and key markers).
func TestCompat01VersionMarkersArePositions(t *testing.T) {
	_, c, ctx := compatEnv(t)
	compatBucket(t, c, "mark", "Enabled")
	want := 0
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		for i := 0; i < 3; i++ {
			compatPut(t, c, "mark", k, k)
			want++
		}
	}
	// A null version among them: suspended, put, enabled again.
	if _, err := c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: aws.String("mark"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	compatPut(t, c, "mark", "c", "null")
	if _, err := c.PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{Bucket: aws.String("mark"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	compatPut(t, c, "mark", "c", "after-null")
	want += 2
	deleted, pages := 0, 0
	var km, vm *string
	sawNullMarker := false
	for {
		out, err := c.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: aws.String("mark"), MaxKeys: aws.Int32(4), KeyMarker: km, VersionIdMarker: vm})
		if err != nil {
			c, s := apiCode(err)
			t.Fatalf("page %d after deleting the previous page: %d %s (%v)", pages+1, s, c, err)
		}
		pages++
		for _, v := range out.Versions {
			if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("mark"), Key: v.Key, VersionId: v.VersionId}); err != nil {
				t.Fatal(err)
			}
			deleted++
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		km, vm = out.NextKeyMarker, out.NextVersionIdMarker
		if aws.ToString(vm) == "null" {
			sawNullMarker = true
		}
		if pages > 20 {
			t.Fatal("no end")
		}
	}
	if deleted != want {
		t.Fatalf("deleted %d versions in %d pages, want %d", deleted, pages, want)
	}
	left, err := c.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: aws.String("mark")})
	if err != nil || len(left.Versions)+len(left.DeleteMarkers) != 0 {
		t.Fatalf("left: %+v %v", left, err)
	}
	t.Logf("%d pages, a page ended on the null version: %v", pages, sawNullMarker)

	// A version-id marker naming a version that never was (of the right
	// form) is a position too; a key marker of a gone key as well.
	compatPut(t, c, "mark", "z", "z")
	out, err := c.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: aws.String("mark"), KeyMarker: aws.String("y"), VersionIdMarker: aws.String("00000000000000ff")})
	if err != nil || len(out.Versions) != 1 || aws.ToString(out.Versions[0].Key) != "z" || !aws.ToBool(out.Versions[0].IsLatest) {
		t.Fatalf("marker of an unknown version: %+v %v", out, err)
	}
	l1, err := c.ListObjects(ctx, &awss3.ListObjectsInput{Bucket: aws.String("mark"), Marker: aws.String("gone")})
	if err != nil || len(l1.Contents) != 1 {
		t.Fatalf("ListObjects marker of a gone key: %+v %v", l1, err)
	}
}

// Item 2: CompleteMultipartUpload repeated with the same upload id and
// parts answers 200 again (an SDK retrying a Complete whose answer was
// lost); with other parts it is NoSuchUpload.
func TestCompat02CompleteIsIdempotent(t *testing.T) {
	_, c, ctx := compatEnv(t)
	compatBucket(t, c, "mpu", "Enabled")
	id, parts, _ := compatMultipart(t, c, "mpu", "k", []int{5 << 20, 1000})
	in := &awss3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("k"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}
	first, err := c.CompleteMultipartUpload(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CompleteMultipartUpload(ctx, in)
	if err != nil {
		c, s := apiCode(err)
		t.Fatalf("repeated Complete: %d %s (%v), want 200", s, c, err)
	}
	if aws.ToString(again.ETag) != aws.ToString(first.ETag) || aws.ToString(again.VersionId) != aws.ToString(first.VersionId) {
		t.Fatalf("repeated Complete answered %s %s, first %s %s", aws.ToString(again.ETag), aws.ToString(again.VersionId),
			aws.ToString(first.ETag), aws.ToString(first.VersionId))
	}
	vs, err := c.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: aws.String("mpu")})
	if err != nil || len(vs.Versions) != 1 {
		t.Fatalf("versions after two Completes: %+v %v", vs, err)
	}
	other := &awss3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("k"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts[:1]}}
	_, err = c.CompleteMultipartUpload(ctx, other)
	wantCode(t, err, "NoSuchUpload", 404)
	in.Key = aws.String("other-key")
	_, err = c.CompleteMultipartUpload(ctx, in)
	wantCode(t, err, "NoSuchUpload", 404)
}

// Item 3: DeleteBucket aborts the bucket's unfinished uploads, freeing
// their parts.
func TestCompat03DeleteBucketAbortsUploads(t *testing.T) {
	e, c, ctx := compatEnv(t)
	compatBucket(t, c, "gone", "")
	compatMultipart(t, c, "gone", "k", []int{5 << 20, 10})
	compatMultipart(t, c, "gone", "k2", []int{100})
	if _, err := c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("gone")}); err != nil {
		code, s := apiCode(err)
		t.Fatalf("DeleteBucket with uploads in progress: %d %s (%v), want 204", s, code, err)
	}
	_, err := c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String("gone")})
	if _, s := apiCode(err); s != 404 {
		t.Fatalf("HeadBucket after delete: %v", err)
	}
	st, err := e.store.Stats()
	if err != nil || st.Chunks != 0 || st.References != 0 {
		t.Fatalf("parts not freed: %+v %v", st, err)
	}
	compatBucket(t, c, "gone", "")
	ups, err := c.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{Bucket: aws.String("gone")})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("uploads came back with the new bucket: %+v %v", ups, err)
	}
	// Still refused with a version in it.
	compatPut(t, c, "gone", "k", "v")
	_, err = c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: aws.String("gone")})
	wantCode(t, err, "BucketNotEmpty", 409)
}

// Item 4: encoding-type=url keeps "/" and writes a space as %20.
func TestCompat04EncodingTypeURL(t *testing.T) {
	_, c, ctx := compatEnv(t)
	compatBucket(t, c, "enc", "Enabled")
	compatPut(t, c, "enc", "foo/bar baz+q.txt", "x")
	v2, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("enc"), Prefix: aws.String("foo/"), EncodingType: types.EncodingTypeUrl})
	if err != nil || len(v2.Contents) != 1 {
		t.Fatal(v2, err)
	}
	if k, p := aws.ToString(v2.Contents[0].Key), aws.ToString(v2.Prefix); k != "foo/bar%20baz%2Bq.txt" || p != "foo/" {
		t.Fatalf("v2: key %q prefix %q, want foo/bar%%20baz%%2Bq.txt and foo/", k, p)
	}
	v1, err := c.ListObjects(ctx, &awss3.ListObjectsInput{Bucket: aws.String("enc"), Prefix: aws.String("foo/"), Delimiter: aws.String(" "), EncodingType: types.EncodingTypeUrl})
	if err != nil || aws.ToString(v1.Prefix) != "foo/" || aws.ToString(v1.Delimiter) != "%20" || len(v1.CommonPrefixes) != 1 ||
		aws.ToString(v1.CommonPrefixes[0].Prefix) != "foo/bar%20" {
		t.Fatalf("v1: %+v %v", v1, err)
	}
	vs, err := c.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{Bucket: aws.String("enc"), EncodingType: types.EncodingTypeUrl})
	if err != nil || len(vs.Versions) != 1 || aws.ToString(vs.Versions[0].Key) != "foo/bar%20baz%2Bq.txt" {
		t.Fatalf("versions: %+v %v", vs, err)
	}
}

// Item 5: Cache-Control, Expires, Content-Disposition, Content-Encoding
// and Content-Language are stored with a version and returned; CopyObject
// copies them (REPLACE takes the request's); multipart takes them from
// CreateMultipartUpload; response-* overrides are honoured.
func TestCompat05StandardHeaders(t *testing.T) {
	_, c, ctx := compatEnv(t)
	compatBucket(t, c, "hdr", "Enabled")
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("hdr"), Key: aws.String("k"), Body: strings.NewReader("hello"),
		CacheControl: aws.String("max-age=3600, public"), ContentDisposition: aws.String(`attachment; filename="a b.txt"`),
		ContentEncoding: aws.String("gzip"), ContentLanguage: aws.String("de-CH"), Expires: aws.Time(exp)})
	if err != nil {
		code, s := apiCode(err)
		t.Fatalf("PutObject with standard headers: %d %s (%v)", s, code, err)
	}
	check := func(name string, cc, cd, ce, cl, ex *string) {
		t.Helper()
		got := []string{aws.ToString(cc), aws.ToString(cd), aws.ToString(ce), aws.ToString(cl), aws.ToString(ex)}
		want := []string{"max-age=3600, public", `attachment; filename="a b.txt"`, "gzip", "de-CH", exp.Format(timeFormatHTTP)}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: headers %q, want %q", name, got, want)
			}
		}
	}
	h, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("hdr"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	check("HEAD", h.CacheControl, h.ContentDisposition, h.ContentEncoding, h.ContentLanguage, h.ExpiresString)
	g, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("hdr"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(g.Body)
	g.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("body %q", body)
	}
	check("GET", g.CacheControl, g.ContentDisposition, g.ContentEncoding, g.ContentLanguage, g.ExpiresString)
	ov, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("hdr"), Key: aws.String("k"), ResponseCacheControl: aws.String("no-store"),
		ResponseContentDisposition: aws.String("inline")})
	if err != nil || aws.ToString(ov.CacheControl) != "no-store" || aws.ToString(ov.ContentDisposition) != "inline" || aws.ToString(ov.ContentLanguage) != "de-CH" {
		t.Fatalf("response-* overrides: %v %v %v", aws.ToString(ov.CacheControl), aws.ToString(ov.ContentDisposition), err)
	}
	ov.Body.Close()

	if _, err := c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("hdr"), Key: aws.String("copy"), CopySource: aws.String("hdr/k")}); err != nil {
		t.Fatal(err)
	}
	h, err = c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("hdr"), Key: aws.String("copy")})
	if err != nil {
		t.Fatal(err)
	}
	check("copy (COPY directive)", h.CacheControl, h.ContentDisposition, h.ContentEncoding, h.ContentLanguage, h.ExpiresString)
	if _, err := c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("hdr"), Key: aws.String("replaced"), CopySource: aws.String("hdr/k"),
		MetadataDirective: types.MetadataDirectiveReplace, CacheControl: aws.String("no-cache")}); err != nil {
		t.Fatal(err)
	}
	h, err = c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("hdr"), Key: aws.String("replaced")})
	if err != nil || aws.ToString(h.CacheControl) != "no-cache" || h.ContentDisposition != nil || h.ContentLanguage != nil {
		t.Fatalf("copy (REPLACE): %v %v %v", aws.ToString(h.CacheControl), aws.ToString(h.ContentDisposition), err)
	}

	id, parts, _ := compatMultipart(t, c, "hdr", "mp", []int{100}, func(in *awss3.CreateMultipartUploadInput) {
		in.CacheControl = aws.String("max-age=3600, public")
		in.ContentDisposition = aws.String(`attachment; filename="a b.txt"`)
		in.ContentEncoding = aws.String("gzip")
		in.ContentLanguage = aws.String("de-CH")
		in.Expires = aws.Time(exp)
	})
	if _, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("hdr"), Key: aws.String("mp"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	h, err = c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("hdr"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	check("multipart", h.CacheControl, h.ContentDisposition, h.ContentEncoding, h.ContentLanguage, h.ExpiresString)
}

const timeFormatHTTP = "Mon, 02 Jan 2006 15:04:05 GMT"

// Item 6: PUT and Complete into a Suspended bucket carry no
// x-amz-version-id (AWS sends it only while versioning is Enabled).
func TestCompat06NoVersionHeaderWhenSuspended(t *testing.T) {
	_, c, ctx := compatEnv(t)
	compatBucket(t, c, "susp", "Suspended")
	if out := compatPut(t, c, "susp", "k", "v"); out.VersionId != nil {
		t.Fatalf("PUT into a Suspended bucket answered x-amz-version-id %q", *out.VersionId)
	}
	id, parts, _ := compatMultipart(t, c, "susp", "m", []int{10})
	out, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("susp"), Key: aws.String("m"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil || out.VersionId != nil {
		t.Fatalf("Complete into a Suspended bucket: version id %v, %v", aws.ToString(out.VersionId), err)
	}
	cp, err := c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("susp"), Key: aws.String("c"), CopySource: aws.String("susp/k")})
	if err != nil || cp.VersionId != nil {
		t.Fatalf("Copy into a Suspended bucket: %v %v", aws.ToString(cp.VersionId), err)
	}
	compatBucket(t, c, "enab", "Enabled")
	if out := compatPut(t, c, "enab", "k", "v"); out.VersionId == nil {
		t.Fatal("PUT into an Enabled bucket answered no version id")
	}
}

// Item 7: re-creating a bucket you own in us-east-1 answers 200.
func TestCompat07RecreateOwnedBucket(t *testing.T) {
	_, c, ctx := compatEnv(t)
	compatBucket(t, c, "mine", "Enabled")
	compatPut(t, c, "mine", "k", "v")
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("mine")}); err != nil {
		code, s := apiCode(err)
		t.Fatalf("re-create: %d %s, want 200", s, code)
	}
	// Nothing changed.
	v, err := c.GetBucketVersioning(ctx, &awss3.GetBucketVersioningInput{Bucket: aws.String("mine")})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatal(v, err)
	}
	if _, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("mine"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
}

// Item 8: ACLs with AWS's BucketOwnerEnforced semantics, object ownership
// controls and GetObjectAttributes.
func TestCompat08ACLOwnershipAttributes(t *testing.T) {
	e, c, ctx := compatEnv(t)
	compatBucket(t, c, "acl", "Enabled")
	put := compatPut(t, c, "acl", "k", "hello")
	owner := func(name string, o *types.Owner, grants []types.Grant) {
		t.Helper()
		if o == nil || aws.ToString(o.ID) == "" || len(grants) != 1 || grants[0].Permission != types.PermissionFullControl ||
			grants[0].Grantee == nil || aws.ToString(grants[0].Grantee.ID) != aws.ToString(o.ID) || grants[0].Grantee.Type != types.TypeCanonicalUser {
			t.Fatalf("%s: owner %+v grants %+v, want the owner with FULL_CONTROL", name, o, grants)
		}
	}
	ba, err := c.GetBucketAcl(ctx, &awss3.GetBucketAclInput{Bucket: aws.String("acl")})
	if err != nil {
		code, s := apiCode(err)
		t.Fatalf("GetBucketAcl: %d %s", s, code)
	}
	owner("GetBucketAcl", ba.Owner, ba.Grants)
	oa, err := c.GetObjectAcl(ctx, &awss3.GetObjectAclInput{Bucket: aws.String("acl"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	owner("GetObjectAcl", oa.Owner, oa.Grants)
	_, err = c.GetObjectAcl(ctx, &awss3.GetObjectAclInput{Bucket: aws.String("acl"), Key: aws.String("missing")})
	wantCode(t, err, "NoSuchKey", 404)

	// What is true is accepted and changes nothing; anything else is 400.
	before := covDigest(t, e.store)
	for _, acl := range []types.BucketCannedACL{types.BucketCannedACLPrivate} {
		if _, err := c.PutBucketAcl(ctx, &awss3.PutBucketAclInput{Bucket: aws.String("acl"), ACL: acl}); err != nil {
			t.Fatalf("PutBucketAcl %s: %v", acl, err)
		}
	}
	if _, err := c.PutBucketAcl(ctx, &awss3.PutBucketAclInput{Bucket: aws.String("acl"), AccessControlPolicy: &types.AccessControlPolicy{
		Owner: ba.Owner, Grants: ba.Grants}}); err != nil {
		t.Fatalf("PutBucketAcl with the owner's grant: %v", err)
	}
	for _, acl := range []types.ObjectCannedACL{types.ObjectCannedACLPrivate, types.ObjectCannedACLBucketOwnerFullControl} {
		if _, err := c.PutObjectAcl(ctx, &awss3.PutObjectAclInput{Bucket: aws.String("acl"), Key: aws.String("k"), ACL: acl}); err != nil {
			t.Fatalf("PutObjectAcl %s: %v", acl, err)
		}
	}
	covUnchanged(t, e.store, before)
	e.refusedSDK(t, 400, "AccessControlListNotSupported", func() error {
		_, err := c.PutBucketAcl(ctx, &awss3.PutBucketAclInput{Bucket: aws.String("acl"), ACL: types.BucketCannedACLPublicRead})
		return err
	})
	e.refusedSDK(t, 400, "AccessControlListNotSupported", func() error {
		_, err := c.PutObjectAcl(ctx, &awss3.PutObjectAclInput{Bucket: aws.String("acl"), Key: aws.String("k"), ACL: types.ObjectCannedACLPublicRead})
		return err
	})
	e.refusedSDK(t, 400, "AccessControlListNotSupported", func() error {
		_, err := c.PutObjectAcl(ctx, &awss3.PutObjectAclInput{Bucket: aws.String("acl"), Key: aws.String("k"), AccessControlPolicy: &types.AccessControlPolicy{
			Owner: ba.Owner, Grants: []types.Grant{{Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String("http://acs.amazonaws.com/groups/global/AllUsers")},
				Permission: types.PermissionRead}}}})
		return err
	})
	e.refusedSDK(t, 400, "AccessControlListNotSupported", func() error {
		_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("acl"), Key: aws.String("pub"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
		return err
	})
	e.refusedSDK(t, 400, "AccessControlListNotSupported", func() error {
		_, err := c.CopyObject(ctx, &awss3.CopyObjectInput{Bucket: aws.String("acl"), Key: aws.String("pub"), CopySource: aws.String("acl/k"), ACL: types.ObjectCannedACLPublicRead})
		return err
	})
	e.refusedSDK(t, 400, "InvalidBucketAclWithObjectOwnership", func() error {
		_, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("public"), ACL: types.BucketCannedACLPublicRead})
		return err
	})
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("acl"), Key: aws.String("bofc"), Body: strings.NewReader("x"),
		ACL: types.ObjectCannedACLBucketOwnerFullControl}); err != nil {
		t.Fatalf("PUT with bucket-owner-full-control: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("private"), ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatalf("CreateBucket private: %v", err)
	}
	// A reader may read ACLs but not put them, even the true one.
	r := e.client("reader", "reader-secret")
	if _, err := r.GetBucketAcl(ctx, &awss3.GetBucketAclInput{Bucket: aws.String("acl")}); err != nil {
		t.Fatal(err)
	}
	e.refusedSDK(t, 403, "AccessDenied", func() error {
		_, err := r.PutBucketAcl(ctx, &awss3.PutBucketAclInput{Bucket: aws.String("acl"), ACL: types.BucketCannedACLPrivate})
		return err
	})
	e.refusedSDK(t, 403, "AccessDenied", func() error {
		_, err := r.PutBucketOwnershipControls(ctx, &awss3.PutBucketOwnershipControlsInput{Bucket: aws.String("acl"),
			OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}})
		return err
	})

	oc, err := c.GetBucketOwnershipControls(ctx, &awss3.GetBucketOwnershipControlsInput{Bucket: aws.String("acl")})
	if err != nil || oc.OwnershipControls == nil || len(oc.OwnershipControls.Rules) != 1 ||
		oc.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipBucketOwnerEnforced {
		t.Fatalf("GetBucketOwnershipControls: %+v %v", oc, err)
	}
	if _, err := c.PutBucketOwnershipControls(ctx, &awss3.PutBucketOwnershipControlsInput{Bucket: aws.String("acl"),
		OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}}); err != nil {
		t.Fatalf("PutBucketOwnershipControls BucketOwnerEnforced: %v", err)
	}
	e.refusedSDK(t, 501, "NotImplemented", func() error {
		_, err := c.PutBucketOwnershipControls(ctx, &awss3.PutBucketOwnershipControlsInput{Bucket: aws.String("acl"),
			OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipObjectWriter}}}})
		return err
	})

	// GetObjectAttributes of a plain and of a multipart object.
	at, err := c.GetObjectAttributes(ctx, &awss3.GetObjectAttributesInput{Bucket: aws.String("acl"), Key: aws.String("k"),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesObjectSize, types.ObjectAttributesStorageClass, types.ObjectAttributesChecksum}})
	if err != nil {
		code, s := apiCode(err)
		t.Fatalf("GetObjectAttributes: %d %s (%v)", s, code, err)
	}
	if aws.ToString(at.ETag) != strings.Trim(aws.ToString(put.ETag), `"`) || aws.ToInt64(at.ObjectSize) != 5 || at.StorageClass != types.StorageClassStandard ||
		aws.ToString(at.VersionId) != aws.ToString(put.VersionId) || at.Checksum == nil || aws.ToString(at.Checksum.ChecksumCRC32) == "" {
		t.Fatalf("GetObjectAttributes: %+v", at)
	}
	id, parts, _ := compatMultipart(t, c, "acl", "mp", []int{5 << 20, 5 << 20, 7})
	if _, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("acl"), Key: aws.String("mp"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	at, err = c.GetObjectAttributes(ctx, &awss3.GetObjectAttributesInput{Bucket: aws.String("acl"), Key: aws.String("mp"),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectParts, types.ObjectAttributesObjectSize}, MaxParts: aws.Int32(2)})
	if err != nil || at.ObjectParts == nil || aws.ToInt32(at.ObjectParts.TotalPartsCount) != 3 || len(at.ObjectParts.Parts) != 2 ||
		!aws.ToBool(at.ObjectParts.IsTruncated) || aws.ToInt64(at.ObjectParts.Parts[1].Size) != 5<<20 || aws.ToInt64(at.ObjectSize) != 10<<20+7 {
		t.Fatalf("GetObjectAttributes of a multipart object: %+v %v", at.ObjectParts, err)
	}
	_, err = c.GetObjectAttributes(ctx, &awss3.GetObjectAttributesInput{Bucket: aws.String("acl"), Key: aws.String("missing"),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesEtag}})
	wantCode(t, err, "NoSuchKey", 404)
}

// Item 9: a key that cannot be parsed (not UTF-8) is 400 InvalidURI, not
// 404.
func TestCompat09InvalidURI(t *testing.T) {
	_, c, ctx := compatEnv(t)
	compatBucket(t, c, "uri", "")
	_, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("uri"), Key: aws.String("bad\xffkey")})
	wantCode(t, err, "InvalidURI", 400)
	_, err = c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("uri"), Key: aws.String("bad\xffkey"), Body: strings.NewReader("x")})
	wantCode(t, err, "InvalidURI", 400)
	// A well-formed key that does not exist is still 404.
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("uri"), Key: aws.String("good key ü")})
	wantCode(t, err, "NoSuchKey", 404)
}

// Item 10: GET and HEAD with partNumber on a multipart object answer that
// part's range and x-amz-mp-parts-count; UploadPart without a checksum
// into a lock bucket says "Put Part".
func TestCompat10PartNumber(t *testing.T) {
	_, c, ctx := compatEnv(t)
	compatBucket(t, c, "parts", "Enabled")
	id, parts, all := compatMultipart(t, c, "parts", "mp", []int{5 << 20, 1 << 20})
	if _, err := c.CompleteMultipartUpload(ctx, &awss3.CompleteMultipartUploadInput{Bucket: aws.String("parts"), Key: aws.String("mp"), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	h, err := c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("parts"), Key: aws.String("mp"), PartNumber: aws.Int32(1)})
	if err != nil {
		code, s := apiCode(err)
		t.Fatalf("HEAD partNumber=1: %d %s (%v)", s, code, err)
	}
	if aws.ToInt64(h.ContentLength) != 5<<20 || aws.ToInt32(h.PartsCount) != 2 || aws.ToString(h.ContentRange) != "bytes 0-5242879/6291456" {
		t.Fatalf("HEAD partNumber=1: length %d parts %d range %q", aws.ToInt64(h.ContentLength), aws.ToInt32(h.PartsCount), aws.ToString(h.ContentRange))
	}
	g, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("parts"), Key: aws.String("mp"), PartNumber: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(g.Body)
	g.Body.Close()
	if !bytes.Equal(body, all[5<<20:]) || aws.ToInt32(g.PartsCount) != 2 {
		t.Fatalf("GET partNumber=2: %d bytes, parts %d", len(body), aws.ToInt32(g.PartsCount))
	}
	_, err = c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("parts"), Key: aws.String("mp"), PartNumber: aws.Int32(3)})
	wantCode(t, err, "InvalidPartNumber", 416)

	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("lockparts"), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	cu, err := c.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("lockparts"), Key: aws.String("k"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	plain := awss3.New(c.Options(), func(o *awss3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired })
	_, err = plain.UploadPart(ctx, &awss3.UploadPartInput{Bucket: aws.String("lockparts"), Key: aws.String("k"), UploadId: cu.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	wantCode(t, err, "InvalidRequest", 400)
	var ae smithy.APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.ErrorMessage(), "Put Part") {
		t.Fatalf("UploadPart without a checksum: %v, want the message to say Put Part", err)
	}
}

// Item 11: the bucket configurations a client only reads answer AWS's 4xx
// (or AWS's empty document) instead of 501; setting one is still 501.
func TestCompat11AbsentBucketConfigs(t *testing.T) {
	e, c, ctx := compatEnv(t)
	compatBucket(t, c, "cfg", "")
	b := aws.String("cfg")
	for _, tc := range []struct {
		name, code string
		call       func() error
	}{
		{"GetBucketCors", "NoSuchCORSConfiguration", func() error { _, err := c.GetBucketCors(ctx, &awss3.GetBucketCorsInput{Bucket: b}); return err }},
		{"GetBucketWebsite", "NoSuchWebsiteConfiguration", func() error { _, err := c.GetBucketWebsite(ctx, &awss3.GetBucketWebsiteInput{Bucket: b}); return err }},
		{"GetBucketLifecycleConfiguration", "NoSuchLifecycleConfiguration", func() error {
			_, err := c.GetBucketLifecycleConfiguration(ctx, &awss3.GetBucketLifecycleConfigurationInput{Bucket: b})
			return err
		}},
		{"GetBucketEncryption", "ServerSideEncryptionConfigurationNotFoundError", func() error {
			_, err := c.GetBucketEncryption(ctx, &awss3.GetBucketEncryptionInput{Bucket: b})
			return err
		}},
		{"GetBucketReplication", "ReplicationConfigurationNotFoundError", func() error {
			_, err := c.GetBucketReplication(ctx, &awss3.GetBucketReplicationInput{Bucket: b})
			return err
		}},
		{"GetBucketTagging", "NoSuchTagSet", func() error { _, err := c.GetBucketTagging(ctx, &awss3.GetBucketTaggingInput{Bucket: b}); return err }},
		{"GetPublicAccessBlock", "NoSuchPublicAccessBlockConfiguration", func() error {
			_, err := c.GetPublicAccessBlock(ctx, &awss3.GetPublicAccessBlockInput{Bucket: b})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call(), tc.code, 404) })
	}
	if _, err := c.GetBucketCors(ctx, &awss3.GetBucketCorsInput{Bucket: aws.String("nobucket")}); err == nil {
		t.Fatal("GetBucketCors of a missing bucket succeeded")
	} else {
		wantCode(t, err, "NoSuchBucket", 404)
	}
	if _, err := c.GetBucketLogging(ctx, &awss3.GetBucketLoggingInput{Bucket: b}); err != nil {
		t.Fatalf("GetBucketLogging: %v", err)
	}
	if _, err := c.GetBucketNotificationConfiguration(ctx, &awss3.GetBucketNotificationConfigurationInput{Bucket: b}); err != nil {
		t.Fatalf("GetBucketNotificationConfiguration: %v", err)
	}
	if _, err := c.GetBucketAccelerateConfiguration(ctx, &awss3.GetBucketAccelerateConfigurationInput{Bucket: b}); err != nil {
		t.Fatalf("GetBucketAccelerateConfiguration: %v", err)
	}
	if rp, err := c.GetBucketRequestPayment(ctx, &awss3.GetBucketRequestPaymentInput{Bucket: b}); err != nil || rp.Payer != types.PayerBucketOwner {
		t.Fatalf("GetBucketRequestPayment: %+v %v", rp, err)
	}
	before := covDigest(t, e.store)
	if _, err := c.DeleteBucketCors(ctx, &awss3.DeleteBucketCorsInput{Bucket: b}); err != nil {
		t.Fatalf("DeleteBucketCors: %v", err)
	}
	if _, err := c.DeleteBucketLifecycle(ctx, &awss3.DeleteBucketLifecycleInput{Bucket: b}); err != nil {
		t.Fatalf("DeleteBucketLifecycle: %v", err)
	}
	covUnchanged(t, e.store, before)
	e.refusedSDK(t, 501, "NotImplemented", func() error {
		_, err := c.PutBucketCors(ctx, &awss3.PutBucketCorsInput{Bucket: b, CORSConfiguration: &types.CORSConfiguration{
			CORSRules: []types.CORSRule{{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*"}}}}})
		return err
	})
}
