package integration

import (
	"bytes"
	"crypto/rand"
	"fmt"
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
	"github.com/wormfs/wormfs/fs"
	"github.com/wormfs/wormfs/meta"
	wormfs3 "github.com/wormfs/wormfs/s3"
)

// protectedFile writes bucket/key through the mount and protects its
// version: "compliance" or "governance" retention for a day, or "hold".
func (e *historyEnv) protectedFile(bucket, key, how string) intact {
	e.t.Helper()
	p := e.p(bucket, key)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte("precious "+key+"\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	var name, val string
	switch how {
	case "compliance":
		name, val = "user.s3.retention", "COMPLIANCE +1d"
	case "governance":
		name, val = "user.s3.retention", "GOVERNANCE +1d"
	case "hold":
		name, val = "user.s3.legalhold", "ON"
	}
	if err := syscall.Setxattr(p, name, []byte(val), 0); err != nil {
		e.t.Fatalf("setxattr %s %s: %v", name, val, err)
	}
	in := e.intactOf(bucket, key, "")
	if !strings.Contains(in.lock, "COMPLIANCE") && how == "compliance" || how == "hold" && !strings.Contains(in.lock, "hold=ON") {
		e.t.Fatalf("not protected: %+v", in)
	}
	return in
}

// TestHistoryProtectedRefusals: every way a protected version could be
// destroyed, each refused, and the version still intact (bytes and lock)
// in the store and in the versions view.
func TestHistoryProtectedRefusals(t *testing.T) {
	e := testHistory(t, []wormfs3.User{{AccessKey: "PLAINUSERKEY0001", SecretKey: "plain/user/secret/0001", Allow: []string{"read", "write", "lock"}}},
		func(o *fs.Options) { o.AllowOther = true }) // other users run tools in the mount
	e.mkbucket("prot")
	ctx := t.Context()
	earlier := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	cases := []struct {
		name string
		how  string // the protection
		// try attempts the destruction and fails the test unless refused.
		try func(t *testing.T, key string, v intact)
	}{
		{"rm in the versions view (compliance)", "compliance", func(t *testing.T, key string, v intact) {
			if err := os.Remove(e.vp("prot", key, v.id)); !errnoIs(err, syscall.EPERM) {
				t.Fatalf("rm: %v, want EPERM", err)
			}
		}},
		{"rm in the versions view (legal hold)", "hold", func(t *testing.T, key string, v intact) {
			if out, err := e.run("rm", "-f", e.vp("prot", key, v.id)); !toolErrno(out, err, syscall.EPERM) {
				t.Fatalf("rm -f: %v %s", err, out)
			}
		}},
		{"rm -r of the key's versions directory", "compliance", func(t *testing.T, key string, v intact) {
			if _, err := e.run("rm", "-rf", e.vp("prot", key)); err == nil {
				t.Fatal("rm -rf of the versions directory succeeded")
			}
		}},
		{"S3 DeleteObject with versionId", "governance", func(t *testing.T, key string, v intact) {
			_, err := e.s3.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("prot"), Key: aws.String(key), VersionId: aws.String(v.id)})
			wantErr(t, err, 403, "AccessDenied")
		}},
		{"S3 DeleteObject with versionId and bypass (compliance)", "compliance", func(t *testing.T, key string, v intact) {
			_, err := e.s3.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("prot"), Key: aws.String(key), VersionId: aws.String(v.id), BypassGovernanceRetention: aws.Bool(true)})
			wantErr(t, err, 403, "AccessDenied")
		}},
		{"S3 DeleteObjects", "hold", func(t *testing.T, key string, v intact) {
			out, err := e.s3.Client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("prot"), BypassGovernanceRetention: aws.Bool(true),
				Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String(key), VersionId: aws.String(v.id)}}}})
			must(t, err, "DeleteObjects")
			if len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "AccessDenied" || len(out.Deleted) != 0 {
				t.Fatalf("DeleteObjects: deleted %v, errors %+v", out.Deleted, out.Errors)
			}
		}},
		{"mv over the file in the main tree", "compliance", func(t *testing.T, key string, v intact) {
			e.mustSh(fmt.Sprintf("echo other > prot/other-%s && mv prot/other-%s prot/%s", key, key, key))
			if b, _ := os.ReadFile(e.p("prot", key)); string(b) != "other\n" {
				t.Fatalf("mv over: the file reads %q", b)
			}
			if got := e.ids("prot", key); len(got) != 2 || got[1] != v.id {
				t.Fatalf("mv over made %v, want a new version on top of %s", got, v.id)
			}
		}},
		// COMPLIANCE: root's unlink in the versions view is an explicit
		// governance bypass (SPEC §5), so mv -f, which unlinks the target
		// when it cannot open it, would remove a GOVERNANCE version.
		{"mv onto a version file in the versions view", "compliance", func(t *testing.T, key string, v intact) {
			os.WriteFile(e.p("prot", key), []byte("newer\n"), 0o644)
			newer := e.ids("prot", key)[0]
			if err := os.Rename(e.vp("prot", key, newer), e.vp("prot", key, v.id)); !errnoIs(err, syscall.EPERM) {
				t.Fatalf("rename(2) onto the protected version: %v, want EPERM", err)
			}
			os.WriteFile(e.p("prot", "src-"+key), []byte("x\n"), 0o644)
			if out, err := e.run("mv", "-f", e.p("prot", "src-"+key), e.vp("prot", key, v.id)); err == nil {
				t.Fatalf("mv from the main tree onto the protected version succeeded\n%s", out)
			}
			if err := os.Rename(e.vp("prot", key, v.id), e.vp("prot", key, "elsewhere")); !errnoIs(err, syscall.EPERM) {
				t.Fatalf("rename(2) of the protected version: %v, want EPERM", err)
			}
		}},
		{"write, append, truncate through the versions view", "compliance", func(t *testing.T, key string, v intact) {
			p := e.vp("prot", key, v.id)
			for _, flag := range []int{os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND, os.O_RDONLY | os.O_TRUNC} {
				if f, err := os.OpenFile(p, flag, 0); !errnoIs(err, syscall.EROFS) {
					if f != nil {
						f.Close()
					}
					t.Fatalf("open flags %#x: %v, want EROFS", flag, err)
				}
			}
			if err := os.Truncate(p, 0); !errnoIs(err, syscall.EROFS) {
				t.Fatalf("truncate: %v, want EROFS", err)
			}
			if out, err := e.sh("echo x > " + p); !toolErrno(out, err, syscall.EROFS) {
				t.Fatalf("echo > : %v %s", err, out)
			}
			if err := os.Chmod(p, 0o777); !errnoIs(err, syscall.EROFS) {
				t.Fatalf("chmod: %v, want EROFS", err)
			}
			if err := os.WriteFile(e.vp("prot", key, "new"), nil, 0o644); !errnoIs(err, syscall.EROFS) {
				t.Fatalf("create in the versions view: %v, want EROFS", err)
			}
		}},
		{"removexattr of retention (compliance), main tree and view", "compliance", func(t *testing.T, key string, v intact) {
			for _, p := range []string{e.p("prot", key), e.vp("prot", key, v.id)} {
				if err := syscall.Removexattr(p, "user.s3.retention"); !errnoIs(err, syscall.EPERM) {
					t.Fatalf("removexattr %s: %v, want EPERM", p, err)
				}
			}
		}},
		{"removexattr of legal hold by a user who may not lock", "hold", func(t *testing.T, key string, v intact) {
			// The file is writable for everyone, so the kernel lets the
			// request through and the daemon decides.
			if err := os.Chmod(e.p("prot", key), 0o666); err != nil {
				t.Fatal(err)
			}
			if out, err := e.runAs(65534, 65534, nil, "setfattr", "-x", "user.s3.legalhold", e.p("prot", key)); !toolErrno(out, err, syscall.EPERM) {
				t.Fatalf("setfattr -x as nobody: %v %s", err, out)
			}
			if out, err := e.runAs(65534, 65534, nil, "setfattr", "-n", "user.s3.legalhold", "-v", "OFF", e.p("prot", key)); !toolErrno(out, err, syscall.EPERM) {
				t.Fatalf("setfattr OFF as nobody: %v %s", err, out)
			}
			v.lock = e.intactOf("prot", key, v.id).lock // chmod is in place; the lock must not move
		}},
		{"shorten retention over S3", "compliance", func(t *testing.T, key string, v intact) {
			for _, bypass := range []bool{false, true} {
				_, err := e.s3.Client.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("prot"), Key: aws.String(key), VersionId: aws.String(v.id),
					BypassGovernanceRetention: aws.Bool(bypass), Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(earlier)}})
				wantErr(t, err, 403, "AccessDenied")
				_, err = e.s3.Client.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("prot"), Key: aws.String(key), VersionId: aws.String(v.id),
					BypassGovernanceRetention: aws.Bool(bypass), Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(earlier.Add(48 * time.Hour))}})
				wantErr(t, err, 403, "AccessDenied")
			}
		}},
		{"shorten governance retention over S3 without bypass", "governance", func(t *testing.T, key string, v intact) {
			_, err := e.s3.Client.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("prot"), Key: aws.String(key), VersionId: aws.String(v.id),
				Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(earlier)}})
			wantErr(t, err, 403, "AccessDenied")
		}},
		{"shorten retention over xattr, main tree and view", "compliance", func(t *testing.T, key string, v intact) {
			for _, p := range []string{e.p("prot", key), e.vp("prot", key, v.id)} {
				for _, val := range []string{
					"COMPLIANCE " + earlier.Format(time.RFC3339),
					"COMPLIANCE " + earlier.Format(time.RFC3339) + " bypass",
					"GOVERNANCE " + earlier.Add(72*time.Hour).Format(time.RFC3339) + " bypass",
				} {
					if err := syscall.Setxattr(p, "user.s3.retention", []byte(val), 0); !errnoIs(err, syscall.EPERM) {
						t.Fatalf("setxattr %s %q: %v, want EPERM", p, val, err)
					}
				}
			}
		}},
		{"shorten governance retention over xattr without bypass", "governance", func(t *testing.T, key string, v intact) {
			for _, p := range []string{e.p("prot", key), e.vp("prot", key, v.id)} {
				if err := syscall.Setxattr(p, "user.s3.retention", []byte("GOVERNANCE "+earlier.Format(time.RFC3339)), 0); !errnoIs(err, syscall.EPERM) {
					t.Fatalf("setxattr %s: %v, want EPERM", p, err)
				}
			}
		}},
		{"delete the bucket: rmdir and S3 DeleteBucket", "compliance", func(t *testing.T, key string, v intact) {
			os.Remove(e.p("prot", key)) // a delete marker on top: the bucket still holds versions
			if err := os.Remove(e.p("prot")); !errnoIs(err, syscall.ENOTEMPTY) {
				t.Fatalf("rmdir bucket: %v, want ENOTEMPTY", err)
			}
			_, err := e.s3.Client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("prot")})
			wantErr(t, err, 409, "BucketNotEmpty")
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := fmt.Sprintf("k%02d", i)
			v := e.protectedFile("prot", key, c.how)
			before := len(auditRecords(t, e.store))
			c.try(t, key, v)
			if c.name == "removexattr of legal hold by a user who may not lock" {
				v = e.intactOf("prot", key, v.id)
				if !strings.Contains(v.lock, "hold=ON") {
					t.Fatalf("hold lifted: %+v", v)
				}
			}
			e.assertIntact("prot", key, v)
			for _, r := range auditRecords(t, e.store)[before:] {
				if r.Key == key && r.VersionID == v.id {
					t.Fatalf("a refused request left an audit record: %+v", r)
				}
			}
		})
	}
}

