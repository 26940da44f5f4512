package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wormfs/wormfs/fs"
	"github.com/wormfs/wormfs/meta"
)

// srcTree makes a small tree outside the mount: files, a nested
// directory, a symlink, modes and old times, for the copy tools.
func srcTree(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "sub", "deeper"), 0o755))
	must(os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha\n"), 0o640))
	must(os.WriteFile(filepath.Join(src, "sub", "b.bin"), bytes.Repeat([]byte{1, 2, 3}, 700000), 0o600))
	must(os.WriteFile(filepath.Join(src, "sub", "deeper", "c"), nil, 0o644))
	must(os.Symlink("a.txt", filepath.Join(src, "link")))
	old := time.Date(2011, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, p := range []string{"a.txt", "sub/b.bin", "sub/deeper/c"} {
		must(os.Chtimes(filepath.Join(src, p), old, old))
	}
	return src
}

// checkTree compares a copy in the mount with the source: contents, file
// modes, mtimes (when preserved), the symlink.
func checkTree(t *testing.T, src, dst string, times bool) {
	t.Helper()
	for _, p := range []string{"a.txt", "sub/b.bin", "sub/deeper/c"} {
		want, _ := os.ReadFile(filepath.Join(src, p))
		got, err := os.ReadFile(filepath.Join(dst, p))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want %d bytes", p, len(got), err, len(want))
		}
		sfi, _ := os.Stat(filepath.Join(src, p))
		dfi, err := os.Stat(filepath.Join(dst, p))
		if err != nil {
			continue
		}
		if sfi.Mode() != dfi.Mode() {
			t.Errorf("%s: mode %v, want %v", p, dfi.Mode(), sfi.Mode())
		}
		if times && !sfi.ModTime().Equal(dfi.ModTime()) {
			t.Errorf("%s: mtime %v, want %v", p, dfi.ModTime(), sfi.ModTime())
		}
	}
	if l, err := os.Readlink(filepath.Join(dst, "link")); err != nil || l != "a.txt" {
		t.Errorf("link = %q, %v", l, err)
	}
}

