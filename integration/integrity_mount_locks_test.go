package integration

// Issue 14, the mount side: who may lift a lock, explicit bypass only,
// protected means unchanged, locks follow the bytes, confidential history.
// Each test failed on the main branch before the fix (checked by running
// it against the old fs/meta code: the owner lifted a root's hold, root's
// rm in the versions view bypassed GOVERNANCE, chmod/touch/setfattr
// changed a COMPLIANCE version in place, a hold set with pending writes
// missed them, and other users read 0700 directories' history and the
// audit log).

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	wfs "github.com/wormfs/wormfs/fs"
	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
	"github.com/wormfs/wormfs/meta/metatest"
	"golang.org/x/sys/unix"
)

// Local users of these tests: alice writes files, the officer is a lock
// administrator (a member of the admin group bypassGID), nobody is anyone.
const (
	alice   = 1000
	officer = 1001
)

var officerID = wfs.Identity{UID: officer, GID: officer, Groups: []uint32{bypassGID}}

// record is a version's whole stored record (bytes' ETag, size, POSIX
// attributes, times, user metadata, lock), for "nothing changed".
func (e *mountEnv) record(bucket, key, id string) string {
	e.t.Helper()
	v, err := e.store.Get(bucket, key, id)
	if err != nil {
		e.t.Fatalf("Get %s/%s@%s: %v", bucket, key, id, err)
	}
	b, _ := json.Marshal(v)
	return string(b) + "|" + string(e.content(v))
}

// refusedAs runs a tool as uid (with groups) and wants EPERM or EACCES
// and the store unchanged.
func (e *mountEnv) refusedAs(uid uint32, groups []uint32, name string, args ...string) {
	e.t.Helper()
	before := metatest.Digest(e.t, e.store)
	out, err := e.runAs(uid, uid, groups, name, args...)
	if !toolErrno(out, err, syscall.EPERM) && !toolErrno(out, err, syscall.EACCES) {
		e.t.Fatalf("%s %v as uid %d: %v %q, want EPERM or EACCES", name, args, uid, err, out)
	}
	metatest.Unchanged(e.t, e.store, before)
}

