package integration

// Issue 14, the store side, end to end over S3 with the SDK (root and
// restricted users) and through the mount: clocks (item 11), millisecond
// instants (item 13) and the smaller S3 answers of item 14. Each test was
// run on the code before the fix and failed there (see the commit
// message).

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/dgraph-io/badger/v4"
	wfs "github.com/wormfs/wormfs/fs"
	"github.com/wormfs/wormfs/meta"
	wormfs3 "github.com/wormfs/wormfs/s3"
)

var integrityUsers = []wormfs3.User{
	{AccessKey: "INTEGRITYLOCK001", SecretKey: "integrity/lock/secret/01", Allow: []string{"read", "write", "lock"}},
	{AccessKey: "INTEGRITYBYPASS1", SecretKey: "integrity/bypass/secret/1", Allow: []string{"read", "write", "lock", "bypass-governance"}},
}

// rawAs is rawSigned with another user's pair.
func (e *s3Env) rawAs(t *testing.T, ak, sk, method, rawPath, rawQuery string, body []byte, hdr http.Header) *rawResp {
	t.Helper()
	req := e.rawRequest(t, method, rawPath, rawQuery, body, hdr)
	sign(t, req, ak, sk, sha256Hex(body), time.Now())
	return do(t, req)
}

func md5Header(body []byte) http.Header {
	sum := md5.Sum(body)
	return http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(sum[:])}}
}

// Item 14: the bypass header is refused on a bucket without Object Lock
// whatever its value (AWS: 400 InvalidArgument), and only "true", in any
// case, asks for a bypass. Before: "false" there answered 204, and "1" or
// "t" bypassed.
func TestIntegrityStoreS3BypassHeader(t *testing.T) {
	e := testS3With(t, integrityUsers)
	ctx := t.Context()
	e.plainBucket(t, "plain-byp", "Enabled")
	e.put(t, "plain-byp", "k", "x")
	_, err := e.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("plain-byp"), Key: aws.String("k"), BypassGovernanceRetention: aws.Bool(false)})
	wantErr(t, err, 400, "InvalidArgument")

	e.lockBucket(t, "lock-byp")
	vid := e.put(t, "lock-byp", "g", "governed")
	e.retain(t, "lock-byp", "g", vid, types.ObjectLockRetentionModeGovernance, future(48*time.Hour))
	bypass := integrityUsers[1]
	before := storeDigest(t, e.Store)
	for _, val := range []string{"1", "t", "yes", "false"} {
		for _, who := range []struct{ ak, sk string }{{rootAccessKey, rootSecretKey}, {bypass.AccessKey, bypass.SecretKey}} {
			r := e.rawAs(t, who.ak, who.sk, "DELETE", "/lock-byp/g", "versionId="+vid, nil, http.Header{"X-Amz-Bypass-Governance-Retention": {val}})
			if r.Status != 403 || r.Code != "AccessDenied" {
				t.Fatalf("%s: bypass header %q deleting a GOVERNANCE version: %d %s, want 403 AccessDenied", who.ak, val, r.Status, r.Code)
			}
		}
	}
	assertUnchanged(t, e.Store, before)
	r := e.rawAs(t, bypass.AccessKey, bypass.SecretKey, "DELETE", "/lock-byp/g", "versionId="+vid, nil, http.Header{"X-Amz-Bypass-Governance-Retention": {"TRUE"}})
	if r.Status != 204 {
		t.Fatalf("bypass header TRUE by a bypass user: %d %s, want 204", r.Status, r.Code)
	}
}

