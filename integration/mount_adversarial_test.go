package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wormfs/wormfs/lockctl"
	"golang.org/x/sys/unix"
)

// The adversarial tests attack the mount as a local user or ransomware
// with write access would: every trick must leave a protected version
// byte for byte and lock for lock as it was, and what a closed file shows
// in the mount must be the latest version in the store.

// lockedVersion is what a protected version must keep.
type lockedVersion struct {
	bucket, key, id string
	body            string
	mode            lockctl.Mode
	until           time.Time
	hold            bool
}

// checkIntact fails the test when the protected version changed in any
// way that matters to WORM: content, retention, legal hold, existence.
func (e *mountEnv) checkIntact(what string, lv lockedVersion) {
	e.t.Helper()
	v, err := e.store.Get(lv.bucket, lv.key, lv.id)
	if err != nil {
		e.t.Fatalf("%s: locked version %s is gone: %v", what, lv.id, err)
	}
	if got := string(e.content(v)); got != lv.body {
		e.t.Fatalf("%s: locked version content %q, want %q", what, got, lv.body)
	}
	if v.RetMode != lv.mode || !v.RetUntil.Equal(lv.until) {
		e.t.Fatalf("%s: locked version retention %s %s, want %s %s", what, v.RetMode, v.RetUntil, lv.mode, lv.until)
	}
	if v.LegalHold != lv.hold {
		e.t.Fatalf("%s: locked version legal hold %v, want %v", what, v.LegalHold, lv.hold)
	}
}

// latestIs checks that the store's latest version of key holds want and
// that the mount reads the same bytes.
func (e *mountEnv) latestIs(what, bucket, key string, want []byte) {
	e.t.Helper()
	v, err := e.store.Get(bucket, key, "")
	if err != nil {
		e.t.Fatalf("%s: latest of %s/%s: %v", what, bucket, key, err)
	}
	if got := e.content(v); !bytes.Equal(got, want) {
		e.t.Fatalf("%s: store latest %q, want %q", what, trunc(got), trunc(want))
	}
	got, err := os.ReadFile(e.p(bucket, key))
	if err != nil {
		e.t.Fatalf("%s: read through the mount: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		e.t.Fatalf("%s: mount reads %q, want %q", what, trunc(got), trunc(want))
	}
}

func trunc(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + fmt.Sprintf("…(%d bytes)", len(b))
	}
	return string(b)
}

func setx(path, name, value string) error {
	return unix.Setxattr(path, name, []byte(value), 0)
}

