package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wormfs/wormfs/fs"
	"github.com/wormfs/wormfs/meta"
)

// requireFUSE skips the test when a real mount is impossible here (no
// /dev/fuse, not root), and fails it instead when WORMFS_REQUIRE_FUSE=1.
func requireFUSE(t *testing.T) {
	t.Helper()
	reason := ""
	if _, err := os.Stat("/dev/fuse"); err != nil {
		reason = "no /dev/fuse: " + err.Error()
	} else if os.Geteuid() != 0 {
		reason = "not root: the mount tests use a direct FUSE mount"
	}
	if reason == "" {
		return
	}
	if os.Getenv("WORMFS_REQUIRE_FUSE") == "1" {
		t.Fatalf("FUSE required (WORMFS_REQUIRE_FUSE=1) but unavailable: %s", reason)
	}
	t.Skipf("skipping mount test: %s (set WORMFS_REQUIRE_FUSE=1 to fail instead)", reason)
}

// mountEnv is a real mount of a real store, both in t.TempDir.
type mountEnv struct {
	t     *testing.T
	store *meta.Store
	data  string
	dir   string
	m     *fs.Mounted
}

// testMount opens a store and mounts it; t.Cleanup unmounts and closes it.
func testMount(t *testing.T, opts ...func(*fs.Options)) *mountEnv {
	t.Helper()
	requireFUSE(t)
	base := t.TempDir()
	e := &mountEnv{t: t, data: filepath.Join(base, "data"), dir: filepath.Join(base, "mnt")}
	if err := os.Mkdir(e.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Other users reach the mount point (tests that run tools as them).
	os.Chmod(base, 0o755)
	os.Chmod(filepath.Dir(base), 0o755)
	store, err := meta.Open(meta.Options{Dir: e.data, GCInterval: -1})
	if err != nil {
		t.Fatalf("meta.Open: %v", err)
	}
	e.store = store
	o := fs.Options{BypassGID: -1}
	for _, f := range opts {
		f(&o)
	}
	m, err := fs.Mount(store, e.dir, o)
	if err != nil {
		store.Close()
		t.Fatalf("fs.Mount: %v", err)
	}
	e.m = m
	t.Cleanup(func() {
		if err := m.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
			syscall.Unmount(e.dir, syscall.MNT_DETACH)
		}
		if err := store.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	return e
}

// p is a path inside the mount.
func (e *mountEnv) p(parts ...string) string {
	return filepath.Join(append([]string{e.dir}, parts...)...)
}

// mkbucket makes a bucket with mkdir through the mount.
func (e *mountEnv) mkbucket(name string) string {
	e.t.Helper()
	if err := os.Mkdir(e.p(name), 0o755); err != nil {
		e.t.Fatalf("mkdir bucket %s: %v", name, err)
	}
	return e.p(name)
}

// versions lists every version and delete marker of a key, newest first.
func (e *mountEnv) versions(bucket, key string) []*meta.Version {
	e.t.Helper()
	vs, err := e.store.Versions(bucket, key)
	if err != nil {
		e.t.Fatalf("Versions(%s, %s): %v", bucket, key, err)
	}
	return vs
}

// content reads the bytes of a version from the store.
func (e *mountEnv) content(v *meta.Version) []byte {
	e.t.Helper()
	r, err := e.store.NewReader(v)
	if err != nil {
		e.t.Fatalf("NewReader %s/%s %s: %v", v.Bucket, v.Key, v.ID, err)
	}
	b := make([]byte, r.Size())
	if _, err := r.ReadAt(b, 0); err != nil && len(b) > 0 && !errors.Is(err, io.EOF) {
		e.t.Fatalf("ReadAt: %v", err)
	}
	return b
}

// shape summarises a version list, newest first: "d" for a delete marker,
// otherwise the content in quotes.
func (e *mountEnv) shape(bucket, key string) []string {
	e.t.Helper()
	var out []string
	for _, v := range e.versions(bucket, key) {
		if v.DeleteMarker {
			out = append(out, "DM")
		} else {
			out = append(out, string(e.content(v)))
		}
	}
	return out
}

// sh runs a shell command with the mount as working directory, bounded in
// time, and returns its combined output.
func (e *mountEnv) sh(script string) (string, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir = e.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// mustSh runs a shell command that must succeed.
func (e *mountEnv) mustSh(script string) string {
	e.t.Helper()
	out, err := e.sh(script)
	if err != nil {
		e.t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return out
}

// waitFor polls cond until it holds or the bounded wait ends.
func mWaitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// equalShape compares a version list shape with the expected one.
func mEqualShape(got, want []string) bool {
	return strings.Join(got, "\x00|") == strings.Join(want, "\x00|") && len(got) == len(want)
}

// errnoOf extracts the errno of an error from os or syscall.
func mErrno(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// remount mounts the store again after e.m was unmounted.
func (e *mountEnv) remount(opts ...func(*fs.Options)) {
	e.t.Helper()
	o := fs.Options{BypassGID: -1}
	for _, f := range opts {
		f(&o)
	}
	m, err := fs.Mount(e.store, e.dir, o)
	if err != nil {
		e.t.Fatalf("remount: %v", err)
	}
	e.m = m
	t := e.t
	t.Cleanup(func() {
		if err := m.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
}

// runAs runs a command as another user (uid, gid, supplementary groups),
// bounded in time, in the mount, and returns its combined output.
func (e *mountEnv) runAs(uid, gid uint32, groups []uint32, name string, args ...string) (string, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = e.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: groups}}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// run runs a command as root in the mount, bounded in time.
func (e *mountEnv) run(name string, args ...string) (string, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = e.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// toolErrno tells whether a tool's failure message names errno.
func toolErrno(out string, err error, errno syscall.Errno) bool {
	if errno == 0 {
		return err == nil
	}
	return err != nil && strings.Contains(strings.ToLower(out), strings.ToLower(errno.Error()))
}