// TestMountTools runs the tools users run against the mount and reads the
// store's version lists to prove what each created.
func TestMountTools(t *testing.T) {
	e := testMount(t)
	e.mkbucket("tools")
	src := srcTree(t)

	t.Run("cp -a", func(t *testing.T) {
		e.t = t
		e.mustSh("cp -a " + src + " tools/cpa")
		checkTree(t, src, e.p("tools", "cpa"), true)
		for _, k := range []string{"cpa/a.txt", "cpa/sub/b.bin", "cpa/sub/deeper/c", "cpa/link", "cpa/", "cpa/sub/"} {
			// The empty file's version comes with the asynchronous
			// RELEASE of its last close: poll.
			mWaitFor(t, k+" to have one version", 3*time.Second, func() bool {
				vs := e.versions("tools", k)
				return len(vs) == 1 && !vs[0].DeleteMarker
			})
		}
		if vs := e.versions("tools", "cpa/link"); len(vs) == 1 && !vs[0].Link {
			t.Error("cp -a made the symlink a file")
		}
		// Again over the existing copy: one more version per file.
		e.mustSh("cp -a " + src + "/. tools/cpa/")
		if vs := e.versions("tools", "cpa/a.txt"); len(vs) != 2 || string(e.content(vs[1])) != "alpha\n" {
			t.Errorf("cp -a over a copy: %d versions of a.txt, want 2", len(vs))
		}
	})

	t.Run("rsync -a", func(t *testing.T) {
		e.t = t
		e.mustSh("rsync -a " + src + "/ tools/rs/")
		checkTree(t, src, e.p("tools", "rs"), true)
		for _, k := range []string{"rs/a.txt", "rs/sub/b.bin"} {
			if vs := e.versions("tools", k); len(vs) != 1 {
				t.Errorf("%s: %d versions, want 1", k, len(vs))
			}
		}
		// rsync writes a temporary name and renames it: the temporary
		// key ends with a delete marker and nothing shows in the mount.
		res, _ := e.store.ListVersions("tools", meta.VersionListOptions{Prefix: "rs/"})
		temps := 0
		for _, v := range res.Versions {
			if !strings.HasPrefix(filepath.Base(v.Key), ".") {
				continue
			}
			temps++
			if latest := e.versions("tools", v.Key)[0]; !latest.DeleteMarker {
				t.Errorf("rsync temporary %s is still visible", v.Key)
			}
		}
		if temps == 0 {
			t.Log("rsync wrote no temporary names (in place)")
		}
		ents, _ := os.ReadDir(e.p("tools", "rs"))
		for _, d := range ents {
			if strings.HasPrefix(d.Name(), ".") {
				t.Errorf("leftover %s in the mount", d.Name())
			}
		}
		// A second run with nothing changed writes nothing.
		before := e.snapshot("tools", "rs/a.txt")
		e.mustSh("rsync -a " + src + "/ tools/rs/")
		if e.snapshot("tools", "rs/a.txt") != before {
			t.Error("a no-op rsync changed a.txt")
		}
	})

	t.Run("tar x", func(t *testing.T) {
		e.t = t
		tarball := filepath.Join(t.TempDir(), "t.tar")
		e.mustSh("tar -C " + src + " -cf " + tarball + " .")
		os.Mkdir(e.p("tools", "tx"), 0o755)
		e.mustSh("tar -C tools/tx -xpf " + tarball)
		checkTree(t, src, e.p("tools", "tx"), true)
		if vs := e.versions("tools", "tx/sub/b.bin"); len(vs) != 1 {
			t.Errorf("tar x: %d versions of b.bin, want 1", len(vs))
		}
	})

	t.Run("mv and rm -r", func(t *testing.T) {
		e.t = t
		e.mustSh("cp -r " + src + " tools/mvsrc && mv tools/mvsrc tools/mvdst")
		if _, err := os.Stat(e.p("tools", "mvsrc")); !os.IsNotExist(err) {
			t.Errorf("mv left the source: %v", err)
		}
		checkTree(t, src, e.p("tools", "mvdst"), false)
		if vs := e.versions("tools", "mvsrc/sub/b.bin"); len(vs) != 2 || !vs[0].DeleteMarker {
			t.Errorf("mv source key: %d versions", len(vs))
		}
		e.mustSh("rm -r tools/mvdst")
		if _, err := os.Stat(e.p("tools", "mvdst")); !os.IsNotExist(err) {
			t.Errorf("rm -r left the directory: %v", err)
		}
		for _, k := range []string{"mvdst/a.txt", "mvdst/sub/b.bin", "mvdst/link"} {
			vs := e.versions("tools", k)
			if len(vs) != 2 || !vs[0].DeleteMarker || vs[1].DeleteMarker {
				t.Errorf("%s after rm -r: want a marker over the version, got %d", k, len(vs))
			}
		}
		if got := e.content(e.versions("tools", "mvdst/a.txt")[1]); string(got) != "alpha\n" {
			t.Errorf("old bytes after rm -r = %q", got)
		}
	})

	t.Run("redirections and dd", func(t *testing.T) {
		e.t = t
		e.mustSh("echo a > tools/r; echo b >> tools/r; printf XY | dd of=tools/r bs=1 seek=1 conv=notrunc 2>/dev/null; : > tools/r")
		// The O_TRUNC without data is published at the last close's
		// RELEASE, which the kernel sends asynchronously: poll.
		want := []string{"", "aXY\n", "a\nb\n", "a\n"}
		mWaitFor(t, "the versions of r", 3*time.Second, func() bool {
			return mEqualShape(e.shape("tools", "r"), want)
		})
	})

	t.Run("fio sequential write", func(t *testing.T) {
		e.t = t
		out, err := e.sh("fio --name=seq --filename=tools/fio.dat --rw=write --bs=1M --size=16M --ioengine=psync --end_fsync=1 --output-format=terse >/dev/null")
		if err != nil {
			t.Fatalf("fio: %v %s", err, out)
		}
		vs := e.versions("tools", "fio.dat")
		if len(vs) == 0 || vs[0].Size != 16<<20 {
			t.Fatalf("fio: versions %d, size %d", len(vs), vs[0].Size)
		}
	})
}

