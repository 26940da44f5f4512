package meta

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"

	"github.com/dgraph-io/badger/v4"
)

// Verified reads. Every chunk byte served comes through readChunk, which
// checks the bytes it reads against the CRC32C kept in the chunk's
// accounting record: the block CRCs of the blocks read (chunks written
// since block CRCs exist) or the whole chunk's CRC (older chunks, which
// had only that one). A mismatch, or chunk data missing while its record
// is there, is ErrDamaged: logged, counted (DamagedReads) and never
// served. This is the one place chunk bytes are read from the store, so a
// later chunk store keeps the check by keeping this function.

// DamagedReads is how many chunk reads failed their check since the store
// was opened.
func (s *Store) DamagedReads() int64 { return s.damaged.Load() }

// damagedChunk logs and counts a failed chunk check and returns the error
// the read fails with.
func (s *Store) damagedChunk(id uint64, format string, args ...any) error {
	s.damaged.Add(1)
	reason := fmt.Sprintf(format, args...)
	if s.logger != nil {
		s.logger.Printf("DAMAGED chunk %d: %s (read refused; run wormfs scrub)", id, reason)
	}
	return fmt.Errorf("%w: chunk %d: %s", ErrDamaged, id, reason)
}

// chunkRecord returns the accounting record of chunk id: published (or
// held by a multipart part), else staged by a writer. A chunk with neither
// was freed by a permanent delete that raced with the read: ErrStale.
func chunkRecord(txn *badger.Txn, id uint64) (chunkRef, error) {
	ref, err := getRef(txn, id)
	if !errors.Is(err, ErrStale) {
		return ref, err
	}
	item, serr := txn.Get(keyStaged(id))
	if serr != nil {
		if errors.Is(serr, badger.ErrKeyNotFound) {
			return chunkRef{}, err
		}
		return chunkRef{}, serr
	}
	err = item.Value(func(b []byte) (err error) {
		ref, err = decodeChunkRef(b)
		return err
	})
	return ref, err
}

// readChunk checks bytes [start, start+n) of chunk id against ref (nil:
// looked up) and copies them into dst when dst is not nil (len(dst) == n).
func (s *Store) readChunk(txn *badger.Txn, id uint64, ref *chunkRef, start, n int, dst []byte) error {
	if ref == nil {
		r, err := chunkRecord(txn, id)
		if err != nil {
			return err
		}
		ref = &r
	}
	item, err := txn.Get(keyData(id))
	if err != nil {
		if errors.Is(err, badger.ErrKeyNotFound) {
			return s.damagedChunk(id, "data missing")
		}
		return err
	}
	return item.Value(func(b []byte) error {
		if len(b) != int(ref.Size) {
			return s.damagedChunk(id, "%d bytes stored, %d recorded", len(b), ref.Size)
		}
		if start < 0 || start+n > len(b) {
			return fmt.Errorf("%w: chunk %d has %d bytes, extent wants %d", ErrCorrupt, id, len(b), start+n)
		}
		if bad := checkRange(ref, b, start, n); bad >= 0 {
			return s.damagedChunk(id, "CRC32C mismatch in bytes %d..%d", bad, min(bad+crcBlock, len(b)))
		}
		if dst != nil {
			copy(dst, b[start:start+n])
		}
		return nil
	})
}

// checkRange checks the blocks of b that hold [start, start+n) (the whole
// chunk when ref has no block CRCs) and returns the offset of the first
// block that fails, or -1.
func checkRange(ref *chunkRef, b []byte, start, n int) int {
	if len(ref.Blocks) == 0 {
		if crc32.Checksum(b, castagnoli) != ref.CRC {
			return 0
		}
		return -1
	}
	if n == 0 {
		return -1
	}
	for i := start / crcBlock; i*crcBlock < start+n; i++ {
		lo := i * crcBlock
		if crc32.Checksum(b[lo:min(lo+crcBlock, len(b))], castagnoli) != ref.Blocks[i] {
			return lo
		}
	}
	return -1
}

// checkChunk checks a whole chunk against its record: size, CRC32C and
// block CRCs. It returns the reason of the first mismatch, or "".
func checkChunk(ref chunkRef, b []byte) string {
	if len(b) != int(ref.Size) {
		return fmt.Sprintf("%d bytes stored, %d recorded", len(b), ref.Size)
	}
	if crc32.Checksum(b, castagnoli) != ref.CRC {
		return "CRC32C mismatch"
	}
	if len(ref.Blocks) > 0 {
		if bad := checkRange(&ref, b, 0, len(b)); bad >= 0 {
			return fmt.Sprintf("block CRC32C mismatch at byte %d", bad)
		}
	}
	return ""
}

