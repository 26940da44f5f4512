package integration

import (
	"encoding/json"
	"errors"
	"os"
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

const nobody = 65534

// errnoText is the message of err, for toolErrno.
func errnoText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestHistoryGovernanceBypass: a GOVERNANCE lock yields only to a
// bypass-capable principal making the explicit request, in the mount
// (root or --admin-gid, " bypass" suffix; removexattr and unlink in the
// versions view are never a bypass, issue 14) and over S3 (a user granted
// bypass-governance, with the header); every bypass is in the audit log.
// COMPLIANCE never yields.
func TestHistoryGovernanceBypass(t *testing.T) {
	users := []wormfs3.User{
		{AccessKey: "NOBYPASSUSER0001", SecretKey: "no/bypass/secret/0001", Allow: []string{"read", "write", "lock"}},
		{AccessKey: "BYPASSUSER000001", SecretKey: "bypass/user/secret/01", Allow: []string{"read", "write", "lock", "bypass-governance"}},
	}
	e := testHistory(t, users, withBypass)
	e.mkbucket("byp")
	ctx := t.Context()
	earlier := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	shorter := "GOVERNANCE " + earlier.Format(time.RFC3339)

	// fresh makes a GOVERNANCE-locked file writable for everyone (so the
	// kernel lets other users' requests reach the daemon).
	fresh := func(t *testing.T, key string) intact {
		t.Helper()
		e.protectedFile("byp", key, "governance")
		if err := os.Chmod(e.p("byp", key), 0o666); err != nil {
			t.Fatal(err)
		}
		// The chmod of a protected version made a new one, with the lock.
		return e.intactOf("byp", key, "")
	}
	refusedX := func(t *testing.T, key string, v intact, out string, err error) {
		t.Helper()
		if !toolErrno(out, err, syscall.EPERM) {
			t.Fatalf("want EPERM, got %v: %s", err, out)
		}
		e.assertIntact("byp", key, v)
		if r := bypassRecords(t, e.store, "byp", key, v.id); len(r) != 0 {
			t.Fatalf("refused request audited as a bypass: %+v", r)
		}
	}
	bypassed := func(t *testing.T, key, id, actor string) {
		t.Helper()
		rs := bypassRecords(t, e.store, "byp", key, id)
		if len(rs) != 1 || !strings.Contains(rs[0].Actor, actor) {
			t.Fatalf("audit bypass records of %s@%s: %+v (want one by %q)", key, id, rs, actor)
		}
	}

	t.Run("root without the bypass suffix is refused", func(t *testing.T) {
		v := fresh(t, "k1")
		out, err := e.run("setfattr", "-n", "user.s3.retention", "-v", shorter, e.p("byp", "k1"))
		refusedX(t, "k1", v, out, err)
	})
	t.Run("nobody with the bypass suffix is refused", func(t *testing.T) {
		v := fresh(t, "k2")
		out, err := e.runAs(nobody, nobody, nil, "setfattr", "-n", "user.s3.retention", "-v", shorter+" bypass", e.p("byp", "k2"))
		refusedX(t, "k2", v, out, err)
		out, err = e.runAs(nobody, nobody, nil, "setfattr", "-x", "user.s3.retention", e.p("byp", "k2"))
		refusedX(t, "k2", v, out, err)
		out, err = e.runAs(nobody, nobody, nil, "rm", "-f", e.vp("byp", "k2", v.id))
		refusedX(t, "k2", v, out, err)
	})
	t.Run("root with the bypass suffix shortens", func(t *testing.T) {
		v := fresh(t, "k3")
		if out, err := e.run("setfattr", "-n", "user.s3.retention", "-v", shorter+" bypass", e.p("byp", "k3")); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if got, _ := getx(e.p("byp", "k3"), "user.s3.retention"); got != shorter {
			t.Fatalf("retention after bypass: %q", got)
		}
		bypassed(t, "k3", v.id, "uid=0")
	})
	t.Run("a member of the bypass group shortens in the versions view", func(t *testing.T) {
		v := fresh(t, "k4")
		if out, err := e.runAs(nobody, nobody, []uint32{bypassGID}, "setfattr", "-n", "user.s3.retention", "-v", shorter+" bypass", e.vp("byp", "k4", v.id)); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		bypassed(t, "k4", v.id, "uid=65534")
	})
	t.Run("root removexattr is refused (never a bypass)", func(t *testing.T) {
		v := fresh(t, "k5")
		err := syscall.Removexattr(e.p("byp", "k5"), "user.s3.retention")
		refusedX(t, "k5", v, errnoText(err), err)
	})
	t.Run("root unlink in the versions view is refused (never a bypass)", func(t *testing.T) {
		v := fresh(t, "k6")
		err := os.Remove(e.vp("byp", "k6", v.id))
		refusedX(t, "k6", v, errnoText(err), err)
	})
	t.Run("an admin-group member's unlink in the versions view is refused", func(t *testing.T) {
		v := fresh(t, "k7")
		out, err := e.runAs(nobody, nobody, []uint32{bypassGID}, "rm", "-f", e.vp("byp", "k7", v.id))
		refusedX(t, "k7", v, out, err)
	})
	t.Run("root's explicit bypass delete (wormfs rm-version --bypass) deletes", func(t *testing.T) {
		v := fresh(t, "k9")
		if err := e.m.DeleteVersion(wfs.Identity{}, "byp", "k9", v.id, true); err != nil {
			t.Fatalf("DeleteVersion with bypass as root: %v", err)
		}
		if _, err := e.store.Get("byp", "k9", v.id); !errors.Is(err, meta.ErrNoSuchVersion) {
			t.Fatalf("version after bypass delete: %v", err)
		}
		bypassed(t, "k9", v.id, "uid=0")
	})
	t.Run("compliance never yields to a bypass", func(t *testing.T) {
		v := e.protectedFile("byp", "k8", "compliance")
		for _, f := range []func() error{
			func() error { return os.Remove(e.vp("byp", "k8", v.id)) },
			func() error { return syscall.Removexattr(e.p("byp", "k8"), "user.s3.retention") },
			func() error {
				return syscall.Setxattr(e.p("byp", "k8"), "user.s3.retention", []byte("COMPLIANCE "+earlier.Format(time.RFC3339)+" bypass"), 0)
			},
		} {
			if err := f(); !errnoIs(err, syscall.EPERM) {
				t.Fatalf("want EPERM, got %v", err)
			}
		}
		_, err := e.s3.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("byp"), Key: aws.String("k8"), VersionId: aws.String(v.id), BypassGovernanceRetention: aws.Bool(true)})
		wantErr(t, err, 403, "AccessDenied")
		e.assertIntact("byp", "k8", v)
	})

	// Over S3.
	del := func(c *s3.Client, key, id string, bypass bool) error {
		in := &s3.DeleteObjectInput{Bucket: aws.String("byp"), Key: aws.String(key), VersionId: aws.String(id)}
		if bypass {
			in.BypassGovernanceRetention = aws.Bool(true)
		}
		_, err := c.DeleteObject(ctx, in)
		return err
	}
	noBypass := e.s3.client(users[0].AccessKey, users[0].SecretKey)
	withGrant := e.s3.client(users[1].AccessKey, users[1].SecretKey)
	t.Run("S3 user without bypass-governance, with the header, is refused", func(t *testing.T) {
		v := fresh(t, "s1")
		wantErr(t, del(noBypass, "s1", v.id, true), 403, "AccessDenied")
		_, err := noBypass.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("byp"), Key: aws.String("s1"), VersionId: aws.String(v.id), BypassGovernanceRetention: aws.Bool(true),
			Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(earlier)}})
		wantErr(t, err, 403, "AccessDenied")
		e.assertIntact("byp", "s1", v)
	})
	t.Run("S3 root without the header is refused", func(t *testing.T) {
		v := fresh(t, "s2")
		wantErr(t, del(e.s3.Client, "s2", v.id, false), 403, "AccessDenied")
		e.assertIntact("byp", "s2", v)
		if r := bypassRecords(t, e.store, "byp", "s2", v.id); len(r) != 0 {
			t.Fatalf("audited: %+v", r)
		}
	})
	t.Run("S3 root with the header deletes", func(t *testing.T) {
		v := fresh(t, "s3")
		must(t, del(e.s3.Client, "s3", v.id, true), "DeleteObject with bypass")
		if _, err := e.store.Get("byp", "s3", v.id); err == nil {
			t.Fatal("version still there")
		}
		bypassed(t, "s3", v.id, "")
	})
	t.Run("S3 user granted bypass, with the header, shortens", func(t *testing.T) {
		v := fresh(t, "s4")
		_, err := withGrant.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String("byp"), Key: aws.String("s4"), VersionId: aws.String(v.id), BypassGovernanceRetention: aws.Bool(true),
			Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(earlier)}})
		must(t, err, "PutObjectRetention with bypass")
		bypassed(t, "s4", v.id, "")
	})
}