// TestMountPermissions: POSIX permissions are enforced by the kernel
// (default_permissions).
func TestMountPermissions(t *testing.T) {
	e := testMount(t, func(o *fs.Options) { o.AllowOther = true })
	b := e.mkbucket("perm")
	os.WriteFile(b+"/private", []byte("secret"), 0o600)
	os.WriteFile(b+"/public", []byte("open"), 0o644)
	if out, err := e.runAs(65534, 65534, nil, "cat", "perm/private"); !toolErrno(out, err, syscall.EACCES) {
		t.Errorf("reading a 0600 root file as nobody: %v %q, want EACCES", err, out)
	}
	if out, err := e.runAs(65534, 65534, nil, "cat", "perm/public"); err != nil || out != "open" {
		t.Errorf("reading a 0644 file as nobody: %v %q", err, out)
	}
	if out, err := e.runAs(65534, 65534, nil, "sh", "-c", "echo x > perm/public"); !toolErrno(out, err, syscall.EACCES) {
		t.Errorf("writing a 0644 root file as nobody: %v %q, want EACCES", err, out)
	}
	if out, err := e.runAs(65534, 65534, nil, "touch", "perm/new"); !toolErrno(out, err, syscall.EACCES) {
		t.Errorf("creating in a root 0755 bucket as nobody: %v %q, want EACCES", err, out)
	}
	if vs := e.versions("perm", "public"); len(vs) != 1 {
		t.Errorf("refused write made versions: %d", len(vs))
	}
	if vs := e.versions("perm", "new"); len(vs) != 0 {
		t.Errorf("refused create made versions: %d", len(vs))
	}
	// An explicit directory owned by the user is theirs to write.
	os.Mkdir(b+"/home", 0o755)
	os.Chown(b+"/home", 65534, 65534)
	if out, err := e.runAs(65534, 65534, nil, "sh", "-c", "echo mine > perm/home/f"); err != nil {
		t.Fatalf("writing in an owned directory: %v %s", err, out)
	}
	if vs := e.versions("perm", "home/f"); len(vs) != 1 || vs[0].UID != 65534 || vs[0].GID != 65534 {
		t.Fatalf("owned file version: %+v", vs)
	}
}