// TestHistoryGCKeepsProtected: value-log GC after lots of other data was
// permanently deleted rewrites value-log files, and the protected version
// still reads byte-identical through the versions view and over S3.
func TestHistoryGCKeepsProtected(t *testing.T) {
	requireFUSE(t)
	base := t.TempDir()
	data, mnt := filepath.Join(base, "data"), filepath.Join(base, "mnt")
	os.Mkdir(mnt, 0o755)
	mo := meta.Options{Dir: data, GCInterval: -1, Badger: func(o *badger.Options) {
		// Small value-log files, so that whole files of deleted chunk
		// data qualify for GC, and L0 compacted at close, so that the
		// deletes reach the discard statistics GC picks files by.
		o.ValueLogFileSize = 2 << 20
		o.MemTableSize = 1 << 20
		o.CompactL0OnClose = true
	}}
	var st *meta.Store
	var m *fs.Mounted
	start := func() {
		var err error
		if st, err = meta.Open(mo); err != nil {
			t.Fatal(err)
		}
		if m, err = fs.Mount(st, mnt, fs.Options{BypassGID: -1}); err != nil {
			st.Close()
			t.Fatal(err)
		}
	}
	stop := func() {
		if err := m.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	start()
	t.Cleanup(func() { stop() })
	e := &historyEnv{mountEnv: &mountEnv{t: t, store: st, data: data, dir: mnt, m: m}, s3: serveS3(t, st, nil)}
	e.mkbucket("gcb")
	precious := make([]byte, 3<<20+12345)
	rand.Read(precious)
	if err := os.WriteFile(e.p("gcb", "precious.bin"), precious, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setxattr(e.p("gcb", "precious.bin"), "user.s3.retention", []byte("COMPLIANCE +1d"), 0); err != nil {
		t.Fatal(err)
	}
	v := e.intactOf("gcb", "precious.bin", "")
	junk := make([]byte, 1<<20)
	for i := 0; i < 24; i++ {
		rand.Read(junk)
		if err := os.WriteFile(e.p("gcb", fmt.Sprintf("junk%02d", i)), junk, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	statsBefore, _ := st.Stats()
	// Permanently delete the junk through the versions view.
	for i := 0; i < 24; i++ {
		key := fmt.Sprintf("junk%02d", i)
		for _, id := range e.ids("gcb", key) {
			if err := os.Remove(e.vp("gcb", key, id)); err != nil {
				t.Fatalf("rm %s@%s: %v", key, id, err)
			}
		}
	}
	// Restart the daemon (the deletes are flushed and compacted), and run
	// the value-log GC as the daemon's GC loop does.
	stop()
	start()
	e.store, e.m = st, m
	e.s3 = serveS3(t, st, nil)
	rewritten := st.RunGC()
	statsAfter, _ := st.Stats()
	t.Logf("value-log files rewritten: %d; stored bytes %d → %d", rewritten, statsBefore.StoredBytes, statsAfter.StoredBytes)
	if rewritten == 0 {
		t.Fatal("value-log GC rewrote nothing: the test did not exercise it")
	}
	e.assertIntact("gcb", "precious.bin", v)
	got, err := os.ReadFile(e.vp("gcb", "precious.bin", v.id))
	if err != nil || !bytes.Equal(got, precious) {
		t.Fatalf("protected version after GC differs (%d bytes, %v)", len(got), err)
	}
	if body := e.s3.getBody(t, "gcb", "precious.bin", v.id); body != string(precious) {
		t.Fatal("protected version over S3 after GC differs")
	}
}