// Item 14: duplicate elements in the lock, legal-hold and versioning
// documents are MalformedXML, a +24:00 offset is refused, and a versioning
// configuration without a Status is 400 IllegalVersioningConfiguration-
// Exception (as AWS). Before: the last duplicate won, +24:00 was accepted
// and the empty configuration answered 200.
func TestIntegrityStoreS3StrictDocuments(t *testing.T) {
	e := testS3With(t, integrityUsers)
	e.lockBucket(t, "strict")
	vid := e.put(t, "strict", "k", "body")
	until := future(72 * time.Hour).Format(time.RFC3339)
	before := storeDigest(t, e.Store)
	lock := integrityUsers[0]
	docs := []struct {
		name, query, body, code string
	}{
		{"retention mode twice", "retention&versionId=" + vid,
			`<Retention><Mode>GOVERNANCE</Mode><Mode>COMPLIANCE</Mode><RetainUntilDate>` + until + `</RetainUntilDate></Retention>`, "MalformedXML"},
		{"retention date twice", "retention&versionId=" + vid,
			`<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>` + until + `</RetainUntilDate><RetainUntilDate>` + until + `</RetainUntilDate></Retention>`, "MalformedXML"},
		{"retention +24:00", "retention&versionId=" + vid,
			`<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>` + strings.TrimSuffix(until, "Z") + `+24:00</RetainUntilDate></Retention>`, "MalformedXML"},
		{"legal hold status twice", "legal-hold&versionId=" + vid,
			`<LegalHold><Status>ON</Status><Status>OFF</Status></LegalHold>`, "MalformedXML"},
		{"lock configuration twice", "object-lock",
			`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days><Days>2</Days></DefaultRetention></Rule></ObjectLockConfiguration>`, "MalformedXML"},
		{"versioning status twice", "versioning",
			`<VersioningConfiguration><Status>Enabled</Status><Status>Suspended</Status></VersioningConfiguration>`, "MalformedXML"},
		{"empty versioning configuration", "versioning",
			`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>`, "IllegalVersioningConfigurationException"},
	}
	for _, d := range docs {
		t.Run(d.name, func(t *testing.T) {
			body := []byte(d.body)
			path := "/strict/k"
			if !strings.Contains(d.query, "versionId") {
				path = "/strict"
			}
			for _, r := range []*rawResp{
				e.rawSigned(t, "PUT", path, d.query, body, md5Header(body)),
				e.rawAs(t, lock.AccessKey, lock.SecretKey, "PUT", path, d.query, body, md5Header(body)),
			} {
				if r.Status != 400 || r.Code != d.code {
					if d.query == "object-lock" || d.query == "versioning" {
						if r.Status == 403 { // the lock user may not configure buckets
							continue
						}
					}
					t.Fatalf("%d %s, want 400 %s (%s)", r.Status, r.Code, d.code, tailString(string(r.Body), 300))
				}
			}
		})
	}
	// The same offset in the PutObject lock header.
	hdr := md5Header([]byte("new"))
	hdr.Set("X-Amz-Object-Lock-Mode", "GOVERNANCE")
	hdr.Set("X-Amz-Object-Lock-Retain-Until-Date", strings.TrimSuffix(until, "Z")+"+24:00")
	wantRaw(t, e.rawSigned(t, "PUT", "/strict/h", "", []byte("new"), hdr), 400, "InvalidArgument")
	assertUnchanged(t, e.Store, before)
}