// TestIntegrityMountWhoLiftsHold: a writer places a hold, only root and
// the lock administrators lift one; a file's owner can neither lift a hold
// root placed nor delete the held version, also after a chown to them.
func TestIntegrityMountWhoLiftsHold(t *testing.T) {
	e := testHistory(t, nil, withBypass)
	b := e.mkbucket("lift")
	os.Chmod(b, 0o777)
	if out, err := e.runAs(alice, alice, nil, "sh", "-c", "echo evidence > lift/mine"); err != nil {
		t.Fatalf("alice writes: %v %s", err, out)
	}
	mine := e.p("lift", "mine")
	// Root places the hold on alice's file.
	if err := setx(mine, "user.s3.legalhold", "ON"); err != nil {
		t.Fatal(err)
	}
	id := e.ids("lift", "mine")[0]
	held := e.record("lift", "mine", id)
	e.refusedAs(alice, nil, "setfattr", "-n", "user.s3.legalhold", "-v", "OFF", mine)
	e.refusedAs(alice, nil, "setfattr", "-x", "user.s3.legalhold", mine)
	e.refusedAs(alice, nil, "rm", "-f", e.vp("lift", "mine", id))
	e.refusedAs(alice, nil, "setfattr", "-n", "user.s3.legalhold", "-v", "OFF", e.vp("lift", "mine", id))
	if got := e.record("lift", "mine", id); got != held {
		t.Fatalf("held version changed:\n%s\n%s", held, got)
	}

	// Root's file, held, then given to alice: the chown makes a new
	// version (the held one never changes) that keeps the hold, and alice
	// may lift neither.
	e.mustSh("echo memo > lift/memo && setfattr -n user.s3.legalhold -v ON lift/memo")
	memo := e.p("lift", "memo")
	rootID := e.ids("lift", "memo")[0]
	if err := os.Chown(memo, alice, alice); err != nil {
		t.Fatal(err)
	}
	ids := e.ids("lift", "memo")
	if len(ids) != 2 || ids[1] != rootID {
		t.Fatalf("chown of a held file: versions %v, want a new one on top of %s", ids, rootID)
	}
	if v, _ := e.store.Get("lift", "memo", ids[0]); v.UID != alice || !v.LegalHold {
		t.Fatalf("new version after chown: uid %d hold %v, want alice's and held", v.UID, v.LegalHold)
	}
	if v, _ := e.store.Get("lift", "memo", rootID); v.UID != 0 || !v.LegalHold {
		t.Fatalf("held version after chown: uid %d hold %v, want unchanged", v.UID, v.LegalHold)
	}
	e.refusedAs(alice, nil, "setfattr", "-n", "user.s3.legalhold", "-v", "OFF", memo)
	e.refusedAs(alice, nil, "rm", "-f", e.vp("lift", "memo", ids[0]))
	e.refusedAs(alice, nil, "rm", "-f", e.vp("lift", "memo", rootID))

	// A writer places a hold on her own file, and cannot lift it.
	if out, err := e.runAs(alice, alice, nil, "sh", "-c", "echo draft > lift/draft && setfattr -n user.s3.legalhold -v ON lift/draft"); err != nil {
		t.Fatalf("alice places a hold: %v %s", err, out)
	}
	e.refusedAs(alice, nil, "setfattr", "-n", "user.s3.legalhold", "-v", "OFF", e.p("lift", "draft"))
	// Setting OFF where no hold is on stays a writer's right (cp -a of a
	// file's attributes).
	if out, err := e.runAs(alice, alice, nil, "sh", "-c", "echo copy > lift/copy && setfattr -n user.s3.legalhold -v OFF lift/copy"); err != nil {
		t.Fatalf("OFF on an unheld file: %v %s", err, out)
	}
	// Somebody who may not write the file may not place one either.
	e.refusedAs(65534, nil, "setfattr", "-n", "user.s3.legalhold", "-v", "ON", e.p("lift", "copy"))

	// The lock administrator lifts (through the control socket's entry:
	// the kernel would refuse a setxattr on alice's 0644 file), root too.
	if _, err := e.m.SetLegalHold(officerID, "lift", "mine", "", false); err != nil {
		t.Fatalf("officer lifts: %v", err)
	}
	if _, err := e.m.SetLegalHold(wfs.Identity{UID: alice, GID: alice}, "lift", "draft", "", false); err == nil {
		t.Fatal("alice lifted her hold through the control path")
	}
	if err := setx(e.p("lift", "draft"), "user.s3.legalhold", "OFF"); err != nil {
		t.Fatalf("root lifts: %v", err)
	}
	// Unprotected now: alice deletes her own version.
	if out, err := e.runAs(alice, alice, nil, "rm", "-f", e.vp("lift", "mine", id)); err != nil {
		t.Fatalf("alice deletes her unheld version: %v %s", err, out)
	}

	// A bucket's default rule: administrators only, not the bucket's owner.
	os.Chown(b, alice, alice)
	e.refusedAs(alice, nil, "setfattr", "-n", "user.s3.retention", "-v", "GOVERNANCE 1d", b)
	if out, err := e.runAs(officer, officer, []uint32{bypassGID}, "setfattr", "-n", "user.s3.retention", "-v", "GOVERNANCE 1d", b); err != nil {
		t.Fatalf("officer sets the default rule: %v %s", err, out)
	}
	e.refusedAs(alice, nil, "setfattr", "-x", "user.s3.retention", b)
}

// TestIntegrityMountExplicitBypassOnly: rm, rm -rf and removexattr in the
// versions view and the main tree never bypass GOVERNANCE, root and
// administrators included; the explicit bypass request of an
// administrator does, audited.
func TestIntegrityMountExplicitBypassOnly(t *testing.T) {
	e := testHistory(t, nil, withBypass)
	e.mkbucket("gov")
	e.mustSh("mkdir -p gov/dir && echo one > gov/dir/a && echo b > gov/dir/b")
	for _, k := range []string{"dir/a", "dir/b"} {
		if err := setx(e.p("gov", k), "user.s3.retention", "GOVERNANCE +2d"); err != nil {
			t.Fatal(err)
		}
	}
	a := e.ids("gov", "dir/a")[0]
	rec := e.record("gov", "dir/a", a)
	before := metatest.Digest(t, e.store)
	for _, args := range [][]string{
		{"rm", "-f", e.vp("gov", "dir/a", a)},
		{"rm", "-rf", e.vp("gov", "dir")},
		{"rm", "-rf", e.vp("gov", "dir", "a")},
		{"setfattr", "-x", "user.s3.retention", e.vp("gov", "dir/a", a)},
		{"setfattr", "-x", "user.s3.retention", e.p("gov", "dir/a")},
	} {
		out, err := e.run(args[0], args[1:]...)
		if err == nil {
			t.Fatalf("root %v succeeded: %s", args, out)
		}
		metatest.Unchanged(t, e.store, before)
		if out, err := e.runAs(officer, officer, []uint32{bypassGID}, args[0], args[1:]...); err == nil {
			t.Fatalf("officer %v succeeded: %s", args, out)
		}
		metatest.Unchanged(t, e.store, before)
	}
	if got := e.record("gov", "dir/a", a); got != rec {
		t.Fatal("GOVERNANCE version changed")
	}
	for _, r := range auditRecords(t, e.store) {
		if r.Bypass {
			t.Fatalf("a refused request was audited as a bypass: %+v", r)
		}
	}
	// The explicit request: `wormfs rm-version --bypass` (the control
	// socket's entry) by an administrator; by alice it is refused.
	if err := e.m.DeleteVersion(wfs.Identity{UID: alice, GID: alice}, "gov", "dir/a", a, true); err == nil {
		t.Fatal("a non-administrator's bypass request deleted a GOVERNANCE version")
	}
	metatest.Unchanged(t, e.store, before)
	if err := e.m.DeleteVersion(officerID, "gov", "dir/a", a, true); err != nil {
		t.Fatalf("officer's explicit bypass: %v", err)
	}
	if rs := bypassRecords(t, e.store, "gov", "dir/a", a); len(rs) != 1 || !strings.Contains(rs[0].Actor, "uid=1001") {
		t.Fatalf("bypass audit: %+v", rs)
	}
}