// lockFile writes body to bucket/key and locks its version with COMPLIANCE
// until `until` and (optionally) a legal hold.
func (e *mountEnv) lockFile(bucket, key, body string, mode lockctl.Mode, until time.Time, hold bool) lockedVersion {
	e.t.Helper()
	f := e.p(bucket, key)
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := setx(f, "user.s3.retention", string(mode)+" "+until.Format(time.RFC3339)); err != nil {
		e.t.Fatalf("set retention: %v", err)
	}
	if hold {
		if err := setx(f, "user.s3.legalhold", "ON"); err != nil {
			e.t.Fatalf("set hold: %v", err)
		}
	}
	v, err := e.store.Get(bucket, key, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return lockedVersion{bucket: bucket, key: key, id: v.ID, body: body, mode: mode, until: until, hold: hold}
}

// TestMountAdversarialDataPaths: every way of changing the bytes of a
// locked file makes a new version (or fails); the locked version stays,
// and after each close the mount and the store agree.
func TestMountAdversarialDataPaths(t *testing.T) {
	e := testMount(t)
	e.mkbucket("adv")
	until := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	lv := e.lockFile("adv", "victim", "precious data", lockctl.ModeCompliance, until, true)
	f := e.p("adv", "victim")

	// O_TRUNC then write.
	if err := os.WriteFile(f, []byte("ENCRYPTED1"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.checkIntact("O_TRUNC write", lv)
	e.latestIs("O_TRUNC write", "adv", "victim", []byte("ENCRYPTED1"))

	// truncate(2).
	if err := os.Truncate(f, 3); err != nil {
		t.Fatal(err)
	}
	e.checkIntact("truncate", lv)
	e.latestIs("truncate", "adv", "victim", []byte("ENC"))

	// ftruncate + pwrite on an O_RDWR descriptor.
	fh, err := os.OpenFile(f, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := fh.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte("XY"), 4); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	e.checkIntact("ftruncate+pwrite", lv)
	e.latestIs("ftruncate+pwrite", "adv", "victim", []byte("\x00\x00\x00\x00XY"))

	// O_APPEND.
	fh, err = os.OpenFile(f, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.Write([]byte("++"))
	fh.Close()
	e.checkIntact("append", lv)
	e.latestIs("append", "adv", "victim", []byte("\x00\x00\x00\x00XY++"))

	// fallocate: punch hole and plain allocation, on a descriptor.
	fh, err = os.OpenFile(f, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	errPunch := unix.Fallocate(int(fh.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 8)
	errAlloc := unix.Fallocate(int(fh.Fd()), 0, 0, 1<<20)
	fh.Close()
	t.Logf("fallocate punch: %v, allocate: %v", errPunch, errAlloc)
	e.checkIntact("fallocate", lv)
	cur, _ := e.store.Get("adv", "victim", "")
	e.latestIs("fallocate", "adv", "victim", e.content(cur))

	// copy_file_range from another file into the victim.
	src := e.p("adv", "src")
	os.WriteFile(src, []byte("0123456789"), 0o644)
	in, _ := os.Open(src)
	out, err := os.OpenFile(f, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var offIn, offOut int64
	n, errCFR := unix.CopyFileRange(int(in.Fd()), &offIn, int(out.Fd()), &offOut, 10, 0)
	if errCFR != nil {
		t.Logf("copy_file_range: %v (falls back to read/write)", errCFR)
		out.WriteAt([]byte("0123456789"), 0)
	} else if n != 10 {
		t.Fatalf("copy_file_range copied %d", n)
	}
	in.Close()
	out.Close()
	e.checkIntact("copy_file_range", lv)
	e.latestIs("copy_file_range", "adv", "victim", []byte("0123456789"))

	// A shared writable mmap.
	fh, err = os.OpenFile(f, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(fh.Fd()), 0, 10, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	copy(m, "MMAPPED!!!")
	unix.Msync(m, unix.MS_SYNC)
	unix.Munmap(m)
	fh.Close()
	e.checkIntact("mmap", lv)
	e.latestIs("mmap", "adv", "victim", []byte("MMAPPED!!!"))

	// chmod and utimes change attributes only.
	os.Chmod(f, 0)
	os.Chtimes(f, time.Unix(0, 0), time.Unix(0, 0))
	os.Chmod(f, 0o644)
	e.checkIntact("chmod/utimes", lv)
}

// TestMountAdversarialFdBeforeLock: a descriptor opened (and written)
// before the lock was set cannot reach the locked version afterwards.
func TestMountAdversarialFdBeforeLock(t *testing.T) {
	e := testMount(t)
	e.mkbucket("adv")
	f := e.p("adv", "k")
	os.WriteFile(f, []byte("original"), 0o644)
	rw, err := os.OpenFile(f, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := os.OpenFile(f, os.O_RDWR|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The O_TRUNC handle is not published yet; lock what is current.
	until := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	if err := setx(f, "user.s3.retention", "COMPLIANCE "+until.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	v, _ := e.store.Get("adv", "k", "")
	lv := lockedVersion{bucket: "adv", key: "k", id: v.ID, body: string(e.content(v)), mode: lockctl.ModeCompliance, until: until}
	if _, err := rw.WriteAt([]byte("EVIL"), 0); err != nil {
		t.Fatal(err)
	}
	if err := rw.Sync(); err != nil {
		t.Fatal(err)
	}
	e.checkIntact("write via old fd", lv)
	if _, err := tr.Write([]byte("RANSOM")); err != nil {
		t.Fatal(err)
	}
	rw.Close()
	tr.Close()
	e.checkIntact("write via old O_TRUNC fd", lv)
	e.latestIs("after closes", "adv", "k", []byte("RANSOM"))
	// The lock was set while the O_TRUNC handle had unpublished changes:
	// the versions those changes publish carry it (SPEC §4, issue 14).
	for _, v := range e.versions("adv", "k") {
		if v.ID != lv.id && (v.RetMode != lockctl.ModeCompliance || v.RetUntil.Before(until)) {
			t.Fatalf("new version %s of the pending writes lacks the lock: %+v", v.ID, v)
		}
	}
}

// TestMountAdversarialNamespace: rename over, rename away, unlink and
// recreate, rmdir, symlink tricks, the versions view.
func TestMountAdversarialNamespace(t *testing.T) {
	e := testMount(t)
	e.mkbucket("adv")
	if err := os.Mkdir(e.p("adv", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	lv := e.lockFile("adv", "dir/victim", "precious", lockctl.ModeCompliance, until, false)
	f := e.p("adv", "dir", "victim")

	// Rename another file over it.
	os.WriteFile(e.p("adv", "evil"), []byte("evil"), 0o644)
	if err := os.Rename(e.p("adv", "evil"), f); err != nil {
		t.Fatal(err)
	}
	e.checkIntact("rename over", lv)
	e.latestIs("rename over", "adv", "dir/victim", []byte("evil"))

	// Rename it away, and back.
	if err := os.Rename(f, e.p("adv", "away")); err != nil {
		t.Fatal(err)
	}
	e.checkIntact("rename away", lv)
	if err := os.Rename(e.p("adv", "away"), f); err != nil {
		t.Fatal(err)
	}
	e.checkIntact("rename back", lv)

	// RENAME_EXCHANGE and RENAME_WHITEOUT are refused.
	if err := unix.Renameat2(unix.AT_FDCWD, f, unix.AT_FDCWD, e.p("adv", "src"), unix.RENAME_EXCHANGE); err == nil {
		t.Fatal("RENAME_EXCHANGE succeeded")
	}

	// Rename the directory holding it, and rmdir it.
	if err := os.Rename(e.p("adv", "dir"), e.p("adv", "dir2")); err != nil {
		t.Fatal(err)
	}
	e.checkIntact("rename dir", lv)
	if err := syscall.Rmdir(e.p("adv", "dir2")); err != syscall.ENOTEMPTY {
		t.Fatalf("rmdir of a non-empty dir: %v", err)
	}
	if out, err := e.sh("rm -rf adv/dir2"); err != nil {
		t.Fatalf("rm -rf: %v %s", err, out)
	}
	e.checkIntact("rm -rf", lv)

	// Unlink and recreate; symlink at the name; hard link refused.
	if err := os.Mkdir(e.p("adv", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f, []byte("new"), 0o644)
	os.Remove(f)
	if err := os.Symlink("/etc/passwd", f); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(e.p("adv", "src"), e.p("adv", "hl")); err == nil {
		t.Fatal("hard link succeeded")
	}
	e.checkIntact("unlink/symlink", lv)

	// The versions view: permanent delete, rename, write, truncate.
	vf := e.p(".wormfs", "versions", "adv", "dir", "victim", lv.id)
	if err := os.Remove(vf); mErrno(err) != syscall.EPERM {
		t.Fatalf("rm of the locked version: %v, want EPERM", err)
	}
	if err := os.Rename(vf, vf+"x"); err == nil {
		t.Fatal("rename in the versions view succeeded")
	}
	if err := os.Truncate(vf, 0); err == nil {
		t.Fatal("truncate in the versions view succeeded")
	}
	if _, err := os.OpenFile(vf, os.O_WRONLY, 0); err == nil {
		t.Fatal("open for write in the versions view succeeded")
	}
	if err := os.Chmod(vf, 0o777); err == nil {
		t.Fatal("chmod in the versions view succeeded")
	}
	e.checkIntact("versions view", lv)
}

// TestMountAdversarialXattrValues: hostile values written to the lock
// attributes of a COMPLIANCE-locked, held file change nothing.
func TestMountAdversarialXattrValues(t *testing.T) {
	e := testMount(t)
	e.mkbucket("adv")
	until := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	lv := e.lockFile("adv", "v", "precious", lockctl.ModeCompliance, until, true)
	f := e.p("adv", "v")
	vf := e.p(".wormfs", "versions", "adv", "v", lv.id)
	earlier := until.Add(-time.Hour).Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	values := []string{
		"COMPLIANCE " + earlier,
		"COMPLIANCE " + earlier + " bypass",
		"COMPLIANCE " + earlier + " BYPASS",
		"GOVERNANCE " + until.Add(time.Hour).Format(time.RFC3339),
		"GOVERNANCE " + until.Add(time.Hour).Format(time.RFC3339) + " bypass",
		"governance " + until.Add(time.Hour).Format(time.RFC3339),
		"COMPLIANCE " + past,
		"COMPLIANCE +1d",
		"COMPLIANCE +1d bypass",
		"COMPLIANCE 0001-01-01T00:00:00Z",
		"COMPLIANCE 0000-01-01T00:00:00Z",
		"COMPLIANCE 1970-01-01T00:00:00Z",
		"COMPLIANCE " + until.Add(-time.Hour).Format("2006-01-02T15:04:05+00:00"),
		"COMPLIANCE " + until.Format("2006-01-02T15:04:05-23:59"),
		"COMPLIANCE " + until.Add(-time.Second).Format(time.RFC3339Nano) + ".999999999",
		"COMPLIANCE  " + earlier,
		" COMPLIANCE " + earlier,
		"COMPLIANCE\t" + earlier,
		"COMPLIANCE " + earlier + "\n\n",
		"COMPLIANCE " + earlier + "\r\n",
		"COMPLIANCE " + earlier + "\x00",
		"COMPLIANCE\x00 " + until.Add(time.Hour).Format(time.RFC3339),
		"COMPLIANCE " + earlier + "\x00 bypass",
		"COMPLIANCE" + "\u00a0" + earlier,
		"COMPLİANCE " + earlier,
		`{"Mode":"COMPLIANCE","RetainUntilDate":"` + earlier + `"}`,
		`{"Mode":"GOVERNANCE","RetainUntilDate":"` + until.Add(time.Hour).Format(time.RFC3339) + `"}`,
		`{"Mode":"COMPLIANCE","RetainUntilDate":"` + until.Add(time.Hour).Format(time.RFC3339) + `","Mode":"GOVERNANCE"}`,
		`{"mode":"GOVERNANCE","RetainUntilDate":"` + until.Add(time.Hour).Format(time.RFC3339) + `"}`,
		`{"Mode":"COMPLIANCE","RetainUntilDate":""}`,
		`{}`,
		"",
		"\n",
		"COMPLIANCE",
		"NONE " + until.Format(time.RFC3339),
		strings.Repeat("A", 70000),
		"COMPLIANCE " + earlier + strings.Repeat(" ", 4000),
		"COMPLIANCE +99999999999999999999d",
		"COMPLIANCE +-1d",
		"COMPLIANCE +0d",
		"COMPLIANCE -1d",
	}
	for _, target := range []string{f, vf} {
		for _, val := range values {
			err := setx(target, "user.s3.retention", val)
			e.checkIntact(fmt.Sprintf("setxattr %s retention %q (%v)", filepath.Base(target), trunc([]byte(val)), err), lv)
		}
		for _, val := range []string{"OFF", "off", "Off", "OFF\n", "0", "", "OFF\x00", "ON OFF", "OFF bypass", " OFF", "ＯＦＦ", strings.Repeat("O", 70000)} {
			err := setx(target, "user.s3.legalhold", val)
			if err == nil {
				// Root may lift a hold (S3 semantics); only the exact
				// spellings of OFF may do it.
				if v := strings.TrimSuffix(val, "\n"); !strings.EqualFold(v, "OFF") {
					t.Errorf("legal hold value %q accepted", trunc([]byte(val)))
				}
				setx(target, "user.s3.legalhold", "ON")
			}
			e.checkIntact(fmt.Sprintf("setxattr %s legalhold %q (%v)", filepath.Base(target), trunc([]byte(val)), err), lv)
		}
		for _, name := range []string{"user.s3.retention", "user.s3.legalhold", "user.S3.retention", "user.s3.version-id", "user.s3.lockstatus", "user.s3.delete-marker"} {
			err := unix.Removexattr(target, name)
			if name == "user.s3.legalhold" && err == nil {
				// Root may lift a hold (S3 semantics: s3:PutObjectLegalHold);
				// put it back for the rest of the test.
				setx(target, name, "ON")
			}
			e.checkIntact(fmt.Sprintf("removexattr %s %s (%v)", filepath.Base(target), name, err), lv)
		}
		// Names that alias the lock attributes must not reach them.
		for _, name := range []string{"user.S3.retention", "user.s3.Retention", "user.s3.retention ", "user.s3.retention\n", "USER.s3.retention", "user..s3.retention", "user.s3.legalhold.", "trusted.s3.retention", "security.s3.retention"} {
			err := setx(target, name, "GOVERNANCE "+until.Add(time.Hour).Format(time.RFC3339))
			e.checkIntact(fmt.Sprintf("setxattr %s %q (%v)", filepath.Base(target), name, err), lv)
		}
	}
	// The lock attributes still read back right.
	got, err := getx(f, "user.s3.retention")
	if err != nil || got != "COMPLIANCE "+until.Format(time.RFC3339) {
		t.Fatalf("retention reads %q %v", got, err)
	}
}

// TestMountAdversarialOtherUser: an unprivileged user with write access
// (a world-writable file) cannot weaken a lock or delete a version.
func TestMountAdversarialOtherUser(t *testing.T) {
	e := testMount(t, withBypass)
	e.mkbucket("adv")
	os.Chmod(e.p("adv"), 0o777)
	until := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	lv := e.lockFile("adv", "gov", "governed", lockctl.ModeGovernance, until, false)
	f := e.p("adv", "gov")
	os.Chmod(f, 0o666)
	vf := e.p(".wormfs", "versions", "adv", "gov", lv.id)
	shorter := until.Add(-time.Hour).Format(time.RFC3339)
	attempts := [][]string{
		{"setfattr", "-n", "user.s3.retention", "-v", "GOVERNANCE " + shorter + " bypass", f},
		{"setfattr", "-n", "user.s3.retention", "-v", "COMPLIANCE " + shorter + " bypass", f},
		{"setfattr", "-x", "user.s3.retention", f},
		{"setfattr", "-n", "user.s3.retention", "-v", "GOVERNANCE " + shorter + " bypass", vf},
		{"setfattr", "-x", "user.s3.retention", vf},
		{"rm", "-f", vf},
		{"sh", "-c", "echo x > " + f},
		{"mv", f, e.p("adv", "moved")},
		{"sh", "-c", "mv " + e.p("adv", "moved") + " " + f},
		{"setfattr", "-n", "user.s3.legalhold", "-v", "ON", f},
	}
	for _, a := range attempts {
		out, err := e.runAs(65534, 65534, nil, a[0], a[1:]...)
		t.Logf("%v as nobody: %v %s", a, err, strings.TrimSpace(out))
		e.checkIntact(fmt.Sprintf("%v as nobody", a), lv)
	}
	// chown of the locked file to the attacker (to become its owner) is
	// refused by the kernel.
	if out, err := e.runAs(65534, 65534, nil, "chown", "65534", f); err == nil {
		t.Fatalf("chown as nobody succeeded: %s", out)
	}
}

// TestMountAdversarialNames: hostile names get errors, never a crash or a
// key that escapes the rules.
func TestMountAdversarialNames(t *testing.T) {
	e := testMount(t)
	e.mkbucket("adv")
	long := strings.Repeat("n", 255)
	tooLong := strings.Repeat("n", 256)
	if err := os.WriteFile(e.p("adv", long), []byte("x"), 0o644); err != nil {
		t.Fatalf("255-byte name: %v", err)
	}
	for _, name := range []string{tooLong, strings.Repeat("n", 1024), strings.Repeat("n", 1025), strings.Repeat("n", 4000)} {
		err := os.WriteFile(e.p("adv", name), []byte("x"), 0o644)
		if mErrno(err) != syscall.ENAMETOOLONG {
			t.Errorf("create of a %d-byte name: %v", len(name), err)
		}
		if _, err := os.Stat(e.p("adv", name)); mErrno(err) != syscall.ENAMETOOLONG {
			t.Errorf("stat of a %d-byte name: %v", len(name), err)
		}
		if err := os.Rename(e.p("adv", long), e.p("adv", name)); err == nil {
			t.Errorf("rename to a %d-byte name succeeded", len(name))
		}
	}
	for _, name := range []string{"bad\xff", "\xc0\xaf", "\xed\xa0\x80", "a\x01b"} {
		err := os.WriteFile(e.p("adv", name), []byte("x"), 0o644)
		t.Logf("create %q: %v", name, err)
		if err == nil {
			if _, err := e.store.Get("adv", name, ""); err != nil {
				t.Errorf("create %q succeeded but the store has no such key: %v", name, err)
			}
		}
		if err := os.Mkdir(e.p("adv", name+"d"), 0o755); err == nil && strings.ContainsRune(name, 0xfffd) {
			t.Errorf("mkdir %q succeeded", name)
		}
		if err := os.Rename(e.p("adv", long), e.p("adv", name+"r")); err == nil {
			t.Logf("rename to %q succeeded", name+"r")
			os.Rename(e.p("adv", name+"r"), e.p("adv", long))
		}
		os.Symlink("t", e.p("adv", name+"s"))
	}
	// A deep tree whose keys pass 1024 bytes.
	dir := e.p("adv")
	depth := 0
	for ; depth < 10; depth++ {
		next := filepath.Join(dir, strings.Repeat("d", 200))
		if err := os.Mkdir(next, 0o755); err != nil {
			if mErrno(err) != syscall.ENAMETOOLONG {
				t.Fatalf("mkdir at depth %d: %v", depth, err)
			}
			break
		}
		dir = next
	}
	if err := os.WriteFile(filepath.Join(dir, strings.Repeat("f", 200)), []byte("x"), 0o644); mErrno(err) != syscall.ENAMETOOLONG {
		t.Errorf("create past 1024 bytes: %v", err)
	}
	// Renaming a directory so its keys would pass 1024 bytes fails whole.
	os.Mkdir(e.p("adv", "r"), 0o755)
	os.WriteFile(e.p("adv", "r", strings.Repeat("x", 250)), []byte("deep"), 0o644)
	if err := os.Rename(e.p("adv", "r"), filepath.Join(dir, "r")); err == nil {
		t.Error("rename making a key past 1024 bytes succeeded")
	}
	if b, err := os.ReadFile(e.p("adv", "r", strings.Repeat("x", 250))); err != nil || string(b) != "deep" {
		t.Errorf("file after a refused dir rename: %q %v", b, err)
	}
	// Reserved and view names.
	for _, name := range []string{".wormfs", ".wormfsx"} {
		if err := os.Mkdir(e.p(name), 0o755); err == nil {
			t.Errorf("mkdir %s at the root succeeded", name)
		}
	}
	if err := os.WriteFile(e.p(".wormfs", "versions", "adv", "x"), []byte("x"), 0o644); err == nil {
		t.Error("create in the versions view succeeded")
	}
	for _, inst := range []string{"9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z", "2024-01-01T00:00:00+23:59", strings.Repeat("9", 255)} {
		os.ReadDir(e.p(".wormfs", "at", inst, "adv"))
	}
	// The daemon still answers.
	if err := os.WriteFile(e.p("adv", "alive"), []byte("yes"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.latestIs("alive", "adv", "alive", []byte("yes"))
}

// TestMountAdversarialConcurrentWriters: writers racing on one path;
// every version is one writer's whole content, and the mount shows the
// latest.
func TestMountAdversarialConcurrentWriters(t *testing.T) {
	e := testMount(t)
	e.mkbucket("adv")
	until := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	lv := e.lockFile("adv", "race", "precious", lockctl.ModeCompliance, until, true)
	f := e.p("adv", "race")
	const writers, rounds = 6, 15
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				body := bytes.Repeat([]byte{byte('A' + w)}, 1000+w*100+r)
				switch r % 3 {
				case 0:
					os.WriteFile(f, body, 0o644)
				case 1:
					fh, err := os.OpenFile(f, os.O_RDWR, 0)
					if err == nil {
						fh.Truncate(0)
						fh.WriteAt(body, 0)
						fh.Close()
					}
				case 2:
					os.Remove(f)
					os.WriteFile(f, body, 0o644)
				}
			}
		}(w)
	}
	wg.Wait()
	e.checkIntact("concurrent writers", lv)
	// Let the releases of the last handles arrive, then compare.
	time.Sleep(200 * time.Millisecond)
	v, err := e.store.Get("adv", "race", "")
	if err != nil {
		t.Fatalf("latest after the race: %v", err)
	}
	e.latestIs("after the race", "adv", "race", e.content(v))
}

// TestMountAdversarialConcurrentAppends: appenders racing on one file,
// each opening, appending one line and closing: no line is lost, and the
// mount and the store agree at the end.
func TestMountAdversarialConcurrentAppends(t *testing.T) {
	e := testMount(t)
	e.mkbucket("adv")
	f := e.p("adv", "log")
	os.WriteFile(f, nil, 0o644)
	const writers, lines = 4, 40
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < lines; i++ {
				fh, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Error(err)
					return
				}
				fmt.Fprintf(fh, "w%d-%03d\n", w, i)
				if err := fh.Close(); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	v, err := e.store.Get("adv", "log", "")
	if err != nil {
		t.Fatal(err)
	}
	got := string(e.content(v))
	for w := 0; w < writers; w++ {
		for i := 0; i < lines; i++ {
			if l := fmt.Sprintf("w%d-%03d\n", w, i); strings.Count(got, l) != 1 {
				t.Errorf("line %q appears %d times", l, strings.Count(got, l))
			}
		}
	}
	e.latestIs("appends", "adv", "log", []byte(got))
}

// TestMountAdversarialUserMetaTotal: user.* attributes are S3 user
// metadata, which S3 caps at 2 KiB in all (names and values, as the S3
// listener counts them). Many attributes of allowed size each must not add
// up to metadata that no S3 PUT could make (and that every new version of
// the file copies); the one that would pass the cap is E2BIG.
func TestMountAdversarialUserMetaTotal(t *testing.T) {
	e := testMount(t)
	e.mkbucket("adv")
	f := e.p("adv", "meta")
	os.WriteFile(f, []byte("x"), 0o644)
	os.Mkdir(e.p("adv", "d"), 0o755)
	val := strings.Repeat("v", 1000)
	for _, target := range []string{f, e.p("adv", "d")} {
		var lastErr error
		for i := 0; i < 10; i++ {
			if lastErr = setx(target, fmt.Sprintf("user.k%d", i), val); lastErr != nil {
				break
			}
		}
		if mErrno(lastErr) != syscall.E2BIG {
			t.Errorf("%s: ten 1000-byte attributes: last error %v, want E2BIG", filepath.Base(target), lastErr)
		}
		key := "meta"
		if target != f {
			key = "d/"
		}
		v, err := e.store.Get("adv", key, "")
		if err != nil {
			t.Fatal(err)
		}
		size := 0
		for k, s := range v.UserMeta {
			size += len(k) + len(s)
		}
		if size > 2048 {
			t.Errorf("%s: stored user metadata is %d bytes, more than S3's 2048", filepath.Base(target), size)
		}
		// Replacing an attribute with one of the same size still works.
		if err := setx(target, "user.k0", strings.Repeat("w", 1000)); err != nil {
			t.Errorf("%s: replacing an attribute: %v", filepath.Base(target), err)
		}
	}
	// While the file has unpublished changes the attributes wait for the
	// next version; the cap applies to them too.
	fh, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.Write([]byte("y"))
	err = setx(f, "user.extra", val)
	fh.Close()
	if mErrno(err) != syscall.E2BIG {
		t.Errorf("attribute past the cap during a write: %v, want E2BIG", err)
	}
	v, _ := e.store.Get("adv", "meta", "")
	size := 0
	for k, s := range v.UserMeta {
		size += len(k) + len(s)
	}
	if size > 2048 {
		t.Errorf("new version's user metadata is %d bytes", size)
	}
}

// TestMountAdversarialBucketRule: a user who may write into a bucket (a
// world-writable bucket directory) but is neither root, nor in the bypass
// group, nor the bucket directory's owner cannot remove or weaken the
// bucket's default retention (README: retention may be set by root,
// --bypass-gid members and the owner; others get EPERM).
func TestMountAdversarialBucketRule(t *testing.T) {
	e := testMount(t, withBypass)
	b := e.mkbucket("adv")
	if err := setx(b, "user.s3.retention", "COMPLIANCE 365d"); err != nil {
		t.Fatal(err)
	}
	os.Chmod(b, 0o777)
	for _, args := range [][]string{
		{"-x", "user.s3.retention", b},
		{"-n", "user.s3.retention", "-v", "GOVERNANCE 1d", b},
		{"-n", "user.s3.retention", "-v", "COMPLIANCE 1d", b},
	} {
		out, err := e.runAs(65534, 65534, nil, "setfattr", args...)
		if !toolErrno(out, err, syscall.EPERM) {
			t.Errorf("setfattr %v as nobody: %v %q, want EPERM", args, err, out)
		}
		if got, _ := getx(b, "user.s3.retention"); got != "COMPLIANCE 365d" {
			t.Fatalf("setfattr %v as nobody changed the bucket rule to %q", args, got)
		}
	}
	// The writer may still write, and its versions get the rule.
	if out, err := e.runAs(65534, 65534, nil, "sh", "-c", "echo data > "+b+"/f"); err != nil {
		t.Fatalf("write as nobody: %v %s", err, out)
	}
	if v, err := e.store.Get("adv", "f", ""); err != nil || v.RetMode != lockctl.ModeCompliance {
		t.Fatalf("new version: %+v %v", v, err)
	}
	// A lock administrator and root may; the owner of the bucket
	// directory may not (issue 14: default rules are for administrators).
	os.Chown(b, 1000, 1000)
	if out, err := e.runAs(1000, 1000, nil, "setfattr", "-n", "user.s3.retention", "-v", "COMPLIANCE 400d", b); !toolErrno(out, err, syscall.EPERM) {
		t.Fatalf("owner: %v %s, want EPERM", err, out)
	}
	if out, err := e.runAs(1001, 1001, []uint32{bypassGID}, "setfattr", "-n", "user.s3.retention", "-v", "COMPLIANCE 401d", b); err != nil {
		t.Fatalf("bypass group member: %v %s", err, out)
	}
	if err := unix.Removexattr(b, "user.s3.retention"); err != nil {
		t.Fatalf("root: %v", err)
	}
}