// Item 13: a retain-until sent with nanoseconds is kept rounded up to the
// millisecond; S3 shows the milliseconds, the mount shows them too (".mmm"
// only when not zero), and writing back the date just read (over S3 by a
// lock user, or as the xattr) is no change, never a 403 "cannot shorten".
// Before: the store kept the nanoseconds, S3 showed them cut to the
// millisecond and writing that back was refused as a shortening of a
// COMPLIANCE lock; the mount showed the next whole second.
func TestIntegrityStoreMilliseconds(t *testing.T) {
	e := testHistory(t, integrityUsers)
	ctx := t.Context()
	e.mkbucket("msec")
	base := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	sent := base.Add(123456789 * time.Nanosecond)
	hdr := md5Header([]byte("precise"))
	hdr.Set("X-Amz-Object-Lock-Mode", "COMPLIANCE")
	hdr.Set("X-Amz-Object-Lock-Retain-Until-Date", sent.Format(time.RFC3339Nano))
	r := e.s3.rawSigned(t, "PUT", "/msec/precise", "", []byte("precise"), hdr)
	if r.Status != 200 {
		t.Fatalf("PUT with a nanosecond retain-until: %d %s", r.Status, r.Code)
	}
	vid := r.Header.Get("X-Amz-Version-Id")
	got, err := e.s3.Client.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String("msec"), Key: aws.String("precise"), VersionId: aws.String(vid)})
	must(t, err, "GetObjectRetention")
	want := base.Add(124 * time.Millisecond)
	if !got.Retention.RetainUntilDate.Equal(want) {
		t.Fatalf("GetObjectRetention shows %v, want %v (rounded up to the millisecond)", got.Retention.RetainUntilDate, want)
	}
	buf := make([]byte, 256)
	n, err := syscall.Getxattr(e.p("msec", "precise"), "user.s3.retention", buf)
	if err != nil {
		t.Fatal(err)
	}
	if shown := string(buf[:n]); shown != "COMPLIANCE "+want.Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("the mount shows %q, want the same millisecond instant", shown)
	}
	lock := e.s3.client(integrityUsers[0].AccessKey, integrityUsers[0].SecretKey)
	_, err = lock.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("msec"), Key: aws.String("precise"), VersionId: aws.String(vid),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: got.Retention.RetainUntilDate}})
	must(t, err, "writing back the retention just read, as a lock user")
	if err := syscall.Setxattr(e.p("msec", "precise"), "user.s3.retention", buf[:n], 0); err != nil {
		t.Fatalf("writing back the xattr just read: %v", err)
	}
	if v := e.s3.storeVersion(t, "msec", "precise", vid); !v.RetUntil.Equal(want) {
		t.Fatalf("after the write-backs the retain-until is %v, want %v", v.RetUntil, want)
	}

	// A whole second shows no fraction in the mount, and 250 ms shows as
	// .250 in both views.
	for _, c := range []struct {
		until time.Time
		shown string
	}{
		{base.Add(time.Hour), base.Add(time.Hour).Format(time.RFC3339)},
		{base.Add(time.Hour + 250*time.Millisecond), base.Add(time.Hour).Format("2006-01-02T15:04:05") + ".250Z"},
	} {
		key := "k" + c.shown
		key = strings.NewReplacer(":", "", "-", "").Replace(key)
		vid := e.s3.put(t, "msec", key, "x")
		_, err := lock.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("msec"), Key: aws.String(key), VersionId: aws.String(vid),
			Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(c.until)}})
		must(t, err, "PutObjectRetention")
		n, err := syscall.Getxattr(e.p("msec", key), "user.s3.retention", buf)
		if err != nil || string(buf[:n]) != "GOVERNANCE "+c.shown {
			t.Fatalf("mount shows %q (%v), want %q", buf[:n], err, "GOVERNANCE "+c.shown)
		}
	}
}

