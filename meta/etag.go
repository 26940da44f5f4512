package meta

import (
	"crypto/md5"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// ETags of written content. A Writer hashes its content in parts: a file
// written through the mount (NewFileWriter) in parts of ETagPartSize
// bytes, whose ETag, above one part, is the S3 multipart form (the MD5 of
// the parts' binary MD5s, then "-N", as `aws s3 cp` makes for a file
// uploaded with its default 8 MiB parts); a file of at most one part keeps
// the plain MD5 of its content. An S3 PUT or UploadPart (NewWriter) is one
// part of any size: the plain MD5 of the body, which the protocol demands.
//
// Parts are hashed as their chunks are staged, by one chain of goroutines
// per part (a part's bytes in order; the parts side by side, at most
// GOMAXPROCS hashing at once), so hashing overlaps the arrival of later
// bytes. A part that is all hole has a constant MD5 (zeroPartMD5) and is
// never hashed. The MD5s of full parts are kept per version (the 'M' key,
// see keys.go) with the hash state of the last, partial part, so a
// publish after writes into a large file rehashes only the parts the
// writes touched, and an append continues the last part's MD5. A version
// without that record (written before it existed, or over S3) has its
// parts hashed again, once, at the next publish from the mount.

// ETagPartSize is the part size of the ETag of a file written through the
// mount (AWS CLI's default multipart chunk size).
const ETagPartSize = 8 << 20

// plainPart is the part size of a plain-MD5 writer: one part, whatever
// the size.
const plainPart = 1 << 62

// zeroPartMD5 is the MD5 of ETagPartSize zero bytes (TestZeroPartMD5
// checks it).
var zeroPartMD5 = [16]byte{0x96, 0x99, 0x5b, 0x58, 0xd4, 0xcb, 0xf6, 0xaa, 0xa9, 0x04, 0x1b, 0x4f, 0x00, 0xc7, 0xf6, 0xae}

// hashSem bounds the part hashes running at once across every writer.
var hashSem = make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))

// partHash is the running MD5 of one part: the first hashed bytes of the
// part are queued (or written) into h, in order, by a chain of goroutines
// whose newest is tail. ok is false once a write changed bytes already
// hashed (the part is hashed again at publish). final is set when the
// whole part is queued: sum is written by the last goroutine before tail
// closes.
type partHash struct {
	h      hash.Hash
	hashed int64
	ok     bool
	final  bool
	tail   chan struct{}
	sum    [16]byte
}

// NewFileWriter is NewWriter for a file written through the mount: its
// ETag is the multipart form in parts of ETagPartSize above one part.
func (s *Store) NewFileWriter(bucket, key string, base *Version) (*Writer, error) {
	return s.newWriter(bucket, key, base, ETagPartSize)
}

// isPlainETag reports whether etag is a plain MD5 (not "hex-N").
func isPlainETag(etag string) bool { return len(etag) == 32 && !strings.Contains(etag, "-") }

// initHash sets the hash state of a writer starting from base (nil: empty
// content): the part MD5s kept with base, and the running MD5 of its last
// part, when they describe base in this writer's part size.
func (w *Writer) initHash(base *Version) error {
	w.sums = map[int64][16]byte{}
	w.ph = map[int64]*partHash{}
	if base == nil || base.DeleteMarker || w.size == 0 {
		return nil
	}
	if w.size <= w.partSize {
		if isPlainETag(base.ETag) && len(base.HashState) > 0 {
			h := md5.New()
			if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(base.HashState) == nil {
				w.ph[0] = &partHash{h: h, hashed: w.size, ok: true, final: w.size == w.partSize}
				if w.size == w.partSize {
					copy(w.ph[0].sum[:], h.Sum(nil))
				}
			}
		}
		return nil
	}
	var rec []byte
	err := w.s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(keyPartSums(base.Seq))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rec, err = item.ValueCopy(nil)
		return err
	})
	if err != nil || rec == nil {
		return err
	}
	ps, sums, state, err := decodePartSums(rec)
	if err != nil || ps != w.partSize {
		return nil // hashed again at publish
	}
	for _, e := range sums {
		w.sums[e.k] = e.sum
	}
	last := (w.size - 1) / w.partSize
	if l := w.size - last*w.partSize; l < w.partSize && len(state) > 0 {
		h := md5.New()
		if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state) == nil {
			w.ph[last] = &partHash{h: h, hashed: l, ok: true}
		}
	}
	return nil
}

