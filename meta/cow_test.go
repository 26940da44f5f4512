package meta

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// gibChunk is the content of chunk i of the test objects: distinct per
// chunk, cheap to make and to check.
func gibChunk(buf []byte, i int) []byte {
	gen := rand.NewChaCha8([32]byte{byte(i), byte(i >> 8), 'w', 'o', 'r', 'm'})
	gen.Read(buf[:4096])
	for off := 4096; off < len(buf); off *= 2 {
		copy(buf[off:], buf[:off])
	}
	binary.BigEndian.PutUint64(buf, uint64(i))
	return buf
}

func mustStats(t testing.TB, s *Store) Stats {
	t.Helper()
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// readRange reads [off, off+n) of v.
func readRange(t testing.TB, s *Store, v *Version, off int64, n int) []byte {
	t.Helper()
	r, err := s.NewReader(v)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	got, err := r.ReadAt(b, off)
	if got != n || (err != nil && !errors.Is(err, io.EOF)) {
		t.Fatalf("ReadAt(%d at %d) of %s = %d, %v", n, off, v.ID, got, err)
	}
	return b
}

// TestCoWAppendToGiB: appending 4 KiB to a 1 GiB object makes a new
// version that shares every chunk of the old one: stored data grows by
// the appended bytes, far below 2 MiB (SPEC §3: cost proportional to the
// appended bytes, not the file size).
func TestCoWAppendToGiB(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1 GiB")
	}
	const size = 1 << 30
	s := openTest(t)
	if _, err := s.CreateBucket("cow", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter("cow", "big.bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	buf := make([]byte, ChunkSize)
	for i := 0; i < size/ChunkSize; i++ {
		gibChunk(buf, i)
		h.Write(buf)
		if _, err := w.WriteAt(buf, int64(i)*ChunkSize); err != nil {
			t.Fatal(err)
		}
	}
	v1, err := w.Publish(PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Size != size || v1.ETag != hex.EncodeToString(h.Sum(nil)) {
		t.Fatalf("1 GiB version: size %d etag %s, want %d %x", v1.Size, v1.ETag, size, h.Sum(nil))
	}
	before := mustStats(t, s)

	tail := bytes.Repeat([]byte("append!\n"), 512) // 4 KiB
	w2, err := s.NewWriter("cow", "big.bin", v1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w2.WriteAt(tail, v1.Size); err != nil {
		t.Fatal(err)
	}
	v2, err := w2.Publish(PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after := mustStats(t, s)
	growth := after.StoredBytes - before.StoredBytes
	t.Logf("1 GiB object: %d chunks, %d bytes stored; after a 4 KiB append: %d chunks, %d bytes stored; growth %d bytes",
		before.Chunks, before.StoredBytes, after.Chunks, after.StoredBytes, growth)
	if growth >= 2<<20 {
		t.Fatalf("a 4 KiB append to 1 GiB stored %d more bytes, want < 2 MiB", growth)
	}
	if growth < int64(len(tail)) {
		t.Fatalf("stored bytes grew by %d, less than the %d appended", growth, len(tail))
	}
	if before.StoredBytes < size {
		t.Fatalf("1 GiB object accounts for only %d stored bytes", before.StoredBytes)
	}
	h.Write(tail)
	if v2.Size != size+int64(len(tail)) || v2.ETag != hex.EncodeToString(h.Sum(nil)) {
		t.Fatalf("appended version: size %d etag %s, want %d %x", v2.Size, v2.ETag, size+len(tail), h.Sum(nil))
	}
	// both versions read back: the shared start, the old end, the new end
	for _, c := range []struct {
		name string
		v    *Version
		off  int64
		want []byte
	}{
		{"v1 first chunk", v1, 0, gibChunk(make([]byte, ChunkSize), 0)},
		{"v2 first chunk", v2, 0, gibChunk(make([]byte, ChunkSize), 0)},
		{"v2 last old chunk", v2, size - ChunkSize, gibChunk(make([]byte, ChunkSize), size/ChunkSize-1)},
		{"v2 appended tail", v2, size, tail},
	} {
		if got := readRange(t, s, c.v, c.off, len(c.want)); !bytes.Equal(got, c.want) {
			t.Errorf("%s: content differs", c.name)
		}
	}
	r, _ := s.NewReader(v1)
	if n, err := r.ReadAt(make([]byte, 10), size); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("v1 read at its end = %d, %v; want 0, EOF (v1 must not see the append)", n, err)
	}
}

// TestPermanentDeleteFreesUnsharedChunks: a permanent delete frees exactly
// the chunks that no other version uses; the survivors keep reading right.
func TestPermanentDeleteFreesUnsharedChunks(t *testing.T) {
	const baseSize = 5*ChunkSize + 123
	tests := []struct {
		name       string
		del        string // which version to delete: "base", "cow" or "copy"
		withCopy   bool   // a Copy of the cow version exists too
		freeChunks int
		freeBytes  int64
	}{
		{name: "delete the base: its rewritten chunks go", del: "base", freeChunks: 2, freeBytes: ChunkSize + 123},
		{name: "delete the copy-on-write version: its own chunks go", del: "cow", freeChunks: 2, freeBytes: ChunkSize + 133},
		{name: "delete a version a copy shares: nothing goes", del: "cow", withCopy: true, freeChunks: 0, freeBytes: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			if _, err := s.CreateBucket("del", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
				t.Fatal(err)
			}
			base := make([]byte, baseSize)
			gen := rand.NewChaCha8([32]byte{1})
			gen.Read(base)
			vBase := put(t, s, "del", "obj", base, PublishOptions{})

			// copy-on-write: rewrite 100 bytes inside chunk 2, append 10
			cow := append([]byte(nil), base...)
			w, err := s.NewWriter("del", "obj", vBase)
			if err != nil {
				t.Fatal(err)
			}
			patch := bytes.Repeat([]byte{0xAB}, 100)
			w.WriteAt(patch, 2*ChunkSize+500)
			copy(cow[2*ChunkSize+500:], patch)
			w.WriteAt([]byte("0123456789"), baseSize)
			cow = append(cow, "0123456789"...)
			vCow, err := w.Publish(PublishOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var vCopy *Version
			if tc.withCopy {
				if vCopy, err = s.Copy(vCow, "del", "copy-of-obj", PublishOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			before := mustStats(t, s)
			if want := 8; before.Chunks != want {
				t.Fatalf("before: %d chunks, want %d (6 of the base, 2 rewritten)", before.Chunks, want)
			}
			target := map[string]*Version{"base": vBase, "cow": vCow}[tc.del]
			if _, err := s.DeleteVersion("del", "obj", target.ID, Actor{}); err != nil {
				t.Fatal(err)
			}
			after := mustStats(t, s)
			if got := before.Chunks - after.Chunks; got != tc.freeChunks {
				t.Errorf("freed %d chunks, want %d", got, tc.freeChunks)
			}
			if got := before.StoredBytes - after.StoredBytes; got != tc.freeBytes {
				t.Errorf("freed %d bytes, want %d", got, tc.freeBytes)
			}
			if got := before.References - after.References; got != 6 {
				t.Errorf("dropped %d references, want 6 (one per extent of the deleted version)", got)
			}
			if _, err := s.Get("del", "obj", target.ID); !errors.Is(err, ErrNoSuchVersion) {
				t.Errorf("deleted version still there: %v", err)
			}
			survivors := map[*Version][]byte{}
			switch tc.del {
			case "base":
				survivors[vCow] = cow
			case "cow":
				survivors[vBase] = base
			}
			if vCopy != nil {
				survivors[vCopy] = cow
			}
			for v, want := range survivors {
				if got := readAll(t, s, v); !bytes.Equal(got, want) {
					t.Errorf("surviving version %s/%s reads differently", v.Key, v.ID)
				}
			}
			s.Close()
			fsckClean(t, s.opts.Dir)
		})
	}
}

func fsckClean(t *testing.T, dir string) {
	t.Helper()
	var problems []string
	if _, err := Fsck(dir, func(p Problem) { problems = append(problems, p.String()) }); err != nil || len(problems) > 0 {
		t.Fatalf("fsck: %v\n%s", err, strings.Join(problems, "\n"))
	}
}

// TestValueLogGCKeepsReferencedChunks: value-log GC rewrites value-log
// files that are mostly garbage and never loses a chunk a version still
// references. GC only reclaims after compaction has counted the garbage
// and never touches the active file, so the test uses small value-log
// files, closes the store between writing and deleting (two level-0
// tables), compacts, and insists that GC rewrote something.
func TestValueLogGCKeepsReferencedChunks(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, GCInterval: -1, Badger: func(o *badger.Options) {
		o.ValueLogFileSize = 4 << 20
		o.NumLevelZeroTables = 1
	}}
	reopen := func(s *Store) *Store {
		t.Helper()
		if s != nil {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := reopen(nil)
	if _, err := s.CreateBucket("gcb", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	// 40 objects of 600 KiB; then delete three of every four.
	contents := map[string][]byte{}
	var all []*Version
	for i := 0; i < 40; i++ {
		b := make([]byte, 600<<10)
		rand.NewChaCha8([32]byte{byte(i), 'g', 'c'}).Read(b)
		v := put(t, s, "gcb", fmt.Sprintf("obj/%02d", i), b, PublishOptions{})
		all = append(all, v)
		contents[v.ID] = b
	}
	s = reopen(s)
	var keep []*Version
	for i, v := range all {
		if i%4 == 0 {
			keep = append(keep, v)
			continue
		}
		if _, err := s.DeleteVersion("gcb", v.Key, v.ID, Actor{}); err != nil {
			t.Fatal(err)
		}
	}
	before := mustStats(t, s)
	s = reopen(s)
	defer s.Close()
	if err := s.db.Flatten(1); err != nil { // compaction counts the garbage
		t.Fatal(err)
	}
	rewritten := s.RunGC()
	t.Logf("value-log GC rewrote %d files; %d chunks (%d bytes) referenced", rewritten, before.Chunks, before.StoredBytes)
	if rewritten == 0 {
		// Say what GC saw, so that a failure can be explained.
		var files []string
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && (strings.HasSuffix(e.Name(), ".vlog") || strings.HasSuffix(e.Name(), ".sst")) {
				files = append(files, fmt.Sprintf("%s %d", e.Name(), fi.Size()))
			}
		}
		var tables []string
		for _, ti := range s.db.Tables() {
			tables = append(tables, fmt.Sprintf("L%d:%d keys:%d", ti.Level, ti.ID, ti.KeyCount))
		}
		t.Fatalf("value-log GC rewrote nothing: the test did not exercise it (files: %v; tables: %v)", files, tables)
	}
	if after := mustStats(t, s); after != before {
		t.Errorf("stats after GC %+v, before %+v", after, before)
	}
	for _, v := range keep {
		if got := readAll(t, s, v); !bytes.Equal(got, contents[v.ID]) {
			t.Errorf("%s %s differs after value-log GC", v.Key, v.ID)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fsckClean(t, dir)
}
