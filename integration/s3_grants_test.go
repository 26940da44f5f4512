package integration

// The users file grants (SPEC §6 "Users"): read, write, lock,
// bypass-governance; a request outside its grants is 403 AccessDenied and
// changes nothing.

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	wormfs3 "github.com/wormfs/wormfs/s3"
)

var grantUsers = []wormfs3.User{
	{AccessKey: "READERKEY00000000001", SecretKey: "reader-secret", Allow: []string{"read"}},
	{AccessKey: "WRITERKEY00000000001", SecretKey: "writer-secret", Allow: []string{"read", "write"}},
	{AccessKey: "LOCKERKEY00000000001", SecretKey: "locker-secret", Allow: []string{"read", "write", "lock"}},
	{AccessKey: "BYPASSKEY00000000001", SecretKey: "bypass-secret", Allow: []string{"read", "write", "lock", "bypass-governance"}},
}

func TestS3UserGrants(t *testing.T) {
	e := testS3With(t, grantUsers)
	cl := func(i int) *s3.Client { return e.client(grantUsers[i].AccessKey, grantUsers[i].SecretKey) }
	reader, writer, locker, bypasser := cl(0), cl(1), cl(2), cl(3)
	ctx := t.Context()
	const b = "grants"
	e.lockBucket(t, b)
	base := e.put(t, b, "obj", "content")

	delVersion := func(c *s3.Client, key, vid string, bypass bool) error {
		in := &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(key), VersionId: aws.String(vid)}
		if bypass {
			in.BypassGovernanceRetention = aws.Bool(true)
		}
		_, err := c.DeleteObject(ctx, in)
		return err
	}
	govLocked := func(t *testing.T, key string) string {
		t.Helper()
		vid := e.put(t, b, key, "locked")
		e.retain(t, b, key, vid, types.ObjectLockRetentionModeGovernance, future(24*time.Hour))
		return vid
	}

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"read-only user can read and list", func(t *testing.T) {
			out, err := reader.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("obj")})
			must(t, err, "reader GetObject")
			if got := string(readAll(t, out.Body)); got != "content" {
				t.Errorf("reader got %q", got)
			}
			_, err = reader.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
			must(t, err, "reader ListObjectVersions")
			_, err = reader.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("obj")})
			must(t, err, "reader HeadObject")
		}},
		{"read-only user cannot put", func(t *testing.T) {
			refused(t, e, 403, "AccessDenied", func() error {
				_, err := reader.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("obj"), Body: strings.NewReader("overwrite")})
				return err
			})
		}},
		{"read-only user cannot delete or create a marker", func(t *testing.T) {
			refused(t, e, 403, "AccessDenied", func() error {
				_, err := reader.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("obj")})
				return err
			})
			refused(t, e, 403, "AccessDenied", func() error { return delVersion(reader, "obj", base, false) })
		}},
		{"read-only user cannot create a bucket or upload multipart", func(t *testing.T) {
			refused(t, e, 403, "AccessDenied", func() error {
				_, err := reader.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("reader-bucket")})
				return err
			})
			refused(t, e, 403, "AccessDenied", func() error {
				_, err := reader.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp")})
				return err
			})
		}},
		{"read-only user cannot copy", func(t *testing.T) {
			refused(t, e, 403, "AccessDenied", func() error {
				_, err := reader.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"), CopySource: aws.String(b + "/obj")})
				return err
			})
		}},
		{"writer can put", func(t *testing.T) {
			out, err := writer.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("by-writer"), Body: strings.NewReader("w")})
			must(t, err, "writer PutObject")
			if v := e.storeVersion(t, b, "by-writer", ""); v.ID != aws.ToString(out.VersionId) {
				t.Errorf("store latest %s, want %s", v.ID, aws.ToString(out.VersionId))
			}
		}},
		{"writer without lock cannot set retention", func(t *testing.T) {
			refused(t, e, 403, "AccessDenied", func() error {
				return e.putRetention(t, writer, b, "obj", base, govRet(future(time.Hour)), false)
			})
		}},
		{"writer without lock cannot set legal hold", func(t *testing.T) {
			refused(t, e, 403, "AccessDenied", func() error {
				_, err := writer.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("obj"), VersionId: aws.String(base),
					LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}})
				return err
			})
		}},
		{"writer without lock cannot put with lock headers", func(t *testing.T) {
			refused(t, e, 403, "AccessDenied", func() error {
				_, err := writer.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("w-locked"), Body: strings.NewReader("x"),
					ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(future(time.Hour))})
				return err
			})
		}},
		{"writer without lock cannot set the bucket lock configuration", func(t *testing.T) {
			// Its own bucket: a wrong success must not put a default rule
			// on the bucket the other cases use.
			e.lockBucket(t, b+"-cfg")
			refused(t, e, 403, "AccessDenied", func() error {
				_, err := writer.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(b + "-cfg"),
					ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
						Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeCompliance, Days: aws.Int32(1)}}}})
				return err
			})
		}},
		{"lock user can set retention and legal hold", func(t *testing.T) {
			vid := e.put(t, b, "by-locker", "l")
			until := future(2 * time.Hour)
			must(t, e.putRetention(t, locker, b, "by-locker", vid, govRet(until), false), "locker PutObjectRetention")
			_, err := locker.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("by-locker"), VersionId: aws.String(vid),
				LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}})
			must(t, err, "locker PutObjectLegalHold")
			v := e.storeVersion(t, b, "by-locker", vid)
			if v.RetMode != "GOVERNANCE" || !v.RetUntil.Equal(until) || !v.LegalHold {
				t.Errorf("store lock = %s %s hold=%v", v.RetMode, v.RetUntil, v.LegalHold)
			}
		}},
		{"lock user without bypass-governance cannot shorten with the header", func(t *testing.T) {
			vid := govLocked(t, "lk-shorten")
			refused(t, e, 403, "AccessDenied", func() error {
				return e.putRetention(t, locker, b, "lk-shorten", vid, govRet(future(time.Hour)), true)
			})
		}},
		{"lock user without bypass-governance cannot delete with the header", func(t *testing.T) {
			vid := govLocked(t, "lk-delete")
			refused(t, e, 403, "AccessDenied", func() error { return delVersion(locker, "lk-delete", vid, true) })
		}},
		{"bypass user without the header cannot delete", func(t *testing.T) {
			vid := govLocked(t, "bp-noheader")
			refused(t, e, 403, "AccessDenied", func() error { return delVersion(bypasser, "bp-noheader", vid, false) })
		}},
		{"bypass user without the header cannot shorten", func(t *testing.T) {
			vid := govLocked(t, "bp-noheader-shorten")
			refused(t, e, 403, "AccessDenied", func() error {
				return e.putRetention(t, bypasser, b, "bp-noheader-shorten", vid, govRet(future(time.Hour)), false)
			})
		}},
		{"bypass user with the header can shorten GOVERNANCE", func(t *testing.T) {
			vid := govLocked(t, "bp-shorten")
			until := future(time.Hour)
			must(t, e.putRetention(t, bypasser, b, "bp-shorten", vid, govRet(until), true), "bypasser shorten with header")
			if v := e.storeVersion(t, b, "bp-shorten", vid); !v.RetUntil.Equal(until) {
				t.Errorf("retain-until = %s, want %s", v.RetUntil, until)
			}
		}},
		{"bypass user with the header can delete GOVERNANCE", func(t *testing.T) {
			vid := govLocked(t, "bp-delete")
			must(t, delVersion(bypasser, "bp-delete", vid, true), "bypasser delete with header")
			if vs, _ := e.Store.Versions(b, "bp-delete"); len(vs) != 0 {
				t.Errorf("versions left: %v", vs)
			}
		}},
		{"bypass never lifts COMPLIANCE", func(t *testing.T) {
			vid := e.put(t, b, "bp-comp", "c")
			e.retain(t, b, "bp-comp", vid, types.ObjectLockRetentionModeCompliance, future(time.Hour))
			refused(t, e, 403, "AccessDenied", func() error { return delVersion(bypasser, "bp-comp", vid, true) })
		}},
		{"bypass never lifts a legal hold", func(t *testing.T) {
			vid := e.put(t, b, "bp-hold", "h", func(in *s3.PutObjectInput) { in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn })
			refused(t, e, 403, "AccessDenied", func() error { return delVersion(bypasser, "bp-hold", vid, true) })
		}},
		{"writer with the bypass header but no grant cannot delete GOVERNANCE", func(t *testing.T) {
			vid := govLocked(t, "w-bypass")
			refused(t, e, 403, "AccessDenied", func() error { return delVersion(writer, "w-bypass", vid, true) })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}