// invalidate forgets what was hashed of bytes [off, end) before they
// change.
func (w *Writer) invalidate(off, end int64) {
	if off >= end {
		return
	}
	for k := off / w.partSize; k*w.partSize < end; k++ {
		delete(w.sums, k)
		if p := w.ph[k]; p != nil && off < k*w.partSize+p.hashed {
			p.ok = false
		}
	}
}

// truncateHash drops what was hashed beyond size.
func (w *Writer) truncateHash(size int64) {
	if size == 0 {
		w.waitHash()
		w.sums = map[int64][16]byte{}
		w.ph = map[int64]*partHash{}
		return
	}
	k := size / w.partSize
	for j := range w.sums {
		if j >= k {
			delete(w.sums, j)
		}
	}
	for j, p := range w.ph {
		switch {
		case j > k || j == k && size == k*w.partSize:
			delete(w.ph, j)
		case j == k && p.hashed > size-k*w.partSize:
			p.ok = false
		}
	}
}

// hashPiece is bytes of a staged chunk to hash into part p.
type hashPiece struct {
	p     *partHash
	data  []byte
	final bool
}

// planParts returns the pieces of b, the content of a chunk staged at
// start, that continue the hashed prefix of their part, and advances those
// prefixes; the caller queues them (queueHash).
func (w *Writer) planParts(b []byte, start int64) []hashPiece {
	end := start + int64(len(b))
	var out []hashPiece
	for k := start / w.partSize; k*w.partSize < end; k++ {
		ps := k * w.partSize
		lo, hi := max(start, ps), min(end, ps+w.partSize)
		p := w.ph[k]
		if p == nil {
			if _, known := w.sums[k]; known || lo != ps {
				continue
			}
			p = &partHash{h: md5.New(), ok: true}
			w.ph[k] = p
		}
		if !p.ok || p.final || ps+p.hashed < lo || ps+p.hashed >= hi {
			continue
		}
		from := ps + p.hashed
		p.hashed = hi - ps
		p.final = p.hashed == w.partSize
		out = append(out, hashPiece{p, b[from-start : hi-start], p.final})
	}
	if len(w.ph) > 64 {
		w.collect(false)
	}
	return out
}

// queueHash hashes data into p after every piece queued before it, then
// calls done (and, when final, stores the part's MD5 in p.sum).
func (w *Writer) queueHash(p *partHash, data []byte, final bool, done func()) {
	w.hashSlots <- struct{}{}
	prev, next, h, slots := p.tail, make(chan struct{}), p.h, w.hashSlots
	p.tail = next
	w.hashWG.Add(1)
	go func() {
		defer w.hashWG.Done()
		if prev != nil {
			<-prev
		}
		hashSem <- struct{}{}
		h.Write(data)
		if final {
			copy(p.sum[:], h.Sum(nil))
		}
		<-hashSem
		done()
		<-slots
		close(next)
	}()
}

// collect turns the parts whose hashing is finished into sums (all of
// them, waiting, when wait is set), so a long sequential write keeps one
// MD5 state per part in flight, not one per part written.
func (w *Writer) collect(wait bool) {
	for k, p := range w.ph {
		if !p.final {
			continue
		}
		if p.tail != nil {
			if wait {
				<-p.tail
			} else {
				select {
				case <-p.tail:
				default:
					continue
				}
			}
		}
		if p.ok {
			w.sums[k] = p.sum
		}
		delete(w.ph, k)
	}
}

// waitHash waits until every queued hash is done.
func (w *Writer) waitHash() {
	w.hashWG.Wait()
	for _, p := range w.ph {
		p.tail = nil
	}
}

// allHole reports whether part k of the current content is all hole.
func (w *Writer) allHole(k int64) bool {
	lo, hi := k*w.partSize, min((k+1)*w.partSize, w.size)
	for i := w.find(lo); i < len(w.ext) && w.starts[i] < hi; i++ {
		if _, buffered := w.bufs[i]; w.ext[i].id != 0 || buffered {
			return false
		}
	}
	return true
}

var zeros = make([]byte, 256<<10)

// hashZeros writes n zero bytes into h.
func hashZeros(h hash.Hash, n int64) {
	for n > 0 {
		m := min(n, int64(len(zeros)))
		h.Write(zeros[:m])
		n -= m
	}
}

