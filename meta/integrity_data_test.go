package meta

// Issue 14 items 8 and 9 (and the hashing of issue 18) at the store's
// level: the 5 TiB cap, holes that cost nothing, the multipart-form ETag
// of mount-written files, verified chunk reads and Scrub. Each test fails
// on the code before these changes (no cap, one extent per MiB of hole,
// a plain MD5 for every file, reads that never check a CRC, no Scrub).

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func TestZeroPartMD5(t *testing.T) {
	if got := md5.Sum(make([]byte, ETagPartSize)); got != zeroPartMD5 {
		t.Fatalf("zeroPartMD5 is %x, the MD5 of %d zero bytes is %x", zeroPartMD5, ETagPartSize, got)
	}
}

// segment is a piece of test content: n zero bytes when data is nil.
type segment struct {
	data []byte
	n    int64
}

// multipartETag computes, independently of the writer, the ETag of the
// content segs in parts of partSize: the plain MD5 when it is at most one
// part, else the MD5 of the parts' MD5s and "-N".
func multipartETag(segs []segment, partSize int64) string {
	var total int64
	for _, s := range segs {
		total += s.n
	}
	var sums []byte
	part := md5.New()
	inPart := int64(0)
	zero := make([]byte, 1<<20)
	feed := func(b []byte) {
		for len(b) > 0 {
			m := min(int64(len(b)), partSize-inPart)
			part.Write(b[:m])
			inPart += m
			b = b[m:]
			if inPart == partSize {
				sums = append(sums, part.Sum(nil)...)
				part.Reset()
				inPart = 0
			}
		}
	}
	for _, s := range segs {
		if s.data != nil {
			feed(s.data)
			continue
		}
		for left := s.n; left > 0; {
			m := min(left, int64(len(zero)))
			feed(zero[:m])
			left -= m
		}
	}
	if total <= partSize {
		if inPart == 0 && total > 0 {
			return hex.EncodeToString(sums)
		}
		return hex.EncodeToString(part.Sum(nil))
	}
	if inPart > 0 {
		sums = append(sums, part.Sum(nil)...)
	}
	all := md5.Sum(sums)
	return fmt.Sprintf("%s-%d", hex.EncodeToString(all[:]), (total+partSize-1)/partSize)
}

func randBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'e', 't', 'a', 'g'}).Read(b)
	return b
}

func openDataStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(Options{Dir: t.TempDir(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.CreateBucket("data", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFileWriterETag: a file written through the mount's writer gets the
// plain MD5 up to one part (8 MiB) and the multipart form above it; an
// S3 writer always gets the plain MD5 of the body.
func TestFileWriterETag(t *testing.T) {
	s := openDataStore(t)
	const mib = 1 << 20
	for _, tc := range []struct {
		name string
		segs []segment
	}{
		{"0 B", nil},
		{"1 B", []segment{{data: []byte("x"), n: 1}}},
		{"8 MiB", []segment{{data: randBytes(8*mib, 1), n: 8 * mib}}},
		{"8 MiB + 1", []segment{{data: randBytes(8*mib+1, 2), n: 8*mib + 1}}},
		{"64 MiB", []segment{{data: randBytes(64*mib, 3), n: 64 * mib}}},
		{"1 GiB hole in the middle", []segment{{data: randBytes(3*mib+5, 4), n: 3*mib + 5}, {n: 1 << 30}, {data: randBytes(2*mib+7, 5), n: 2*mib + 7}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := s.NewFileWriter("data", strings.ReplaceAll(tc.name, " ", "_"), nil)
			if err != nil {
				t.Fatal(err)
			}
			var off int64
			for _, sg := range tc.segs {
				if sg.data != nil {
					for p := 0; p < len(sg.data); p += 1 << 20 {
						if _, err := w.WriteAt(sg.data[p:min(p+1<<20, len(sg.data))], off+int64(p)); err != nil {
							t.Fatal(err)
						}
					}
				}
				off += sg.n
			}
			if err := w.Truncate(off); err != nil { // a trailing hole, or nothing
				t.Fatal(err)
			}
			v, err := w.Publish(PublishOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if want := multipartETag(tc.segs, ETagPartSize); v.ETag != want {
				t.Errorf("ETag %s, want %s", v.ETag, want)
			}
			if len(tc.segs) == 3 && w.reread > 3*ETagPartSize {
				t.Errorf("publish read back %d bytes to hash; the hole must cost nothing", w.reread)
			}
			if len(tc.segs) == 1 {
				ws, err := s.NewWriter("data", "s3-"+strings.ReplaceAll(tc.name, " ", "_"), nil)
				if err != nil {
					t.Fatal(err)
				}
				ws.WriteAt(tc.segs[0].data, 0)
				vs, err := ws.Publish(PublishOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if sum := md5.Sum(tc.segs[0].data); vs.ETag != hex.EncodeToString(sum[:]) {
					t.Errorf("S3 writer ETag %s, want the plain MD5 %x", vs.ETag, sum)
				}
			}
		})
	}
	fsckAfterClose(t, s)
}

func fsckAfterClose(t *testing.T, s *Store) {
	t.Helper()
	dir := s.opts.Dir
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fsckClean(t, dir)
}

// TestFileWriterRewritesOnlyTouchedParts: a write at an offset of a large
// file published before rehashes the part it touched, not the file; the
// ETag stays the independently computed multipart MD5. A version without
// part MD5s (an S3 PUT, or a store from before them) is rehashed once.
func TestFileWriterRewritesOnlyTouchedParts(t *testing.T) {
	s := openDataStore(t)
	content := randBytes(64<<20, 7)
	w, err := s.NewWriter("data", "big", nil) // plain writer: no part MD5s
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < len(content); p += 1 << 20 {
		w.WriteAt(content[p:p+1<<20], int64(p))
	}
	v, err := w.Publish(PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	patch := func(v *Version, off int64, b []byte) (*Version, *Writer) {
		t.Helper()
		w, err := s.NewFileWriter("data", "big", v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
		copy(content[off:], b)
		nv, err := w.Publish(PublishOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := multipartETag([]segment{{data: content, n: int64(len(content))}}, ETagPartSize); nv.ETag != want {
			t.Fatalf("ETag after a write at %d: %s, want %s", off, nv.ETag, want)
		}
		return nv, w
	}
	v, w = patch(v, 40<<20, []byte("first patch"))
	if w.reread < int64(len(content))-ETagPartSize {
		t.Errorf("first publish over a version without part MD5s read back %d bytes; want the whole file rehashed", w.reread)
	}
	v, w = patch(v, 20<<20+12345, []byte("second patch"))
	if w.reread > ETagPartSize {
		t.Errorf("a 12-byte write into a 64 MiB file read back %d bytes to hash; want at most one part (%d)", w.reread, ETagPartSize)
	}
	// An append continues the last part's MD5 (64 MiB is 8 full parts, so
	// this starts a ninth).
	end := int64(len(content))
	content = append(content, make([]byte, 10)...)
	v, w = patch(v, end, bytes.Repeat([]byte("a"), 10))
	end = int64(len(content))
	content = append(content, make([]byte, 10)...)
	_, w = patch(v, end, bytes.Repeat([]byte("b"), 10))
	if w.reread > 20 {
		t.Errorf("an append after an append read back %d bytes; want the last part's MD5 continued", w.reread)
	}
	fsckAfterClose(t, s)
}

// TestHugeSizes: sizes and offsets above 5 TiB are ErrFileTooLarge; a
// 4 TiB hole costs a few extents and no hashing.
func TestHugeSizes(t *testing.T) {
	s := openDataStore(t)
	w, err := s.NewFileWriter("data", "sparse", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Truncate(1 << 50); !errors.Is(err, ErrFileTooLarge) {
		t.Fatalf("Truncate(1 PiB) = %v, want ErrFileTooLarge", err)
	}
	if _, err := w.WriteAt([]byte("x"), MaxSize); !errors.Is(err, ErrFileTooLarge) {
		t.Fatalf("WriteAt at 5 TiB = %v, want ErrFileTooLarge", err)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := w.Truncate(4 << 40); err != nil {
		t.Fatal(err)
	}
	if len(w.ext) > 4096 {
		t.Errorf("a 4 TiB hole is %d extents", len(w.ext))
	}
	tail := []byte("the end")
	if _, err := w.WriteAt(tail, 4<<40-int64(len(tail))); err != nil {
		t.Fatal(err)
	}
	v, err := w.Publish(PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w.reread > 2*ETagPartSize {
		t.Errorf("publish of a 4 TiB hole read back %d bytes", w.reread)
	}
	got := readRange(t, s, v, 4<<40-16, 16)
	if want := append(make([]byte, 16-len(tail)), tail...); !bytes.Equal(got, want) {
		t.Errorf("last 16 bytes %q, want %q", got, want)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 256<<20 {
		t.Errorf("a 4 TiB sparse file grew the heap by %d MiB", grew>>20)
	}
	if v.Size != 4<<40 || !strings.HasSuffix(v.ETag, fmt.Sprintf("-%d", (4<<40)/ETagPartSize)) {
		t.Errorf("version size %d ETag %s", v.Size, v.ETag)
	}
	fsckAfterClose(t, s)
}

// firstChunk returns the id of the first data chunk of v.
func firstChunk(t *testing.T, s *Store, v *Version) uint64 {
	t.Helper()
	ext, err := s.extents(v.Seq)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ext {
		if e.id != 0 {
			return e.id
		}
	}
	t.Fatal("no data chunk")
	return 0
}

// TestDamagedChunk: bytes flipped in a stored chunk make every read of it
// fail with ErrDamaged (counted), Reader.Verify refuses before anything
// is served, Scrub and fsck report it; missing chunk data likewise; a
// chunk record from before block CRCs (whole-chunk CRC only) is still
// read and still checked.
func TestDamagedChunk(t *testing.T) {
	s := openDataStore(t)
	content := randBytes(3<<20, 9)
	w, _ := s.NewWriter("data", "obj", nil)
	w.WriteAt(content, 0)
	v, err := w.Publish(PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := firstChunk(t, s, v)
	if got := readRange(t, s, v, 0, 4096); !bytes.Equal(got, content[:4096]) {
		t.Fatal("read before damage differs")
	}
	setData := func(fn func(b []byte) []byte) {
		t.Helper()
		err := s.DB().Update(func(txn *badger.Txn) error {
			item, err := txn.Get(keyData(id))
			if err != nil {
				return err
			}
			b, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if nb := fn(b); nb != nil {
				return txn.Set(keyData(id), nb)
			}
			return txn.Delete(keyData(id))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setData(func(b []byte) []byte { b[100] ^= 0x40; return b })
	read := func(off int64) error {
		r, err := s.NewReader(v)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.ReadAt(make([]byte, 4096), off)
		if err != nil && errors.Is(err, io.EOF) {
			err = nil
		}
		return err
	}
	n0 := s.DamagedReads()
	if err := read(0); !errors.Is(err, ErrDamaged) {
		t.Fatalf("read of a damaged block: %v, want ErrDamaged", err)
	}
	if err := read(1 << 20); err != nil {
		t.Fatalf("read of an intact chunk: %v", err)
	}
	r, _ := s.NewReader(v)
	if err := r.Verify(0, v.Size); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Verify of a range starting in damage: %v", err)
	}
	if got := s.DamagedReads() - n0; got != 2 {
		t.Errorf("DamagedReads counted %d, want 2", got)
	}
	bad, err := s.Scrub(context.Background(), nil)
	if err != nil || len(bad) != 1 || bad[0].ID != id {
		t.Fatalf("Scrub = %v, %v; want chunk %d", bad, err, id)
	}
	users, err := s.ChunkUsers([]uint64{id})
	if err != nil || len(users[id]) != 1 || !strings.Contains(users[id][0], "data/obj") {
		t.Errorf("ChunkUsers = %v, %v", users, err)
	}

	// A chunk record of the old form (no block CRCs) is checked whole.
	setData(func(b []byte) []byte { b[100] ^= 0x40; return b }) // repaired
	err = s.DB().Update(func(txn *badger.Txn) error {
		ref, err := getRef(txn, id)
		if err != nil {
			return err
		}
		ref.Blocks = nil
		return txn.Set(keyRef(id), ref.encode())
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := read(0); err != nil {
		t.Fatalf("read of an old-form chunk: %v", err)
	}
	setData(func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
	if err := read(0); !errors.Is(err, ErrDamaged) {
		t.Fatalf("read of a damaged old-form chunk (damage outside the bytes read): %v, want ErrDamaged", err)
	}

	// Missing data: Verify refuses (the S3 GET's check before headers).
	setData(func([]byte) []byte { return nil })
	r, _ = s.NewReader(v)
	if err := r.Verify(1<<20, 1<<20); err != nil {
		t.Fatalf("Verify of a range that does not need the missing chunk: %v", err)
	}
	if err := r.Verify(0, v.Size); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Verify with chunk data missing: %v, want ErrDamaged", err)
	}
	if bad, err := s.Scrub(context.Background(), nil); err != nil || len(bad) != 1 || bad[0].Reason != "data missing" {
		t.Fatalf("Scrub with chunk data missing = %v, %v", bad, err)
	}
	dir := s.opts.Dir
	s.Close()
	var problems []string
	if _, err := Fsck(dir, func(p Problem) { problems = append(problems, p.String()) }); err != nil || len(problems) == 0 {
		t.Fatalf("fsck found nothing: %v", err)
	}
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var calls int
	if bad, err := ro.Scrub(context.Background(), func(done, total int64) { calls++ }); err != nil || len(bad) != 1 || calls == 0 {
		t.Fatalf("Scrub of a read-only store = %v, %v (progress calls %d)", bad, err, calls)
	}
}

// TestScrubWhileWriting: Scrub on an open store while writers publish and
// versions are permanently deleted reports no damage (chunks freed
// meanwhile are skipped, staged ones are not judged).
func TestScrubWhileWriting(t *testing.T) {
	s := openDataStore(t)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			w, err := s.NewFileWriter("data", fmt.Sprintf("k%d", i%5), nil)
			if err != nil {
				done <- err
				return
			}
			w.WriteAt(randBytes(1<<20+i, uint64(i)), 0)
			v, err := w.Publish(PublishOptions{})
			if err != nil {
				done <- err
				return
			}
			if i%2 == 0 {
				if _, err := s.DeleteVersion("data", v.Key, v.ID, Actor{}); err != nil {
					done <- err
					return
				}
			}
		}
	}()
	for range 5 {
		bad, err := s.Scrub(context.Background(), nil)
		if err != nil || len(bad) > 0 {
			close(stop)
			t.Fatalf("Scrub during writes: %v, %v", bad, err)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestBlockCRCs: the whole-chunk CRC32C combined from the block CRCs is
// the CRC32C of the chunk, and each block CRC is its block's.
func TestBlockCRCs(t *testing.T) {
	for _, n := range []int{0, 1, crcBlock - 1, crcBlock, crcBlock + 1, 2 * crcBlock, 5*crcBlock + 77, 16 * crcBlock} {
		b := randBytes(n, uint64(n))
		blocks, whole := blockCRCs(b)
		if want := crc32.Checksum(b, castagnoli); whole != want {
			t.Errorf("%d bytes: whole CRC %08x, want %08x", n, whole, want)
		}
		if len(blocks) != (n+crcBlock-1)/crcBlock {
			t.Errorf("%d bytes: %d block CRCs", n, len(blocks))
		}
		for i, c := range blocks {
			if want := crc32.Checksum(b[i*crcBlock:min((i+1)*crcBlock, n)], castagnoli); c != want {
				t.Errorf("%d bytes: block %d CRC %08x, want %08x", n, i, c, want)
			}
		}
	}
}
