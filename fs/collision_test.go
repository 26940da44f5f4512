package fs

import (
	"io"
	"log"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/wormfs/wormfs/meta"
)

// TestInodeCollisionKeepsFilesApart mounts a real store with the inode
// hash made to give the name "evil" the number of "victim", as a name
// crafted to collide would. go-fuse hands the live node of a number to
// whoever asks for it, so "evil" must get another number: creating,
// writing and reading it must touch only its own key, and "victim" must
// keep its content, its one version and its number.
func TestInodeCollisionKeepsFilesApart(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Geteuid() != 0 {
		if os.Getenv("WORMFS_REQUIRE_FUSE") == "1" {
			t.Fatalf("FUSE required (WORMFS_REQUIRE_FUSE=1) but unavailable: /dev/fuse %v, euid %d", err, os.Geteuid())
		}
		t.Skip("skipping mount test: needs /dev/fuse and root (set WORMFS_REQUIRE_FUSE=1 to fail instead)")
	}
	ino = func(kind byte, bucket, key string) uint64 {
		if key == "evil" {
			key = "victim"
		}
		return fnvIno(kind, bucket, key)
	}
	defer func() { ino = fnvIno }()
	store, err := meta.Open(meta.Options{Dir: t.TempDir(), GCInterval: -1, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	dir := t.TempDir()
	m, err := Mount(store, dir, Options{BypassGID: -1, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	}()
	if err := os.Mkdir(filepath.Join(dir, "bkt"), 0o755); err != nil {
		t.Fatal(err)
	}
	victim, evil := filepath.Join(dir, "bkt", "victim"), filepath.Join(dir, "bkt", "evil")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	stIno := func(p string) uint64 {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	vIno := stIno(victim) // victim's node is live
	if vIno != fnvIno(kindFile, "bkt", "victim") {
		t.Fatalf("victim inode %d, want its plain hash", vIno)
	}
	if err := os.WriteFile(evil, []byte("written as evil"), 0o644); err != nil {
		t.Fatalf("create of the colliding name: %v", err)
	}
	if eIno := stIno(evil); eIno == vIno {
		t.Fatalf("evil and victim share inode %d", eIno)
	}
	if b, err := os.ReadFile(evil); err != nil || string(b) != "written as evil" {
		t.Errorf("evil = %q %v", b, err)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
		t.Errorf("victim = %q %v", b, err)
	}
	for key, n := range map[string]int{"victim": 1, "evil": 1} {
		if vs, err := store.Versions("bkt", key); err != nil || len(vs) != n {
			t.Errorf("%s has %d versions (%v), want %d", key, len(vs), err, n)
		}
	}
	if v, err := store.Get("bkt", "victim", ""); err != nil || v.Size != int64(len("precious")) {
		t.Errorf("victim in the store: %+v %v", v, err)
	}
	if stIno(victim) != vIno {
		t.Errorf("victim's inode number changed")
	}
}
