package integration

// Every row of the SPEC §6 error table, checked through aws-sdk-go-v2 at
// its default settings (raw signed requests only where the SDK cannot send
// the bad input): HTTP status and S3 error code, and that the refused
// request changed nothing in the store.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestS3ErrorTable(t *testing.T) {
	e := testS3(t)
	runCases(t, e, "row", s3ErrorRows)
}

// refused runs f, which must fail with (status, code), and checks that the
// store is unchanged.
func refused(t *testing.T, e *s3Env, status int, code string, f func() error) {
	t.Helper()
	before := storeDigest(t, e.Store)
	wantErr(t, f(), status, code)
	assertUnchanged(t, e.Store, before)
}

func refusedRaw(t *testing.T, e *s3Env, status int, code string, f func() *rawResp) {
	t.Helper()
	before := storeDigest(t, e.Store)
	wantRaw(t, f(), status, code)
	assertUnchanged(t, e.Store, before)
}

func (e *s3Env) putRetention(t *testing.T, c *s3.Client, b, k, vid string, r *types.ObjectLockRetention, bypass bool) error {
	in := &s3.PutObjectRetentionInput{Bucket: aws.String(b), Key: aws.String(k), Retention: r}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	if bypass {
		in.BypassGovernanceRetention = aws.Bool(true)
	}
	_, err := c.PutObjectRetention(t.Context(), in)
	return err
}

func (e *s3Env) putLockConfig(t *testing.T, b string, r *types.DefaultRetention) error {
	c := &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}
	if r != nil {
		c.Rule = &types.ObjectLockRule{DefaultRetention: r}
	}
	_, err := e.Client.PutObjectLockConfiguration(t.Context(), &s3.PutObjectLockConfigurationInput{Bucket: aws.String(b), ObjectLockConfiguration: c})
	return err
}

func govRet(until time.Time) *types.ObjectLockRetention {
	return &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(until)}
}

func compRet(until time.Time) *types.ObjectLockRetention {
	return &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(until)}
}

// A client that sends no checksum unless the operation requires one
// (PutObject does not), so a PUT carries neither Content-MD5 nor
// x-amz-checksum-*.
func noChecksum(o *s3.Options) {
	o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
}

const s3ns = `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`