// finishHash completes the hash of the content (after flush) and returns
// the ETag, the resumable MD5 state of a single-part content
// (Version.HashState) and the part-MD5 record of a multipart one (nil for
// one part). Parts not known are hashed by reading the content, side by
// side.
func (w *Writer) finishHash() (string, []byte, []byte, error) {
	w.waitHash()
	w.collect(true)
	n := (w.size + w.partSize - 1) / w.partSize
	type job struct {
		k    int64
		p    *partHash
		from int64
	}
	var jobs []job
	var zeroLast *[16]byte
	if s, ok := w.sums[0]; ok && n == 1 && w.size == w.partSize {
		return hex.EncodeToString(s[:]), nil, nil, nil
	}
	for k := int64(0); k < n; k++ {
		l := min(w.partSize, w.size-k*w.partSize)
		if _, ok := w.sums[k]; ok && l == w.partSize {
			continue
		}
		if n > 1 && w.allHole(k) {
			if l < w.partSize {
				h := md5.New()
				hashZeros(h, l)
				var s [16]byte
				copy(s[:], h.Sum(nil))
				zeroLast = &s
			}
			continue
		}
		p := w.ph[k]
		if p == nil || !p.ok || p.hashed > l {
			p = &partHash{h: md5.New(), ok: true}
			w.ph[k] = p
		}
		jobs = append(jobs, job{k, p, p.hashed})
	}
	if n == 0 {
		w.ph[0] = &partHash{h: md5.New(), ok: true}
		jobs = nil
	}
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hashSem <- struct{}{}
			defer func() { <-hashSem }()
			jb := jobs[j]
			l := min(w.partSize, w.size-jb.k*w.partSize)
			buf := make([]byte, min(l-jb.from, 1<<20))
			for off := jb.k*w.partSize + jb.from; off < jb.k*w.partSize+l; {
				m := min(int64(len(buf)), jb.k*w.partSize+l-off)
				if _, err := w.ReadAt(buf[:m], off); err != nil && !errors.Is(err, io.EOF) {
					errs[j] = err
					return
				}
				jb.p.h.Write(buf[:m])
				off += m
			}
			jb.p.hashed = l
		}()
	}
	wg.Wait()
	w.reread = 0
	for _, jb := range jobs {
		w.reread += jb.p.hashed - jb.from
	}
	if err := errors.Join(errs...); err != nil {
		// Parts half hashed are hashed again from their start.
		for _, jb := range jobs {
			delete(w.ph, jb.k)
		}
		return "", nil, nil, err
	}
	if n <= 1 {
		p := w.ph[0]
		state, _ := p.h.(encoding.BinaryMarshaler).MarshalBinary()
		return hex.EncodeToString(p.h.Sum(nil)), state, nil, nil
	}
	for _, jb := range jobs {
		if l := min(w.partSize, w.size-jb.k*w.partSize); l == w.partSize {
			copy(jb.p.sum[:], jb.p.h.Sum(nil))
			w.sums[jb.k] = jb.p.sum
			delete(w.ph, jb.k)
		}
	}
	et := md5.New()
	var state []byte
	for k := int64(0); k < n; k++ {
		if s, ok := w.sums[k]; ok {
			et.Write(s[:])
			continue
		}
		if k == n-1 && zeroLast != nil {
			et.Write(zeroLast[:])
			continue
		}
		if p := w.ph[k]; k == n-1 && p != nil {
			et.Write(p.h.Sum(nil))
			state, _ = p.h.(encoding.BinaryMarshaler).MarshalBinary()
			continue
		}
		et.Write(zeroPartMD5[:]) // a full part that is all hole
	}
	rec := encodePartSums(w.partSize, w.sums, state)
	return hex.EncodeToString(et.Sum(nil)) + "-" + strconv.FormatInt(n, 10), nil, rec, nil
}

type partSum struct {
	k   int64
	sum [16]byte
}

// encodePartSums is the 'M' record: format byte 1, part size (8), count
// (4), count × (part index (8), MD5 (16)) in index order, then the MD5
// state of the last part when it is partial (the rest of the record).
func encodePartSums(partSize int64, sums map[int64][16]byte, state []byte) []byte {
	b := make([]byte, 13, 13+24*len(sums)+len(state))
	b[0] = 1
	binary.BigEndian.PutUint64(b[1:], uint64(partSize))
	binary.BigEndian.PutUint32(b[9:], uint32(len(sums)))
	ks := make([]int64, 0, len(sums))
	for k := range sums {
		ks = append(ks, k)
	}
	sortInt64s(ks)
	for _, k := range ks {
		s := sums[k]
		b = binary.BigEndian.AppendUint64(b, uint64(k))
		b = append(b, s[:]...)
	}
	return append(b, state...)
}

