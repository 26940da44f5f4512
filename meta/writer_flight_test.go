package meta

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// TestWriterReadsChunksInFlight writes a file chunk by chunk so that
// earlier chunks are being written to Badger (in flight) while the writer
// reads them back, rewrites some of them (a staged chunk replaced while its
// write may still run) and truncates into them; two writers run at once so
// a buffer released too early would be reused by the other. Every read and
// the published content and ETag must match a plain in-memory copy.
func TestWriterReadsChunksInFlight(t *testing.T) {
	s := openTest(t)
	if _, err := s.CreateBucket("flight", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	const chunks = 12
	run := func(seed uint64, key string) error {
		rng := rand.New(rand.NewPCG(seed, 1))
		w, err := s.NewWriter("flight", key, nil)
		if err != nil {
			return err
		}
		model := make([]byte, 0, chunks*ChunkSize)
		buf := make([]byte, ChunkSize)
		got := make([]byte, ChunkSize)
		for i := 0; i < chunks; i++ {
			for j := range buf {
				buf[j] = byte(rng.Uint32())
			}
			off := int64(i) * ChunkSize
			if _, err := w.WriteAt(buf, off); err != nil {
				return err
			}
			model = append(model, buf...)
			// Read back a chunk a few positions behind: staged, maybe in flight.
			back := int64(rng.IntN(i+1)) * ChunkSize
			n, _ := w.ReadAt(got, back)
			if !bytes.Equal(got[:n], model[back:back+int64(n)]) {
				t.Errorf("%s: read at %d after writing chunk %d differs", key, back, i)
			}
			// Now and then rewrite part of an earlier chunk.
			if i%3 == 2 {
				at := int64(rng.IntN(len(model) - 100))
				patch := []byte("rewritten while its chunk may be in flight")
				if _, err := w.WriteAt(patch, at); err != nil {
					return err
				}
				copy(model[at:], patch)
			}
		}
		cut := int64(len(model)) - ChunkSize/2 - 3
		if err := w.Truncate(cut); err != nil {
			return err
		}
		model = model[:cut]
		v, err := w.Publish(PublishOptions{})
		if err != nil {
			return err
		}
		r, err := s.NewReader(v)
		if err != nil {
			return err
		}
		data := make([]byte, r.Size())
		if n, _ := r.ReadAt(data, 0); n != len(data) || !bytes.Equal(data, model) {
			t.Errorf("%s: published content differs from what was written", key)
		}
		sum := md5.Sum(model)
		if v.ETag != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: ETag %s, MD5 of the content %x", key, v.ETag, sum)
		}
		return nil
	}
	errs := make(chan error, 2)
	for i, key := range []string{"a", "b"} {
		go func() { errs <- run(uint64(i+7), key) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
