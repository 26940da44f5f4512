package meta

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestSmallWritersHoldLittleMemory opens many writers at once, as an
// application holding thousands of files open for writing does, each with
// a few bytes written and not yet published. Each must hold a buffer sized
// to its content, not a whole 1 MiB chunk: 2,000 such writers used to take
// 2 GiB of Go heap. Then every one publishes its exact content.
func TestSmallWritersHoldLittleMemory(t *testing.T) {
	s := openTest(t)
	if _, err := s.CreateBucket("small", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	const writers = 2000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ws := make([]*Writer, writers)
	for i := range ws {
		w, err := s.NewWriter("small", fmt.Sprintf("f%04d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteAt([]byte(fmt.Sprintf("content of file %d\n", i)), 0); err != nil {
			t.Fatal(err)
		}
		ws[i] = w
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d writers with a few bytes each: heap in use grew by %.1f MiB", writers, float64(grew)/(1<<20))
	if grew > 64<<20 {
		t.Errorf("%d small writers hold %d MiB of heap (%d KiB each); want a few KiB each", writers, grew>>20, grew/writers>>10)
	}
	for i, w := range ws {
		v, err := w.Publish(PublishOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("content of file %d\n", i)
		if got := string(readAll(t, s, v)); got != want {
			t.Fatalf("f%04d: published %q, want %q", i, got, want)
		}
	}
}

// TestWriterGrowsSmallBuffers appends in pieces of many sizes, so that a
// chunk's buffer starts small and is moved to larger ones (and at last to
// a whole-chunk buffer) while earlier chunks are staged, with rewrites of
// the growing tail and a truncation into it; the content read back while
// writing, the published content and the ETag must match a plain copy.
func TestWriterGrowsSmallBuffers(t *testing.T) {
	s := openTest(t)
	if _, err := s.CreateBucket("grow", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	w, err := s.NewWriter("grow", "appended", nil)
	if err != nil {
		t.Fatal(err)
	}
	var model []byte
	for len(model) < 3*ChunkSize+12345 {
		n := []int{1, 100, 4095, 4097, 30000, 70000, 200000}[rng.IntN(7)]
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		if _, err := w.WriteAt(p, int64(len(model))); err != nil {
			t.Fatal(err)
		}
		model = append(model, p...)
		if rng.IntN(4) == 0 { // rewrite a few bytes of the tail
			at := len(model) - 1 - rng.IntN(min(len(model), 5000))
			if _, err := w.WriteAt([]byte{0xAB}, int64(at)); err != nil {
				t.Fatal(err)
			}
			model[at] = 0xAB
		}
		got := make([]byte, len(model))
		if n, _ := w.ReadAt(got, 0); n != len(model) || !bytes.Equal(got, model) {
			t.Fatalf("after %d bytes: the writer reads back other content", len(model))
		}
	}
	cut := int64(len(model) - 5000)
	if err := w.Truncate(cut); err != nil {
		t.Fatal(err)
	}
	model = model[:cut]
	// Grow again past the cut with a gap: the gap reads as zeros.
	if _, err := w.WriteAt([]byte("tail"), cut+10); err != nil {
		t.Fatal(err)
	}
	model = append(model, make([]byte, 10)...)
	model = append(model, "tail"...)
	v, err := w.Publish(PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, v); !bytes.Equal(got, model) {
		t.Fatalf("published %d bytes differ from the %d written", len(got), len(model))
	}
	sum := md5.Sum(model)
	if v.ETag != hex.EncodeToString(sum[:]) {
		t.Errorf("ETag %s, want the MD5 %x", v.ETag, sum)
	}
}

// TestStagingBoundAcrossWriters runs 24 writers at once, each writing 12
// MiB, with the store's bound on staged buffers set to 16: without the
// bound each writer may hold 8 staged chunks (192 at once). The buffers
// held must never exceed 16, the bound must have been reached (the test
// exercised it), and every published version must hold its exact content.
func TestStagingBoundAcrossWriters(t *testing.T) {
	const bound, writers, chunks = 16, 24, 12
	s, err := Open(Options{Dir: t.TempDir(), GCInterval: -1, MaxStaging: bound})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.CreateBucket("bound", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	content := func(i int) []byte {
		b := make([]byte, chunks*ChunkSize)
		rand.NewChaCha8([32]byte{byte(i), 'b', 'o', 'u', 'n', 'd'}).Read(b)
		return b
	}
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		go func() {
			data := content(i)
			w, err := s.NewWriter("bound", fmt.Sprintf("w%02d", i), nil)
			if err != nil {
				errs <- err
				return
			}
			for off := 0; off < len(data); off += 256 << 10 { // FUSE-sized writes
				if _, err := w.WriteAt(data[off:off+256<<10], int64(off)); err != nil {
					errs <- err
					return
				}
			}
			_, err = w.Publish(PublishOptions{})
			errs <- err
		}()
	}
	for i := 0; i < writers; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	peak := s.stagingPeak.Load()
	t.Logf("%d writers: at most %d staged buffers held at once (bound %d)", writers, peak, bound)
	if peak > bound {
		t.Errorf("%d staged buffers held at once, bound %d", peak, bound)
	}
	if peak < bound/2 {
		t.Errorf("at most %d staged buffers held at once: the bound of %d was never approached, the test proves nothing", peak, bound)
	}
	if held := s.stagingHeld.Load(); held != 0 {
		t.Errorf("%d staged buffers still held after every publish", held)
	}
	for i := 0; i < writers; i++ {
		v, err := s.Get("bound", fmt.Sprintf("w%02d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, s, v); !bytes.Equal(got, content(i)) {
			t.Errorf("w%02d: published content differs", i)
		}
		sum := md5.Sum(content(i))
		if v.ETag != hex.EncodeToString(sum[:]) {
			t.Errorf("w%02d: ETag %s, want %x", i, v.ETag, sum)
		}
	}
}
