package integration

// SPEC §3 durability at close(): "a version whose close()/fsync()/PUT has
// returned success survives a kill -9 of the daemon".

import (
	"os"
	"testing"
)

// TestReliabilityTruncateAtClose: an open(O_TRUNC) with no write, then
// close(). The mount shows the file empty at once, but the new (empty)
// version is published only by RELEASE, which the kernel sends after
// close() has returned (asynchronously), and while another descriptor may
// write the file, only at that descriptor's last close. FOUND at cd9b3b9
// (passing since 502e666): close() returned 0, the mount shows 0 bytes, and the store's
// current version is still the old one, so a kill -9 at that moment loses
// an acknowledged truncate (`: > file` in a shell that keeps the file open
// elsewhere; a log rotation by truncation).
func TestReliabilityTruncateAtClose(t *testing.T) {
	e := testMount(t)
	e.mkbucket("trunc")
	p := e.p("trunc", "f.log")
	if err := os.WriteFile(p, []byte("old content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := e.versions("trunc", "f.log")[0]

	hold, err := os.OpenFile(p, os.O_WRONLY, 0) // another writer, e.g. a daemon's log fd
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close after O_TRUNC: %v", err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	cur := e.versions("trunc", "f.log")[0]
	t.Logf("after close(): the mount shows %d bytes; the store's current version %s has %d bytes (before: %s, %d bytes)", st.Size(), cur.ID, cur.Size, old.ID, old.Size)
	if st.Size() != 0 {
		t.Fatalf("the mount shows %d bytes after O_TRUNC", st.Size())
	}
	if cur.ID == old.ID || cur.Size != 0 {
		t.Errorf("close() of an O_TRUNC returned success but no empty version is committed (current %s, %d bytes): a kill -9 now loses the acknowledged truncate", cur.ID, cur.Size)
	}
}
