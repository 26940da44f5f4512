package meta

import (
	"testing"
	"time"

	"github.com/wormfs/wormfs/lockctl"
)

// TestFsckExplainsCarriedLocks: the locks the store itself carries onto a
// new version (a chmod of a protected version copying it forward, a
// rename keeping the lock of the renamed version) are explained by audit
// records, so fsck finds nothing on a store that only ever saw them.
func TestFsckExplainsCarriedLocks(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	root := Actor{Name: "root"}
	if _, err := s.CreateBucket("carry", BucketOptions{ObjectLock: true}, root); err != nil {
		t.Fatal(err)
	}
	until := s.Now().Add(30 * 24 * time.Hour)
	put(t, s, "carry", "a", []byte("locked"), PublishOptions{Retention: lockctl.Retention{Mode: lockctl.ModeGovernance, Until: until}, Actor: root})
	put(t, s, "carry", "h", []byte("held"), PublishOptions{LegalHold: true, Actor: root})
	mode := uint32(0o600)
	if _, err := s.UpdateAttrs("carry", "a", "", AttrUpdate{Mode: &mode}); err != nil {
		t.Fatalf("chmod of a protected version: %v", err)
	}
	if _, err := s.Rename("carry", "a", "b", PublishOptions{Actor: root}); err != nil {
		t.Fatalf("rename of a protected version: %v", err)
	}
	if _, err := s.Rename("carry", "h", "h2", PublishOptions{Actor: root}); err != nil {
		t.Fatalf("rename of a held version: %v", err)
	}
	v, err := s.Get("carry", "b", "")
	if err != nil || v.RetMode != lockctl.ModeGovernance || v.Mode != 0o600 {
		t.Fatalf("renamed version: %+v, %v", v, err)
	}
	if h, err := s.Get("carry", "h2", ""); err != nil || !h.LegalHold {
		t.Fatalf("renamed held version: %+v, %v", h, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if p := fsckProblems(t, dir); len(p) != 0 {
		t.Errorf("fsck on a store with carried locks: %v", p)
	}
}
