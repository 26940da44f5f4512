package integration

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"
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

// TestMountRenameKeepsInodeNumbersApart: a file renamed away keeps its
// inode number, and a new file made at its old name at once must get
// another one, in stat and in readdir alike; two live files with one st_ino
// are taken for hard links by tar, cp -a and rsync -H, which then copy one
// of them as a link to the other.
func TestMountRenameKeepsInodeNumbersApart(t *testing.T) {
	e := testMount(t)
	e.mkbucket("ino")
	a, b := e.p("ino", "a"), e.p("ino", "b")
	stIno := func(p string) uint64 {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	dirIno := func(name string) uint64 {
		t.Helper()
		f, err := os.Open(e.p("ino"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 1<<16)
		n, err := syscall.ReadDirent(int(f.Fd()), buf)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < n; {
			d := (*syscall.Dirent)(unsafe.Pointer(&buf[off]))
			nameBytes := (*[256]byte)(unsafe.Pointer(&d.Name[0]))
			l := bytes.IndexByte(nameBytes[:], 0)
			if string(nameBytes[:l]) == name {
				return d.Ino
			}
			off += int(d.Reclen)
		}
		t.Fatalf("%s not in readdir", name)
		return 0
	}
	for round := 0; round < 3; round++ {
		if err := os.WriteFile(a, []byte(fmt.Sprintf("old %d", round)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(a, b); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(a, []byte(fmt.Sprintf("new %d", round)), 0o644); err != nil {
			t.Fatal(err)
		}
		ia, ib := stIno(a), stIno(b)
		if ia == ib {
			t.Fatalf("round %d: a and b, two live files, share st_ino %d", round, ia)
		}
		if d := dirIno("a"); d != ia {
			t.Errorf("round %d: readdir gives a inode %d, stat %d", round, d, ia)
		}
		if err := os.Remove(b); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(a); err != nil {
			t.Fatal(err)
		}
	}
}