// TestHistoryAudit: the audit log is readable through the mount while the
// daemon runs (the file, `wormfs audit --mount`, `audit verify --mount`);
// after the daemon stops, one flipped byte in one stored record makes
// `wormfs audit verify --data` fail and name that record.
func TestHistoryAudit(t *testing.T) {
	e := testHistory(t, nil)
	e.mkbucket("aud")
	e.mustSh("echo a > aud/f && setfattr -n user.s3.retention -v 'GOVERNANCE +1d' aud/f && setfattr -n user.s3.legalhold -v ON aud/f && setfattr -n user.s3.legalhold -v OFF aud/f && setfattr -n user.s3.retention -v 'GOVERNANCE +2d' aud/f")
	recs := auditRecords(t, e.store)
	if len(recs) < 4 {
		t.Fatalf("only %d audit records", len(recs))
	}
	var want strings.Builder
	for _, r := range recs {
		b, _ := json.Marshal(r)
		want.Write(b)
		want.WriteByte('\n')
	}
	got, err := os.ReadFile(e.p(".wormfs", "audit"))
	if err != nil || string(got) != want.String() {
		t.Fatalf(".wormfs/audit (%v):\n%s\nwant:\n%s", err, got, want.String())
	}
	if st, err := os.Stat(e.p(".wormfs", "audit")); err != nil || st.Size() != int64(want.Len()) {
		t.Fatalf("stat audit: %v %v", st, err)
	}
	if err := os.WriteFile(e.p(".wormfs", "audit"), []byte("{}\n"), 0); !errnoIs(err, syscall.EROFS) {
		t.Fatalf("write to the audit file: %v", err)
	}
	out, code := runWormfs(t, "audit", "--mount", e.dir)
	if code != 0 || out != want.String() {
		t.Fatalf("wormfs audit --mount (exit %d):\n%s", code, out)
	}
	out, code = runWormfs(t, "audit", "verify", "--mount", e.dir)
	if code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("wormfs audit verify --mount (exit %d): %s", code, out)
	}
	// The file follows the log as it grows.
	e.mustSh("setfattr -n user.s3.legalhold -v ON aud/f")
	if got, _ := os.ReadFile(e.p(".wormfs", "audit")); strings.Count(string(got), "\n") != len(recs)+1 {
		t.Fatalf("the audit file did not grow:\n%s", got)
	}
	// While the daemon runs, the store is locked: --data says to use the mount.
	if out, code := runWormfs(t, "audit", "--data", e.data); code == 0 || !strings.Contains(out, "mount") {
		t.Fatalf("audit --data of a running daemon (exit %d): %s", code, out)
	}

	// Stop the daemon and tamper with record 2.
	if err := e.m.Unmount(); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	if out, code := runWormfs(t, "audit", "verify", "--data", e.data); code != 0 {
		t.Fatalf("verify before tampering (exit %d): %s", code, out)
	}
	const victim = 2
	db, err := badger.Open(meta.BadgerOptions(e.data))
	if err != nil {
		t.Fatal(err)
	}
	key := append([]byte{'A'}, 0, 0, 0, 0, 0, 0, 0, victim)
	err = db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		val, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		i := strings.Index(string(val), `"action":"`) + len(`"action":"`)
		val[i] ^= 0x01 // a letter becomes another letter: still valid JSON
		return txn.Set(key, val)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
	out, code = runWormfs(t, "audit", "verify", "--data", e.data)
	if code == 0 || !strings.Contains(out, "record 2") {
		t.Fatalf("verify after tampering with record %d (exit %d): %s", victim, code, out)
	}
	if out, code := runWormfs(t, "audit", "--data", e.data); code != 0 || strings.Count(out, "\n") != len(recs)+1 {
		t.Fatalf("audit --data after stop (exit %d): %s", code, out)
	}
}