// Verify checks, before any byte of [off, off+n) is served, that every
// chunk the range needs is there (a metadata lookup each) and that the
// bytes of the first one pass their check: a response can then announce
// success, and a failure later in the stream is a cut connection, never
// wrong bytes (the reads check again).
func (r *Reader) Verify(off, n int64) error {
	if n <= 0 || off >= r.size {
		return nil
	}
	end := min(off+n, r.size)
	return r.s.view(func(txn *badger.Txn) error {
		first := true
		i0 := max(sort.Search(len(r.starts), func(i int) bool { return r.starts[i] > off })-1, 0)
		for i := i0; i < len(r.ext) && r.starts[i] < end; i++ {
			e := r.ext[i]
			lo, hi := r.starts[i], r.starts[i]+int64(e.n)
			if hi <= off || e.id == 0 {
				continue
			}
			if first {
				first = false
				ref, err := chunkRecord(txn, e.id)
				if err != nil {
					return err
				}
				in := max(off, lo) - lo
				m := min(end, hi) - lo - in
				if err := r.s.readChunk(txn, e.id, &ref, int(int64(e.off)+in), int(m), nil); err != nil {
					return err
				}
				continue
			}
			if _, err := txn.Get(keyData(e.id)); err != nil {
				if errors.Is(err, badger.ErrKeyNotFound) {
					return r.s.damagedChunk(e.id, "data missing")
				}
				return err
			}
		}
		return nil
	})
}

// BadChunk is a chunk Scrub found damaged.
type BadChunk struct {
	ID     uint64
	Reason string
}

func (b BadChunk) String() string { return fmt.Sprintf("chunk %d: %s", b.ID, b.Reason) }

// scrubBatch is how many chunks Scrub checks per read transaction: short
// transactions, so a scrub of a large store never pins old versions of
// the records that writers change meanwhile.
const scrubBatch = 64

// Scrub reads every published chunk (and every chunk a multipart part
// holds) and checks it against its accounting record: presence, size,
// CRC32C and block CRCs. progress, when not nil, is called with the bytes
// checked so far and the total. Each damaged chunk is returned (and
// counted in DamagedReads and logged, as a failed read is). Scrub works on
// an open store while it serves (chunks freed meanwhile are skipped) and
// on one opened with OpenReadOnly.
func (s *Store) Scrub(ctx context.Context, progress func(done, total int64)) ([]BadChunk, error) {
	var total int64
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pRef}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := it.Item().Value(func(b []byte) error {
				ref, err := decodeChunkRef(b)
				total += int64(ref.Size)
				return err
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var bad []BadChunk
	var done int64
	next := []byte{pRef}
	for next != nil {
		if err := ctx.Err(); err != nil {
			return bad, err
		}
		err := s.view(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pRef}, PrefetchValues: false})
			defer it.Close()
			n := 0
			for it.Seek(next); it.Valid(); it.Next() {
				if n == scrubBatch {
					next = it.Item().KeyCopy(nil)
					return nil
				}
				n++
				k := it.Item().Key()
				if len(k) != 9 {
					continue
				}
				id := binary.BigEndian.Uint64(k[1:])
				var ref chunkRef
				if err := it.Item().Value(func(b []byte) (err error) {
					ref, err = decodeChunkRef(b)
					return err
				}); err != nil {
					bad = append(bad, BadChunk{ID: id, Reason: err.Error()})
					continue
				}
				done += int64(ref.Size)
				item, err := txn.Get(keyData(id))
				if errors.Is(err, badger.ErrKeyNotFound) {
					bad = append(bad, BadChunk{ID: id, Reason: "data missing"})
					s.damaged.Add(1)
					continue
				}
				if err != nil {
					return err
				}
				if err := item.Value(func(b []byte) error {
					if why := checkChunk(ref, b); why != "" {
						bad = append(bad, BadChunk{ID: id, Reason: why})
						s.damaged.Add(1)
					}
					return nil
				}); err != nil {
					return err
				}
			}
			next = nil
			return nil
		})
		if err != nil {
			return bad, err
		}
		if progress != nil {
			progress(min(done, total), total)
		}
	}
	for _, b := range bad {
		if s.logger != nil {
			s.logger.Printf("scrub: DAMAGED %s", b)
		}
	}
	return bad, nil
}

// ChunkUsers returns, for each chunk id in ids, the versions whose
// extents use it ("bucket/key version ID"), for a scrub report.
func (s *Store) ChunkUsers(ids []uint64) (map[uint64][]string, error) {
	want := map[uint64]bool{}
	for _, id := range ids {
		want[id] = true
	}
	out := map[uint64][]string{}
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pVersion}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			body := k[1:]
			i := indexByte(body, 0)
			if i < 0 {
				continue
			}
			v, err := itemVersion(string(body[:i]), it.Item())
			if err != nil || v.DeleteMarker {
				continue
			}
			ext, err := getExtents(txn, v.Seq)
			if err != nil {
				continue
			}
			seen := map[uint64]bool{}
			for _, e := range ext {
				if want[e.id] && !seen[e.id] {
					seen[e.id] = true
					out[e.id] = append(out[e.id], fmt.Sprintf("%s/%s version %s", v.Bucket, v.Key, v.ID))
				}
			}
		}
		return nil
	})
	return out, err
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
