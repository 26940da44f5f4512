package integration

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestMountBasic: a bucket by mkdir, a file by create+write+close, read
// back, unlinked: each step checked in the store's version list.
func TestMountBasic(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("basic")
	bk, err := e.store.GetBucket("basic")
	if err != nil {
		t.Fatalf("bucket not in store: %v", err)
	}
	if bk.Versioning != "Enabled" || !bk.ObjectLock || !bk.Rule.IsZero() {
		t.Fatalf("bucket = %+v, want versioning Enabled, Object Lock, no default rule", bk)
	}
	if err := os.WriteFile(b+"/f.txt", []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := e.shape("basic", "f.txt"); !mEqualShape(got, []string{"hello"}) {
		t.Fatalf("versions after write = %q, want [hello]", got)
	}
	got, err := os.ReadFile(b + "/f.txt")
	if err != nil || string(got) != "hello" {
		t.Fatalf("read = %q, %v", got, err)
	}
	if err := os.Remove(b + "/f.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b + "/f.txt"); !os.IsNotExist(err) {
		t.Fatalf("stat after unlink: %v, want ENOENT", err)
	}
	if got := e.shape("basic", "f.txt"); !mEqualShape(got, []string{"DM", "hello"}) {
		t.Fatalf("versions after unlink = %q, want [DM hello]", got)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(b, &st); err != nil {
		t.Fatal(err)
	}
	_ = time.Second
}
