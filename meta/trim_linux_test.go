package meta

import (
	"bytes"
	"testing"
)

// TestTrimMapsBoundsResidentValueLog writes 192 MiB through a store (the
// written value-log pages stay mapped, so the file-backed resident set
// grows by about as much), pages the maps out, and checks that the
// resident set shrank back and that every byte still reads back.
func TestTrimMapsBoundsResidentValueLog(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), GCInterval: -1, MaxMapped: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateBucket("trim", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	const size = 192 << 20
	before, err := fileRSS()
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	chunk := bytes.Repeat([]byte("wormfs-trim-"), ChunkSize/12+1)[:ChunkSize]
	w, err := s.NewWriter("trim", "big", nil)
	if err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < size; off += ChunkSize {
		if _, err := w.WriteAt(chunk, off); err != nil {
			t.Fatal(err)
		}
	}
	v, err := w.Publish(PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	grown, _ := fileRSS()
	if grown-before < size/2 {
		t.Skipf("the kernel did not keep the written value log resident (file RSS %d → %d MiB): nothing to trim", before>>20, grown>>20)
	}
	// Nothing synced the pages just written: the trim writes them back
	// before it pages them out (dirty pages would stay resident).
	limit := before + 32<<20
	if !s.trimMaps(limit) {
		t.Fatal("trimMaps found no value-log map to page out")
	}
	after, _ := fileRSS()
	t.Logf("file-backed RSS: %d MiB before, %d MiB after writing %d MiB, %d MiB after the trim", before>>20, grown>>20, size>>20, after>>20)
	if after > limit {
		t.Errorf("after the trim the file-backed RSS is %d MiB above the start (before writing: %d MiB, after: %d MiB)", (after-before)>>20, before>>20, grown>>20)
	}
	r, err := s.NewReader(v)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, ChunkSize)
	for off := int64(0); off < size; off += ChunkSize {
		if _, err := r.ReadAt(got, off); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, chunk) {
			t.Fatalf("chunk at %d differs after the trim", off)
		}
	}
	// Reading wrote nothing: the pages just read stay mapped (and cached)
	// for the next read.
	if s.trimMaps(limit) {
		t.Error("trimMaps paged out the value log although nothing was written since the last trim")
	}
}