// TestHistoryOldVersionLocks: a version in the versions view has its own
// lock attributes: locking an old version leaves the current one alone,
// the lock refuses its removal until it is lifted; and a version's owner
// may remove their own unprotected version, nobody else's.
func TestHistoryOldVersionLocks(t *testing.T) {
	e := testHistory(t, nil, withBypass)
	e.mkbucket("own")
	e.mustSh("echo old > own/f && echo new > own/f")
	ids := e.ids("own", "f")
	oldP := e.vp("own", "f", ids[1])
	if err := syscall.Setxattr(oldP, "user.s3.legalhold", []byte("ON"), 0); err != nil {
		t.Fatalf("legal hold on the old version: %v", err)
	}
	if err := syscall.Setxattr(oldP, "user.s3.retention", []byte("GOVERNANCE +1d"), 0); err != nil {
		t.Fatalf("retention on the old version: %v", err)
	}
	if v, _ := e.store.Get("own", "f", ids[1]); !v.LegalHold || v.RetMode != "GOVERNANCE" {
		t.Fatalf("old version's lock: %+v", v)
	}
	if v, _ := e.store.Get("own", "f", ""); v.ID != ids[0] || v.HoldSet || v.RetMode != "" {
		t.Fatalf("the current version changed: %+v", v)
	}
	if _, err := getx(e.p("own", "f"), "user.s3.legalhold"); !errnoIs(err, syscall.ENODATA) {
		t.Fatalf("main tree shows the old version's hold: %v", err)
	}
	if s, _ := getx(oldP, "user.s3.lockstatus"); !strings.Contains(s, "legal hold ON") || !strings.Contains(s, "GOVERNANCE") {
		t.Fatalf("lockstatus of the old version: %q", s)
	}
	if err := os.Remove(oldP); !errnoIs(err, syscall.EPERM) { // a bypass never lifts a hold
		t.Fatalf("rm of a held version: %v", err)
	}
	if err := syscall.Removexattr(oldP, "user.s3.legalhold"); err != nil {
		t.Fatalf("lift the hold: %v", err)
	}
	if err := os.Remove(oldP); !errnoIs(err, syscall.EPERM) { // an unlink is never a bypass (issue 14)
		t.Fatalf("rm of a GOVERNANCE version after the hold is lifted: %v", err)
	}
	if err := e.m.DeleteVersion(wfs.Identity{}, "own", "f", ids[1], true); err != nil { // the explicit bypass
		t.Fatalf("bypass delete after the hold is lifted: %v", err)
	}
	if got := e.ids("own", "f"); len(got) != 1 || got[0] != ids[0] {
		t.Fatalf("after rm: %v", got)
	}

	// Owners: nobody owns g's versions, not h's.
	e.mustSh("echo g1 > own/g && echo g2 > own/g && chown 65534 own/g && echo h1 > own/h && echo h2 > own/h")
	gids, hids := e.ids("own", "g"), e.ids("own", "h")
	if err := os.Chown(e.vp("own", "g", gids[1]), nobody, -1); !errnoIs(err, syscall.EROFS) {
		t.Fatalf("chown in the view: %v", err)
	}
	// chown changed the current version in place; the old one is root's.
	if out, err := e.runAs(nobody, nobody, nil, "rm", "-f", e.vp("own", "g", gids[1])); !toolErrno(out, err, syscall.EPERM) {
		t.Fatalf("nobody removing root's old version of g: %v %s", err, out)
	}
	if out, err := e.runAs(nobody, nobody, nil, "rm", "-f", e.vp("own", "g", gids[0])); err != nil {
		t.Fatalf("nobody removing their own version: %v %s", err, out)
	}
	if out, err := e.runAs(nobody, nobody, nil, "rm", "-f", e.vp("own", "h", hids[0])); !toolErrno(out, err, syscall.EPERM) {
		t.Fatalf("nobody removing root's version of h: %v %s", err, out)
	}
	if got := e.ids("own", "g"); len(got) != 1 || got[0] != gids[1] {
		t.Fatalf("g after the owner's rm: %v", got)
	}
	if got := e.ids("own", "h"); len(got) != 2 {
		t.Fatalf("h after refused rm: %v", got)
	}
	if b, err := os.ReadFile(e.p("own", "g")); err != nil || string(b) != "g1\n" {
		t.Fatalf("main tree g after its current version was removed: %q, %v", b, err)
	}
}
