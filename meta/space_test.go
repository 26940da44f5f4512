package meta

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
)

// TestNoSpace: below the free-space reserve, every change that adds data
// fails with ErrNoSpace and leaves nothing behind, while reads and the
// deletes that free space keep working.
func TestNoSpace(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket("roomy", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	w, _ := s.NewWriter("roomy", "a", nil)
	w.WriteAt(bytes.Repeat([]byte("a"), 3<<20), 0)
	old, err := w.Publish(PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// The same store, now with a reserve 64 MiB above the free space, so the
	// free space lies between the floor and the reserve.
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir, GCInterval: -1, MinFree: int64(st.Bavail)*int64(st.Bsize) + 64<<20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, _ := s.Stats()
	tests := []struct {
		name string
		op   func() error
	}{
		{"create bucket", func() error { _, err := s.CreateBucket("full", BucketOptions{}, Actor{}); return err }},
		{"publish", func() error {
			w, err := s.NewWriter("roomy", "b", nil)
			if err != nil {
				return err
			}
			defer w.Abort()
			if _, err := w.WriteAt(bytes.Repeat([]byte("b"), 2<<20+5), 0); err != nil {
				return err
			}
			_, err = w.Publish(PublishOptions{})
			return err
		}},
		{"copy", func() error { _, err := s.Copy(old, "roomy", "c", PublishOptions{}); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, ErrNoSpace) {
				t.Fatalf("err = %v, want ErrNoSpace", err)
			}
		})
	}
	after, _ := s.Stats()
	if after != before {
		t.Errorf("refused writes changed the chunk accounting: %+v → %+v", before, after)
	}
	if _, err := s.Get("roomy", "b", ""); !errors.Is(err, ErrNoSuchKey) {
		t.Errorf("refused publish is visible: %v", err)
	}
	r, err := s.NewReader(old)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := r.ReadAt(buf, 1<<20); err != nil || string(buf) != "aaaaaaaaaa" {
		t.Errorf("read below the reserve: %q %v", buf, err)
	}
	// Deleting frees space and is never refused for it.
	if _, err := s.DeleteVersion("roomy", "a", old.ID, Actor{}); err != nil {
		t.Errorf("permanent delete below the reserve: %v", err)
	}
	if st, _ := s.Stats(); st.Chunks != 0 {
		t.Errorf("after the delete %d chunks remain", st.Chunks)
	}
}

// TestNoSpaceFloor: below the floor nothing is written at all, not even a
// lock change or a delete, and the store still opens and reads.
func TestNoSpaceFloor(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket("locks", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	w, _ := s.NewWriter("locks", "a", nil)
	w.WriteAt([]byte("kept"), 0)
	v, err := w.Publish(PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(Options{Dir: dir, GCInterval: -1, MinFree: 1 << 62})
	if err != nil {
		t.Fatalf("open below the floor: %v", err)
	}
	defer s.Close()
	if _, err := s.SetLegalHold("locks", "a", v.ID, true, Actor{}); !errors.Is(err, ErrNoSpace) {
		t.Errorf("legal hold below the floor: %v, want ErrNoSpace", err)
	}
	if _, err := s.Delete("locks", "a", PublishOptions{}); !errors.Is(err, ErrNoSpace) {
		t.Errorf("delete marker below the floor: %v, want ErrNoSpace", err)
	}
	got, err := s.Get("locks", "a", "")
	if err != nil || got.ID != v.ID || got.LegalHold {
		t.Errorf("after refused changes: %+v, %v", got, err)
	}
}