var s3ErrorRows = []s3Case{
	{"delete a protected version/403 AccessDenied", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		gov := e.put(t, b, "gov", "g")
		e.retain(t, b, "gov", gov, types.ObjectLockRetentionModeGovernance, future(time.Hour))
		comp := e.put(t, b, "comp", "c")
		e.retain(t, b, "comp", comp, types.ObjectLockRetentionModeCompliance, future(time.Hour))
		held := e.put(t, b, "held", "h", func(in *s3.PutObjectInput) { in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn })
		for _, c := range []struct {
			key, vid string
			bypass   bool
		}{{"gov", gov, false}, {"comp", comp, false}, {"comp", comp, true}, {"held", held, false}, {"held", held, true}} {
			refused(t, e, 403, "AccessDenied", func() error {
				in := &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(c.key), VersionId: aws.String(c.vid)}
				if c.bypass {
					in.BypassGovernanceRetention = aws.Bool(true)
				}
				_, err := e.Client.DeleteObject(t.Context(), in)
				return err
			})
		}
	}},
	{"delete a protected version/DeleteObjects Errors AccessDenied per key", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		comp := e.put(t, b, "comp", "c", func(in *s3.PutObjectInput) {
			in.ObjectLockMode = types.ObjectLockModeCompliance
			in.ObjectLockRetainUntilDate = aws.Time(future(time.Hour))
		})
		held := e.put(t, b, "held", "h", func(in *s3.PutObjectInput) { in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn })
		before := storeDigest(t, e.Store)
		out, err := e.Client.DeleteObjects(t.Context(), &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{
			Objects: []types.ObjectIdentifier{{Key: aws.String("comp"), VersionId: aws.String(comp)}, {Key: aws.String("held"), VersionId: aws.String(held)}},
		}})
		must(t, err, "DeleteObjects")
		if len(out.Deleted) != 0 || len(out.Errors) != 2 {
			t.Fatalf("Deleted %+v Errors %+v, want 2 errors", out.Deleted, out.Errors)
		}
		for _, er := range out.Errors {
			if aws.ToString(er.Code) != "AccessDenied" {
				t.Errorf("%s: code %q, want AccessDenied", aws.ToString(er.Key), aws.ToString(er.Code))
			}
		}
		assertUnchanged(t, e.Store, before)
	}},
	{"shorten retention without a valid bypass/403 AccessDenied", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		until := future(48 * time.Hour)
		gov := e.put(t, b, "gov", "g")
		e.retain(t, b, "gov", gov, types.ObjectLockRetentionModeGovernance, until)
		comp := e.put(t, b, "comp", "c")
		e.retain(t, b, "comp", comp, types.ObjectLockRetentionModeCompliance, until)
		shorter := until.Add(-24 * time.Hour)
		refused(t, e, 403, "AccessDenied", func() error { return e.putRetention(t, e.Client, b, "gov", gov, govRet(shorter), false) })
		refused(t, e, 403, "AccessDenied", func() error { return e.putRetention(t, e.Client, b, "comp", comp, compRet(shorter), false) })
		refused(t, e, 403, "AccessDenied", func() error { return e.putRetention(t, e.Client, b, "comp", comp, compRet(shorter), true) })
	}},
	{"remove retention without a valid bypass/403 AccessDenied", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		gov := e.put(t, b, "gov", "g")
		e.retain(t, b, "gov", gov, types.ObjectLockRetentionModeGovernance, future(48*time.Hour))
		comp := e.put(t, b, "comp", "c")
		e.retain(t, b, "comp", comp, types.ObjectLockRetentionModeCompliance, future(48*time.Hour))
		// An empty <Retention/> removes retention (S3's way, with bypass).
		refused(t, e, 403, "AccessDenied", func() error {
			return e.putRetention(t, e.Client, b, "gov", gov, &types.ObjectLockRetention{}, false)
		})
		refused(t, e, 403, "AccessDenied", func() error {
			return e.putRetention(t, e.Client, b, "comp", comp, &types.ObjectLockRetention{}, true)
		})
		// With bypass, root may remove GOVERNANCE retention.
		must(t, e.putRetention(t, e.Client, b, "gov", gov, &types.ObjectLockRetention{}, true), "remove GOVERNANCE retention with bypass")
		if v := e.storeVersion(t, b, "gov", gov); v.RetMode != "" {
			t.Errorf("retention after removal = %s %s", v.RetMode, v.RetUntil)
		}
	}},
	{"change-mode of retention without a valid bypass/403 AccessDenied", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		until := future(48 * time.Hour)
		gov := e.put(t, b, "gov", "g")
		e.retain(t, b, "gov", gov, types.ObjectLockRetentionModeGovernance, until)
		comp := e.put(t, b, "comp", "c")
		e.retain(t, b, "comp", comp, types.ObjectLockRetentionModeCompliance, until)
		refused(t, e, 403, "AccessDenied", func() error { return e.putRetention(t, e.Client, b, "gov", gov, compRet(until), false) })
		refused(t, e, 403, "AccessDenied", func() error { return e.putRetention(t, e.Client, b, "comp", comp, govRet(until), false) })
		refused(t, e, 403, "AccessDenied", func() error { return e.putRetention(t, e.Client, b, "comp", comp, govRet(until.Add(time.Hour)), true) })
	}},
	{"retain-until in the past/400 InvalidArgument", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		vid := e.put(t, b, "k", "v")
		past := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
		refused(t, e, 400, "InvalidArgument", func() error { return e.putRetention(t, e.Client, b, "k", vid, govRet(past), false) })
		refused(t, e, 400, "InvalidArgument", func() error {
			_, err := e.Client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("new"), Body: strings.NewReader("x"),
				ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(past)})
			return err
		})
	}},
	{"only one of x-amz-object-lock-mode / -retain-until-date/400 InvalidArgument", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		refused(t, e, 400, "InvalidArgument", func() error {
			_, err := e.Client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("m"), Body: strings.NewReader("x"),
				ObjectLockMode: types.ObjectLockModeGovernance})
			return err
		})
		refused(t, e, 400, "InvalidArgument", func() error {
			_, err := e.Client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("d"), Body: strings.NewReader("x"),
				ObjectLockRetainUntilDate: aws.Time(future(time.Hour))})
			return err
		})
	}},
	{"unknown lock mode on PUT/400 InvalidArgument", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		refused(t, e, 400, "InvalidArgument", func() error {
			_, err := e.Client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("u"), Body: strings.NewReader("x"),
				ObjectLockMode: types.ObjectLockMode("FOREVER"), ObjectLockRetainUntilDate: aws.Time(future(time.Hour))})
			return err
		})
	}},
	{"malformed retention XML/400 MalformedXML", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		vid := e.put(t, b, "k", "v")
		for _, body := range []string{
			"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>",
			"not xml at all",
			"<Retention " + s3ns + "><Mode>GOVERNANCE</Mode><RetainUntilDate>tomorrow</RetainUntilDate></Retention>",
		} {
			refusedRaw(t, e, 400, "MalformedXML", func() *rawResp {
				return e.rawSigned(t, "PUT", "/"+b+"/k", "retention=&versionId="+vid, []byte(body), http.Header{"Content-Md5": {md5b64([]byte(body))}})
			})
		}
	}},
	{"malformed legal-hold XML/400 MalformedXML", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		vid := e.put(t, b, "k", "v")
		body := "<LegalHold><Status>ON"
		refusedRaw(t, e, 400, "MalformedXML", func() *rawResp {
			return e.rawSigned(t, "PUT", "/"+b+"/k", "legal-hold=&versionId="+vid, []byte(body), http.Header{"Content-Md5": {md5b64([]byte(body))}})
		})
		refused(t, e, 400, "MalformedXML", func() error {
			_, err := e.Client.PutObjectLegalHold(t.Context(), &s3.PutObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(vid),
				LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatus("MAYBE")}})
			return err
		})
	}},
	{"malformed lock-configuration XML/400 MalformedXML", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		body := "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
		refusedRaw(t, e, 400, "MalformedXML", func() *rawResp {
			return e.rawSigned(t, "PUT", "/"+b, "object-lock=", []byte(body), http.Header{"Content-Md5": {md5b64([]byte(body))}})
		})
	}},
	{"lock-configuration with both Days and Years/400 MalformedXML", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		refused(t, e, 400, "MalformedXML", func() error {
			return e.putLockConfig(t, b, &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1), Years: aws.Int32(1)})
		})
	}},
	{"lock-configuration with neither Days nor Years/400 MalformedXML", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		refused(t, e, 400, "MalformedXML", func() error {
			return e.putLockConfig(t, b, &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance})
		})
	}},
	{"Days or Years <= 0/400 InvalidRetentionPeriod", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		for _, r := range []types.DefaultRetention{
			{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(0)},
			{Mode: types.ObjectLockRetentionModeCompliance, Days: aws.Int32(-1)},
			{Mode: types.ObjectLockRetentionModeGovernance, Years: aws.Int32(0)},
			{Mode: types.ObjectLockRetentionModeCompliance, Years: aws.Int32(-5)},
		} {
			refused(t, e, 400, "InvalidRetentionPeriod", func() error { return e.putLockConfig(t, b, &r) })
		}
	}},
	{"retention/legal-hold calls or lock headers on a bucket without Object Lock/400 InvalidRequest", func(t *testing.T, e *s3Env, b string) {
		e.plainBucket(t, b, "Enabled")
		vid := e.put(t, b, "k", "v")
		refused(t, e, 400, "InvalidRequest", func() error { return e.putRetention(t, e.Client, b, "k", vid, govRet(future(time.Hour)), false) })
		refused(t, e, 400, "InvalidRequest", func() error {
			_, err := e.Client.GetObjectRetention(t.Context(), &s3.GetObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k")})
			return err
		})
		refused(t, e, 400, "InvalidRequest", func() error {
			_, err := e.Client.PutObjectLegalHold(t.Context(), &s3.PutObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k"),
				LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}})
			return err
		})
		refused(t, e, 400, "InvalidRequest", func() error {
			_, err := e.Client.GetObjectLegalHold(t.Context(), &s3.GetObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k")})
			return err
		})
		refused(t, e, 400, "InvalidRequest", func() error {
			_, err := e.Client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("new"), Body: strings.NewReader("x"),
				ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(future(time.Hour))})
			return err
		})
		refused(t, e, 400, "InvalidRequest", func() error {
			_, err := e.Client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("new"), Body: strings.NewReader("x"),
				ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
			return err
		})
	}},
	{"bypass header on a bucket without Object Lock/400 InvalidArgument", func(t *testing.T, e *s3Env, b string) {
		e.plainBucket(t, b, "Enabled")
		vid := e.put(t, b, "k", "v")
		refused(t, e, 400, "InvalidArgument", func() error {
			_, err := e.Client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(vid),
				BypassGovernanceRetention: aws.Bool(true)})
			return err
		})
	}},
	{"Get retention never set/404 NoSuchObjectLockConfiguration", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		vid := e.put(t, b, "k", "v")
		_, err := e.Client.GetObjectRetention(t.Context(), &s3.GetObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(vid)})
		wantErr(t, err, 404, "NoSuchObjectLockConfiguration")
	}},
	{"Get legal hold never set/404 NoSuchObjectLockConfiguration", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		vid := e.put(t, b, "k", "v")
		_, err := e.Client.GetObjectLegalHold(t.Context(), &s3.GetObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(vid)})
		wantErr(t, err, 404, "NoSuchObjectLockConfiguration")
	}},
	{"GetObjectLockConfiguration on a bucket without it/404 ObjectLockConfigurationNotFoundError", func(t *testing.T, e *s3Env, b string) {
		e.plainBucket(t, b, "Enabled")
		_, err := e.Client.GetObjectLockConfiguration(t.Context(), &s3.GetObjectLockConfigurationInput{Bucket: aws.String(b)})
		wantErr(t, err, 404, "ObjectLockConfigurationNotFoundError")
	}},
	{"PutObjectLockConfiguration when versioning is not Enabled/409 InvalidBucketState", func(t *testing.T, e *s3Env, b string) {
		e.plainBucket(t, b+"-off", "")
		e.plainBucket(t, b+"-susp", "Suspended")
		rule := &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}
		refused(t, e, 409, "InvalidBucketState", func() error { return e.putLockConfig(t, b+"-off", rule) })
		refused(t, e, 409, "InvalidBucketState", func() error { return e.putLockConfig(t, b+"-susp", nil) })
	}},
	{"suspending versioning on a lock bucket/409 InvalidBucketState", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		refused(t, e, 409, "InvalidBucketState", func() error {
			_, err := e.Client.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{Bucket: aws.String(b),
				VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
			return err
		})
	}},
	{"lock headers without Content-MD5 or x-amz-checksum/400 InvalidRequest", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		c := e.client(rootAccessKey, rootSecretKey, noChecksum)
		refused(t, e, 400, "InvalidRequest", func() error {
			_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("x"),
				ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(future(time.Hour))})
			return err
		})
		refused(t, e, 400, "InvalidRequest", func() error {
			_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("x"),
				ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
			return err
		})
		// A multipart upload created with lock headers: its parts need
		// an integrity header too.
		cr, err := c.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"),
			ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(future(time.Hour))})
		must(t, err, "CreateMultipartUpload with lock headers")
		refused(t, e, 400, "InvalidRequest", func() error {
			_, err := c.UploadPart(t.Context(), &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: cr.UploadId,
				PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
			return err
		})
		_, err = e.Client.AbortMultipartUpload(t.Context(), &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: cr.UploadId})
		must(t, err, "AbortMultipartUpload")
		// The same without lock headers is fine.
		_, err = c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("x")})
		must(t, err, "PutObject without checksum and without lock headers")
	}},
	{"default retention without Content-MD5 or x-amz-checksum/400 InvalidRequest", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		must(t, e.putLockConfig(t, b, &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}), "PutObjectLockConfiguration")
		c := e.client(rootAccessKey, rootSecretKey, noChecksum)
		refused(t, e, 400, "InvalidRequest", func() error {
			_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("x")})
			return err
		})
		// The lock configuration itself without Content-MD5 (raw).
		body := "<ObjectLockConfiguration " + s3ns + "><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>3</Days></DefaultRetention></Rule></ObjectLockConfiguration>"
		refusedRaw(t, e, 400, "InvalidRequest", func() *rawResp { return e.rawSigned(t, "PUT", "/"+b, "object-lock=", []byte(body), nil) })
		// And with it, the raw request is accepted (the test above is not vacuous).
		r := e.rawSigned(t, "PUT", "/"+b, "object-lock=", []byte(body), http.Header{"Content-Md5": {md5b64([]byte(body))}})
		if r.Status != 200 {
			t.Fatalf("raw PutObjectLockConfiguration with Content-MD5: %d %s", r.Status, r.Body)
		}
	}},
	{"retention calls on a delete marker/405 MethodNotAllowed", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		e.put(t, b, "k", "v")
		del, err := e.Client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		must(t, err, "DeleteObject")
		dm := aws.ToString(del.VersionId)
		refused(t, e, 405, "MethodNotAllowed", func() error { return e.putRetention(t, e.Client, b, "k", dm, govRet(future(time.Hour)), false) })
		refused(t, e, 405, "MethodNotAllowed", func() error {
			_, err := e.Client.GetObjectRetention(t.Context(), &s3.GetObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(dm)})
			return err
		})
		refused(t, e, 405, "MethodNotAllowed", func() error {
			_, err := e.Client.PutObjectLegalHold(t.Context(), &s3.PutObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(dm),
				LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}})
			return err
		})
	}},
	{"bad signature/403 SignatureDoesNotMatch", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		c := e.client(rootAccessKey, "wrong-secret-key", func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		refused(t, e, 403, "SignatureDoesNotMatch", func() error {
			_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("x")})
			return err
		})
		refused(t, e, 403, "SignatureDoesNotMatch", func() error {
			_, err := c.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(b)})
			return err
		})
	}},
	{"unknown key/403 InvalidAccessKeyId", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		c := e.client("AKIAUNKNOWNKEY000000", rootSecretKey, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		refused(t, e, 403, "InvalidAccessKeyId", func() error {
			_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("x")})
			return err
		})
	}},
	{"expired presign/403 AccessDenied", func(t *testing.T, e *s3Env, b string) {
		e.lockBucket(t, b)
		e.put(t, b, "k", "secret")
		pc := s3.NewPresignClient(e.plainClient(rootAccessKey, rootSecretKey), s3.WithPresignExpires(time.Second))
		get, err := pc.PresignGetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
		must(t, err, "PresignGetObject")
		put, err := pc.PresignPutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("p")})
		must(t, err, "PresignPutObject")
		time.Sleep(2100 * time.Millisecond)
		r := presignedDo(t, get.Method, get.URL, get.SignedHeader, nil)
		wantRaw(t, r, 403, "AccessDenied")
		if strings.Contains(string(r.Body), "secret") {
			t.Errorf("expired presign leaked the object: %s", r.Body)
		}
		refusedRaw(t, e, 403, "AccessDenied", func() *rawResp { return presignedDo(t, put.Method, put.URL, put.SignedHeader, []byte("new")) })
	}},
}

// presignedDo sends a presigned request.
func presignedDo(t *testing.T, method, u string, h http.Header, body []byte) *rawResp {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	for k, vs := range h {
		if strings.EqualFold(k, "host") {
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return do(t, req)
}