// TestIntegrityMountProtectedUnchanged: chmod, chown, touch and user.*
// setfattr/removexattr on a file whose current version is COMPLIANCE
// locked or held publish a new version sharing its bytes; the protected
// version stays identical in the store and over S3 (head-object
// --version-id); an unprotected file changes in place, as before.
func TestIntegrityMountProtectedUnchanged(t *testing.T) {
	e := testHistory(t, nil, withBypass)
	b := e.mkbucket("keep")
	os.Chmod(b, 0o777)
	ctx := t.Context()
	head := func(key, id string) string {
		t.Helper()
		out, err := e.s3.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("keep"), Key: aws.String(key), VersionId: aws.String(id)})
		if err != nil {
			t.Fatalf("HeadObject %s@%s: %v", key, id, err)
		}
		j, _ := json.Marshal([]any{out.ETag, out.ContentLength, out.LastModified, out.Metadata, out.ObjectLockMode, out.ObjectLockRetainUntilDate, out.ObjectLockLegalHoldStatus})
		return string(j)
	}
	type who struct {
		name string
		uid  uint32
	}
	for _, w := range []who{{"root", 0}, {"owner", alice}} {
		for _, lock := range []string{"compliance", "hold"} {
			key := w.name + "-" + lock
			t.Run(key, func(t *testing.T) {
				p := e.p("keep", key)
				if out, err := e.runAs(w.uid, w.uid, nil, "sh", "-c", "echo original > "+p+" && setfattr -n user.note -v before "+p); err != nil {
					t.Fatalf("%v %s", err, out)
				}
				if lock == "compliance" {
					if out, err := e.runAs(w.uid, w.uid, nil, "setfattr", "-n", "user.s3.retention", "-v", "COMPLIANCE +1d", p); err != nil {
						t.Fatalf("%v %s", err, out)
					}
				} else if err := setx(p, "user.s3.legalhold", "ON"); err != nil {
					t.Fatal(err)
				}
				prot := e.ids("keep", key)[0]
				rec, hd := e.record("keep", key, prot), head(key, prot)
				steps := []string{
					"setfattr -n user.note -v after " + p,
					"touch -d 2001-01-01T00:00:00Z " + p,
					"chmod 600 " + p,
					"setfattr -x user.note " + p,
				}
				if w.uid == 0 {
					steps = append(steps, "chown 1000:1000 "+p)
				}
				for i, s := range steps {
					if out, err := e.runAs(w.uid, w.uid, nil, "sh", "-c", s); err != nil {
						t.Fatalf("%s: %v %s", s, err, out)
					}
					if got := e.record("keep", key, prot); got != rec {
						t.Fatalf("%s changed the protected version:\nbefore %s\nafter  %s", s, rec, got)
					}
					if got := head(key, prot); got != hd {
						t.Fatalf("%s: head-object of the protected version:\nbefore %s\nafter  %s", s, hd, got)
					}
					if ids := e.ids("keep", key); len(ids) != i+2 {
						t.Fatalf("%s: %d versions, want %d (one new version per change)", s, len(ids), i+2)
					}
				}
				cur, _ := e.store.Get("keep", key, "")
				orig, _ := e.store.Get("keep", key, prot)
				if cur.ETag != orig.ETag || cur.Size != orig.Size || cur.Mode != 0o600 || cur.Mtime.Year() != 2001 || cur.UserMeta["note"] != "" {
					t.Fatalf("current version: %+v", cur)
				}
				if !cur.Lock().Protected(e.store.Now()) {
					t.Fatalf("the new version lost the lock: %+v", cur.Lock())
				}
				if st, _ := e.store.Stats(); st.Chunks == 0 {
					t.Fatal("no chunks")
				}
				if b, err := os.ReadFile(p); err != nil || string(b) != "original\n" {
					t.Fatalf("content after the changes: %q %v", b, err)
				}
				n := 0
				for _, r := range auditRecords(t, e.store) {
					if r.Action == "version-copy-forward" && r.Key == key {
						n++
					}
				}
				if n != len(steps) {
					t.Fatalf("%d copy-forward audit records, want %d", n, len(steps))
				}
			})
		}
	}
	t.Run("unprotected stays in place", func(t *testing.T) {
		e.mustSh("echo free > keep/free && chmod 600 keep/free && touch -d 2001-01-01T00:00:00Z keep/free && setfattr -n user.x -v y keep/free")
		if ids := e.ids("keep", "free"); len(ids) != 1 {
			t.Fatalf("unprotected file: %d versions, want 1", len(ids))
		}
	})
}