// TestMountSingleBucket: --bucket mounts one bucket at the root, where
// .wormfs names are reserved.
func TestMountSingleBucket(t *testing.T) {
	e := testMount(t)
	e.mkbucket("solo")
	if err := e.m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e.remount(func(o *fs.Options) { o.Bucket = "solo" })
	if err := os.WriteFile(e.p("top.txt"), []byte("t"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := e.shape("solo", "top.txt"); !mEqualShape(got, []string{"t"}) {
		t.Fatalf("versions = %q", got)
	}
	for _, name := range []string{".wormfs2", ".wormfs.x"} {
		if err := os.WriteFile(e.p(name), nil, 0o644); mErrno(err) != syscall.EPERM {
			t.Errorf("create %s: %v, want EPERM", name, err)
		}
		if err := os.Mkdir(e.p(name), 0o755); mErrno(err) != syscall.EPERM {
			t.Errorf("mkdir %s: %v, want EPERM", name, err)
		}
		if err := os.Symlink("x", e.p(name)); mErrno(err) != syscall.EPERM {
			t.Errorf("symlink %s: %v, want EPERM", name, err)
		}
	}
	// .wormfs itself exists (the views) and cannot be replaced.
	if err := os.WriteFile(e.p(".wormfs"), nil, 0o644); err == nil {
		t.Error("create .wormfs succeeded")
	}
	if err := os.Rename(e.p("top.txt"), e.p(".wormfs-renamed")); mErrno(err) != syscall.EPERM {
		t.Errorf("rename onto a reserved name: %v, want EPERM", err)
	}
	if vs, _ := e.store.ListVersions("solo", meta.VersionListOptions{Prefix: ".wormfs"}); len(vs.Versions) != 0 {
		t.Errorf("reserved names reached the store: %d versions", len(vs.Versions))
	}
	if err := e.m.Unmount(); err != nil {
		t.Fatal(err)
	}
	o := fs.Options{Bucket: "nosuch"}
	if m, err := fs.Mount(e.store, e.dir, o); err == nil {
		m.Unmount()
		t.Fatal("mounting a missing bucket succeeded")
	}
}

// TestMountPointChecks: a busy mount point is refused with a clear error;
// Unmount works with files open and is idempotent.
func TestMountPointChecks(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("busy")
	if _, err := fs.Mount(e.store, e.dir, fs.Options{}); err == nil || !strings.Contains(err.Error(), "already a mount point") {
		t.Fatalf("second mount on a mount point: %v", err)
	}
	f, err := os.Create(b + "/open")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("x")
	done := make(chan error, 1)
	go func() { done <- e.m.Unmount() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("unmount with a file open: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("unmount with a file open hung")
	}
	if err := e.m.Unmount(); err != nil {
		t.Fatalf("second unmount: %v", err)
	}
	e.m.Wait()
	if _, ok := mountsAt(e.dir); ok {
		t.Fatal("mount still listed after unmount")
	}
}

// mountsAt reports whether dir is in /proc/self/mounts.
func mountsAt(dir string) (string, bool) {
	b, _ := os.ReadFile("/proc/self/mounts")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 2 && f[1] == dir {
			return f[2], true
		}
	}
	return "", false
}

// TestMountStaleMountPoint: a dead FUSE mount (its server gone: ENOTCONN)
// and a file as mount point are refused with errors that say so.
func TestMountStaleMountPoint(t *testing.T) {
	e := testMount(t)
	var st syscall.Stat_t
	if err := syscall.Stat(e.dir, &st); err != nil {
		t.Fatal(err)
	}
	minor := (st.Dev & 0xff) | ((st.Dev >> 12) & 0xfff00)
	ctl := "/sys/fs/fuse/connections"
	if _, err := os.Stat(ctl + "/1"); err != nil {
		if _, ok := mountsAt(ctl); !ok {
			if err := syscall.Mount("fusectl", ctl, "fusectl", 0, ""); err != nil {
				t.Skipf("cannot mount fusectl to kill the connection: %v", err)
			}
			defer syscall.Unmount(ctl, 0)
		}
	}
	if err := os.WriteFile(filepath.Join(ctl, strconv.FormatUint(minor, 10), "abort"), []byte("1"), 0); err != nil {
		t.Fatalf("abort connection: %v", err)
	}
	e.m.Wait()
	mWaitFor(t, "ENOTCONN from the aborted mount", 3*time.Second, func() bool {
		return syscall.Stat(e.dir, &st) == syscall.ENOTCONN
	})
	_, err := fs.Mount(e.store, e.dir, fs.Options{})
	if err == nil || !strings.Contains(err.Error(), "stale FUSE mount") {
		t.Fatalf("mount on a stale mount point: %v", err)
	}
	t.Logf("stale mount point: %v", err)
	if err := e.m.Unmount(); err != nil {
		t.Fatalf("Unmount of the stale mount: %v", err)
	}
	if _, ok := mountsAt(e.dir); ok {
		t.Fatal("Unmount left the dead mount")
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := fs.Mount(e.store, file, fs.Options{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("mount on a file: %v", err)
	}
}

// TestMountIntoBucketRoot: the copy tools work with a bucket as the
// destination directory itself (they set its mode, owner and times); the
// bucket directory's attributes persist across a remount and start fresh
// for a bucket created again under the same name.
func TestMountIntoBucketRoot(t *testing.T) {
	e := testMount(t, func(o *fs.Options) { o.AllowOther = true })
	src := srcTree(t)
	os.Chmod(src, 0o750)
	for _, c := range []struct{ name, bucket, script string }{
		{"cp -a", "cpa-root", "cp -a " + src + "/. cpa-root/"},
		{"rsync -a", "rsync-root", "rsync -a " + src + "/ rsync-root/"},
		{"tar x", "tar-root", "tar -C " + src + " -cf - . | tar -C tar-root -xpf -"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.mkbucket(c.bucket)
			e.mustSh(c.script)
			checkTree(t, src, e.p(c.bucket), true)
			if fi, err := os.Stat(e.p(c.bucket)); err != nil || fi.Mode().Perm() != 0o750 {
				t.Fatalf("bucket directory mode %v, %v; want the source's 0750", fi.Mode(), err)
			}
		})
	}
	e.t = t
	b := e.mkbucket("owned")
	if err := os.Chown(b, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2010, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(b, mt, mt)
	if out, err := e.runAs(65534, 65534, nil, "sh", "-c", "echo mine > owned/f"); err != nil {
		t.Fatalf("the bucket's owner cannot write in it: %v %s", err, out)
	}
	e.m.Unmount()
	e.remount(func(o *fs.Options) { o.AllowOther = true })
	fi, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || !fi.ModTime().Equal(mt) {
		t.Fatalf("after remount: uid %d mtime %v", st.Uid, fi.ModTime())
	}
	os.Chmod(e.p("tar-root"), 0o700)
	e.mustSh("find tar-root -depth ! -path tar-root -delete")
	// The bucket still holds versions, so it cannot go; an empty one can.
	e.mkbucket("again")
	os.Chmod(e.p("again"), 0o700)
	if err := os.Remove(e.p("again")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	e.mkbucket("again")
	if fi, _ := os.Stat(e.p("again")); fi.Mode().Perm() != 0o755 {
		t.Fatalf("a new bucket of an old name inherited mode %v", fi.Mode())
	}
}