// clockBehindEnv is a mount and a listener over a store whose persisted
// compliance clock is lag behind the system clock (the daemon was down for
// lag: the compliance clock catches up slowly).
func clockBehindEnv(t *testing.T, lag time.Duration) *historyEnv {
	t.Helper()
	requireFUSE(t)
	base := t.TempDir()
	e := &mountEnv{t: t, data: filepath.Join(base, "data"), dir: filepath.Join(base, "mnt")}
	os.Mkdir(e.dir, 0o755)
	os.Chmod(base, 0o755)
	os.Chmod(filepath.Dir(base), 0o755)
	st, err := meta.Open(meta.Options{Dir: e.data, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := badger.Open(meta.BadgerOptions(e.data))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte{'C'}, binary.BigEndian.AppendUint64(nil, uint64(time.Now().Add(-lag).UnixNano())))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	st, err = meta.Open(meta.Options{Dir: e.data, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	e.store = st
	m, err := wfs.Mount(st, e.dir, wfs.Options{BypassGID: -1})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	e.m = m
	t.Cleanup(func() {
		if err := m.Unmount(); err != nil {
			syscall.Unmount(e.dir, syscall.MNT_DETACH)
		}
		st.Close()
	})
	return &historyEnv{mountEnv: e, s3: serveS3(t, st, integrityUsers)}
}

// Item 11: with the compliance clock ten days behind the system clock,
// mtime, S3 LastModified and the at view follow the system clock, and a
// retain-until after the compliance time but before the system time is
// refused (over S3, by root and a lock user, and in the mount). Before:
// new files were dated ten days back, .wormfs/at/<yesterday> showed them,
// and the past date was accepted.
func TestIntegrityStoreSystemClockTimestamps(t *testing.T) {
	e := clockBehindEnv(t, 10*24*time.Hour)
	ctx := t.Context()
	if off := e.store.ClockOffset(); off < 9*24*time.Hour {
		t.Fatalf("compliance clock only %v behind", off)
	}
	e.mkbucket("clk")
	e.s3.put(t, "clk", "s3obj", "over s3")
	if err := os.WriteFile(e.p("clk", "mnt.txt"), []byte("in the mount"), 0o644); err != nil {
		t.Fatal(err)
	}
	head, err := e.s3.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("clk"), Key: aws.String("s3obj")})
	must(t, err, "HeadObject")
	if d := time.Since(*head.LastModified); d > time.Minute || d < -time.Minute {
		t.Fatalf("LastModified %v is %v from the system clock", head.LastModified, d)
	}
	fi, err := os.Stat(e.p("clk", "mnt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(fi.ModTime()); d > time.Minute || d < -time.Minute {
		t.Fatalf("mtime %v is %v from the system clock", fi.ModTime(), d)
	}
	yesterday := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	if _, err := os.Stat(e.p(".wormfs", "at", yesterday, "clk", "mnt.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf(".wormfs/at/%s shows a file written today: %v", yesterday, err)
	}
	if _, err := os.Stat(e.p(".wormfs", "at", time.Now().Add(time.Minute).UTC().Format(time.RFC3339), "clk", "mnt.txt")); err != nil {
		t.Fatalf("the at view a minute from now: %v", err)
	}

	before := storeDigest(t, e.s3.Store)
	past := aws.Time(time.Now().Add(-24 * time.Hour)) // after the compliance time, before the system time
	for _, c := range []*s3.Client{e.s3.Client, e.s3.client(integrityUsers[0].AccessKey, integrityUsers[0].SecretKey)} {
		_, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("clk"), Key: aws.String("s3obj"),
			Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: past}})
		wantErr(t, err, 400, "InvalidArgument")
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("clk"), Key: aws.String("p"), Body: bytes.NewReader([]byte("p")),
			ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: past, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
		wantErr(t, err, 400, "InvalidArgument")
	}
	err = syscall.Setxattr(e.p("clk", "mnt.txt"), "user.s3.retention", []byte("COMPLIANCE "+past.UTC().Format(time.RFC3339)), 0)
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("setxattr of a retain-until before the system time: %v, want EINVAL", err)
	}
	assertUnchanged(t, e.s3.Store, before)
	// The relative form counts from the later clock: +1d is tomorrow.
	if err := syscall.Setxattr(e.p("clk", "mnt.txt"), "user.s3.retention", []byte("GOVERNANCE +1d"), 0); err != nil {
		t.Fatalf("setxattr GOVERNANCE +1d: %v", err)
	}
	buf := make([]byte, 128)
	n, _ := syscall.Getxattr(e.p("clk", "mnt.txt"), "user.s3.retention", buf)
	until, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(string(buf[:n]), "GOVERNANCE "))
	if err != nil || until.Before(time.Now().Add(23*time.Hour)) {
		t.Fatalf("GOVERNANCE +1d gave %q (%v), want a day after the system time", buf[:n], err)
	}
}