// TestIntegrityMountLocksFollowBytes: a legal hold or retention set (by
// path or by descriptor) while a file has unpublished writes applies to
// the current version and to the version those writes publish.
func TestIntegrityMountLocksFollowBytes(t *testing.T) {
	e := testMount(t, withBypass)
	b := e.mkbucket("follow")
	os.Chmod(b, 0o777)
	check := func(t *testing.T, key string, want func(v *meta.Version) bool) {
		t.Helper()
		vs := e.versions("follow", key)
		if len(vs) != 2 {
			t.Fatalf("%s: %d versions, want 2", key, len(vs))
		}
		if got := string(e.content(vs[0])); !strings.HasSuffix(got, "appended\n") {
			t.Fatalf("%s newest holds %q", key, got)
		}
		for _, v := range vs {
			if !want(v) {
				t.Fatalf("%s version %s (%q) lacks the lock: %+v", key, v.ID, e.content(v), v.Lock())
			}
		}
	}
	held := func(v *meta.Version) bool { return v.LegalHold }
	compliance := func(v *meta.Version) bool {
		return v.RetMode == lockctl.ModeCompliance && v.RetUntil.After(time.Now().Add(23*time.Hour))
	}
	t.Run("hold by path, root", func(t *testing.T) {
		p := e.p("follow", "a")
		os.WriteFile(p, []byte("base\n"), 0o644)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("appended\n")
		if err := setx(p, "user.s3.legalhold", "ON"); err != nil {
			t.Fatal(err)
		}
		f.Close()
		check(t, "a", held)
	})
	t.Run("retention by descriptor, root", func(t *testing.T) {
		p := e.p("follow", "b")
		os.WriteFile(p, []byte("base\n"), 0o644)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("appended\n")
		if err := unix.Fsetxattr(int(f.Fd()), "user.s3.retention", []byte("COMPLIANCE +1d"), 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
		check(t, "b", compliance)
	})
	t.Run("hold by path, unprivileged writer", func(t *testing.T) {
		p := e.p("follow", "c")
		// A shell's `echo >&3` closes a duplicate of the descriptor (a
		// flush, which publishes): python keeps the one descriptor.
		script := "import os\nopen(" + "'" + p + "', 'w').write('base\\n')\nf = open('" + p + "', 'a')\nf.write('appended\\n'); f.flush()\nos.setxattr('" + p + "', 'user.s3.legalhold', b'ON')\nf.close()\n"
		if out, err := e.runAs(alice, alice, nil, "/usr/bin/python3", "-c", script); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		check(t, "c", held)
	})
	t.Run("retention through the control path while writes are pending", func(t *testing.T) {
		p := e.p("follow", "d")
		os.WriteFile(p, []byte("base\n"), 0o644)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("appended\n")
		if _, err := e.m.SetRetention(officerID, "follow", "d", "", "COMPLIANCE +1d"); err != nil {
			t.Fatal(err)
		}
		f.Close()
		check(t, "d", compliance)
	})
}

// TestIntegrityMountConfidentialHistory: the versions view and the at
// view show a key's history only to whoever may read the key now (every
// directory searchable, the file readable, for a deleted key its
// directory), each version keeps its own mode, a delete marker belongs to
// its maker, and the audit log is for root and administrators.
func TestIntegrityMountConfidentialHistory(t *testing.T) {
	e := testMount(t, withBypass)
	e.mkbucket("conf")
	e.mustSh("mkdir conf/secret && chmod 700 conf/secret && echo s1 > conf/secret/f && echo s2 > conf/secret/f && echo g > conf/secret/gone && rm conf/secret/gone")
	e.mustSh("echo p1 > conf/pub && echo p2 > conf/pub && echo t1 > conf/tight && echo t2 > conf/tight && chmod 600 conf/tight")
	e.mkbucket("closed")
	e.mustSh("chmod 700 closed && echo c > closed/f")
	at := time.Now().Add(time.Second).UTC().Format(time.RFC3339)
	time.Sleep(1100 * time.Millisecond)
	sf := e.ids("conf", "secret/f")
	pub := e.ids("conf", "pub")
	tight := e.ids("conf", "tight")
	before := metatest.Digest(t, e.store)
	denied := func(args ...string) {
		t.Helper()
		out, err := e.runAs(65534, 65534, nil, args[0], args[1:]...)
		if !toolErrno(out, err, syscall.EACCES) && !toolErrno(out, err, syscall.EPERM) {
			t.Fatalf("nobody %v: %v %q, want EACCES", args, err, out)
		}
	}
	allowed := func(args ...string) {
		t.Helper()
		if out, err := e.runAs(65534, 65534, nil, args[0], args[1:]...); err != nil {
			t.Fatalf("nobody %v: %v %q", args, err, out)
		}
	}
	// Root reads first, so the kernel caches the entries: the daemon
	// still decides for the next caller.
	e.mustSh("cat .wormfs/versions/conf/secret/f/" + sf[1] + " .wormfs/at/" + at + "/conf/secret/f > /dev/null && ls .wormfs/versions/conf/secret/gone > /dev/null")
	denied("cat", e.vp("conf", "secret/f", sf[1]))
	denied("ls", e.vp("conf", "secret/f"))
	denied("getfattr", "-n", "user.s3.lockstatus", e.vp("conf", "secret/f", sf[0]))
	denied("ls", e.vp("conf", "secret/gone"))
	denied("cat", e.p(".wormfs", "at", at, "conf", "secret", "f"))
	denied("ls", e.p(".wormfs", "at", at, "conf", "secret"))
	denied("cat", e.vp("closed", "f", e.ids("closed", "f")[0]))
	denied("ls", e.p(".wormfs", "at", at, "closed"))
	// chmod 600 now: the old 0644 version is not readable either.
	denied("cat", e.vp("conf", "tight", tight[1]))
	denied("cat", e.p(".wormfs", "at", at, "conf", "tight"))
	allowed("cat", e.vp("conf", "pub", pub[1]))
	allowed("cat", e.p(".wormfs", "at", at, "conf", "pub"))
	metatest.Unchanged(t, e.store, before)

	// A delete marker is its maker's: alice undoes her own delete; nobody
	// may not remove it.
	b := e.mkbucket("undo")
	os.Chmod(b, 0o777)
	if out, err := e.runAs(alice, alice, nil, "sh", "-c", "echo mine > undo/f && rm undo/f"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	dm := e.ids("undo", "f")[0]
	if v, _ := e.store.Get("undo", "f", dm); v == nil || !v.DeleteMarker || v.UID != alice {
		t.Fatalf("delete marker %+v, want alice's", v)
	}
	e.refusedAs(65534, nil, "rm", "-f", e.vp("undo", "f", dm))
	if out, err := e.runAs(alice, alice, nil, "rm", "-f", e.vp("undo", "f", dm)); err != nil {
		t.Fatalf("alice removes her delete marker: %v %s", err, out)
	}
	if got, err := os.ReadFile(e.p("undo", "f")); err != nil || string(got) != "mine\n" {
		t.Fatalf("after the undo: %q %v", got, err)
	}

	// The audit log names every key: root and administrators only.
	denied("cat", e.p(".wormfs", "audit"))
	if out, err := e.runAs(officer, officer, []uint32{bypassGID}, "cat", e.p(".wormfs", "audit")); err != nil || !strings.Contains(out, `"action"`) {
		t.Fatalf("officer reads the audit log: %v %.200q", err, out)
	}
	if _, err := os.ReadFile(filepath.Join(e.dir, ".wormfs", "audit")); err != nil {
		t.Fatalf("root reads the audit log: %v", err)
	}
}