func decodePartSums(b []byte) (int64, []partSum, []byte, error) {
	if len(b) < 13 || b[0] != 1 {
		return 0, nil, nil, fmt.Errorf("%w: part MD5 record", ErrCorrupt)
	}
	ps := int64(binary.BigEndian.Uint64(b[1:]))
	n := int(binary.BigEndian.Uint32(b[9:]))
	if len(b) < 13+24*n || ps <= 0 {
		return 0, nil, nil, fmt.Errorf("%w: part MD5 record", ErrCorrupt)
	}
	out := make([]partSum, n)
	for i := range out {
		p := b[13+24*i:]
		out[i].k = int64(binary.BigEndian.Uint64(p))
		copy(out[i].sum[:], p[8:24])
	}
	return ps, out, b[13+24*n:], nil
}

func sortInt64s(a []int64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// copyPartSums gives version to the part-MD5 record of version from (a
// copy or rename sharing its content).
func copyPartSums(txn *badger.Txn, from, to uint64) error {
	item, err := txn.Get(keyPartSums(from))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	b, err := item.ValueCopy(nil)
	if err != nil {
		return err
	}
	return txn.Set(keyPartSums(to), b)
}

// contentETag computes the ETag of content of size bytes read through
// readAt, in parts of partSize (plainPart: the plain MD5), without hashing
// the parts that hole reports all hole (fsck).
func contentETag(size, partSize int64, hole func(lo, hi int64) bool, readAt func(p []byte, off int64) error) (string, error) {
	n := (size + partSize - 1) / partSize
	buf := make([]byte, 1<<20)
	et := md5.New()
	for k := int64(0); k < max(n, 1); k++ {
		lo, hi := k*partSize, min((k+1)*partSize, size)
		h := md5.New()
		switch {
		case n > 1 && hi-lo == partSize && hole(lo, hi):
			et.Write(zeroPartMD5[:])
			continue
		case hole(lo, hi):
			hashZeros(h, hi-lo)
		default:
			for off := lo; off < hi; {
				m := min(int64(len(buf)), hi-off)
				if err := readAt(buf[:m], off); err != nil {
					return "", err
				}
				h.Write(buf[:m])
				off += m
			}
		}
		if n <= 1 {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		et.Write(h.Sum(nil))
	}
	return hex.EncodeToString(et.Sum(nil)) + "-" + strconv.FormatInt(n, 10), nil
}

// extentsETag computes, inside txn, the ETag of content ext (size bytes)
// in the form of etag: the plain MD5, or the multipart form of a file
// written through the mount (fsck).
func extentsETag(txn *badger.Txn, ext []extent, size int64, etag string) (string, error) {
	starts := make([]int64, len(ext))
	var pos int64
	for i, e := range ext {
		starts[i] = pos
		pos += int64(e.n)
	}
	partSize := int64(plainPart)
	if !isPlainETag(etag) {
		partSize = ETagPartSize
	}
	first := func(off int64) int {
		return max(sort.Search(len(starts), func(i int) bool { return starts[i] > off })-1, 0)
	}
	hole := func(lo, hi int64) bool {
		for i := first(lo); i < len(ext) && starts[i] < hi; i++ {
			if ext[i].id != 0 && starts[i]+int64(ext[i].n) > lo {
				return false
			}
		}
		return true
	}
	readAt := func(p []byte, off int64) error {
		for i := first(off); i < len(ext) && starts[i] < off+int64(len(p)); i++ {
			e := ext[i]
			lo, hi := starts[i], starts[i]+int64(e.n)
			if hi <= off {
				continue
			}
			from, to := max(off, lo), min(off+int64(len(p)), hi)
			dst := p[from-off : to-off]
			if e.id == 0 {
				clear(dst)
				continue
			}
			item, err := txn.Get(keyData(e.id))
			if err != nil {
				return fmt.Errorf("extent uses chunk %d, whose data is missing", e.id)
			}
			if err := item.Value(func(b []byte) error { return copyExtent(e, uint32(from-lo), b, dst) }); err != nil {
				return err
			}
		}
		return nil
	}
	return contentETag(size, partSize, hole, readAt)
}
