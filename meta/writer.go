package meta

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// maxDirty is how many chunk buffers one Writer keeps in memory before it
// stages the oldest to the store. With the staged chunks whose Badger write
// or MD5 is not done yet (at most writeInFlight + hashInFlight), it bounds
// a writer's memory: 12 chunks, 12 MiB. Staged chunks also take a slot of
// the store's bound across writers (Options.MaxStaging), so N writers hold
// at most N × 4 MiB of dirty buffers plus MaxStaging MiB of staged ones.
const maxDirty = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, ChunkSize); return &b }}

// smallBuf is the largest chunk buffer sized to fit (its capacity rounded
// up to a power of two, at least 4 KiB; smallPools) instead of taken from
// bufPool, whose buffers all hold a whole chunk: a writer of a small file
// holds a few KiB, not 1 MiB, so thousands of files open for writing at
// once do not take a GiB each thousand. A buffer that grows past it moves
// to a whole-chunk one.
const smallBuf = 64 << 10

// smallPools[i] keeps small buffers of capacity 4 KiB << i, up to
// smallBuf, for reuse (their content is stale, as bufPool's is).
var smallPools [5]sync.Pool

// newBuf returns a buffer of length n (n ≤ ChunkSize) whose content is
// not cleared.
func newBuf(n int) *[]byte {
	if n > smallBuf {
		bp := bufPool.Get().(*[]byte)
		*bp = (*bp)[:n]
		return bp
	}
	i, c := 0, 4<<10
	for c < n {
		i, c = i+1, c*2
	}
	if bp, ok := smallPools[i].Get().(*[]byte); ok {
		*bp = (*bp)[:n]
		return bp
	}
	b := make([]byte, n, c)
	return &b
}

// resizeBuf sets the length of *bp to n (≤ ChunkSize) keeping its content,
// moving it to a larger buffer when the capacity is short; it returns the
// buffer now holding the content. bp must not be shared (a dirty buffer,
// not one in flight).
func resizeBuf(bp *[]byte, n int) *[]byte {
	if n <= cap(*bp) {
		*bp = (*bp)[:n]
		return bp
	}
	nb := newBuf(n)
	copy(*nb, *bp)
	putBuf(bp)
	return nb
}

// putBuf gives a buffer back to its pool.
func putBuf(bp *[]byte) {
	c := cap(*bp)
	*bp = (*bp)[:0]
	if c == ChunkSize {
		bufPool.Put(bp)
		return
	}
	for i := range smallPools {
		if c == 4<<10<<i {
			smallPools[i].Put(bp)
			return
		}
	}
}

// MaxSize is the largest content size and write end, S3's largest object
// (5 TiB): beyond it writes and truncates fail with ErrFileTooLarge.
const MaxSize = 5 << 40

// maxHole is the longest hole extent: a hole costs one extent per 2 GiB,
// not one per chunk (a 4 TiB hole is 2048 extents, 32 KiB). A write into a
// hole splits the chunk-aligned piece it touches off the hole (splitHole).
const maxHole = 1 << 31

// Writer builds the content of a new version. Writes land in at most
// maxDirty chunk buffers; full or evicted buffers are staged into the store
// as chunks in their own small transactions, never one giant transaction.
// Nothing staged is visible until Publish commits one small transaction
// that references the chunks. A Writer started from a base version shares
// the base's chunks and copies only the chunks that writes touch
// (copy-on-write). A Writer may publish many times (one version per
// publish); Abort (or Close) discards what was staged and not published.
//
// A Writer is not safe for concurrent use; the caller serialises.
type Writer struct {
	s      *Store
	bucket string
	key    string

	ext    []extent
	starts []int64 // starts[i] is the offset of ext[i]
	size   int64
	bufs   map[int]*[]byte // extent index → dirty content
	staged map[uint64]chunkRef
	dirty  bool
	err    error

	// The ETag's hashing (etag.go): the content in parts of partSize
	// bytes; sums are the MD5s of full parts whose content is unchanged,
	// ph the parts being hashed as their chunks are staged (by goroutines
	// counted in hashWG; hashSlots bounds the chunks they hold).
	partSize  int64
	sums      map[int64][16]byte
	ph        map[int64]*partHash
	hashWG    sync.WaitGroup
	hashSlots chan struct{}
	reread    int64 // bytes the last finishHash read back to hash (tests)

	// Staged chunks are written to Badger by goroutines (at most
	// writeInFlight at once), so the caller's next write, the MD5 of the
	// previous chunk and the Badger copy of this one overlap. Until its
	// write is done a chunk's buffer stays in flight (reads are served
	// from it); flush waits for every write and reports the first error,
	// which also fails the next WriteAt.
	flightMu   sync.Mutex
	flight     map[uint64]*[]byte
	flightErr  error
	flightWG   sync.WaitGroup
	writeSlots chan struct{}
}

// writeInFlight bounds the staged chunks a writer has being written to
// Badger at once.
const writeInFlight = 4

// hashInFlight bounds the staged chunks a writer keeps in memory while
// they wait to be hashed.
const hashInFlight = 4

// NewWriter starts a writer for bucket/key whose ETag is the plain MD5 of
// the content (S3 PUT, UploadPart; NewFileWriter for the mount). base,
// when not nil, is the version whose content the writer starts from
// (copy-on-write); otherwise the content starts empty.
func (s *Store) NewWriter(bucket, key string, base *Version) (*Writer, error) {
	return s.newWriter(bucket, key, base, plainPart)
}

func (s *Store) newWriter(bucket, key string, base *Version, partSize int64) (*Writer, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	w := &Writer{s: s, bucket: bucket, key: key, bufs: map[int]*[]byte{}, staged: map[uint64]chunkRef{}, partSize: partSize,
		hashSlots: make(chan struct{}, hashInFlight), flight: map[uint64]*[]byte{}, writeSlots: make(chan struct{}, writeInFlight)}
	if base != nil && !base.DeleteMarker {
		ext, err := s.extents(base.Seq)
		if err != nil {
			return nil, err
		}
		w.setExtents(ext)
		if w.size != base.Size {
			return nil, fmt.Errorf("%w: %s/%s version %s: extents cover %d bytes, record says %d", ErrCorrupt, bucket, base.Key, base.ID, w.size, base.Size)
		}
	}
	if err := w.initHash(base); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) setExtents(ext []extent) {
	w.ext = ext
	w.starts = make([]int64, len(ext))
	var off int64
	for i, e := range ext {
		w.starts[i] = off
		off += int64(e.n)
	}
	w.size = off
}

// Size is the current content size.
func (w *Writer) Size() int64 { return w.size }

// Dirty reports whether anything changed since the writer started or last
// published.
func (w *Writer) Dirty() bool { return w.dirty }

// MarkDirty makes the next Publish create a version even without changes
// (a created file that was never written becomes a 0-byte version).
func (w *Writer) MarkDirty() { w.dirty = true }

// find returns the index of the extent containing off (off < size).
func (w *Writer) find(off int64) int {
	return sort.Search(len(w.starts), func(i int) bool { return w.starts[i] > off }) - 1
}

// load makes extent i a dirty buffer holding its current content.
func (w *Writer) load(i int, needContent bool) (*[]byte, error) {
	if b, ok := w.bufs[i]; ok {
		return b, nil
	}
	if len(w.bufs) >= maxDirty {
		if err := w.evict(i); err != nil {
			return nil, err
		}
	}
	e := w.ext[i]
	bp := newBuf(int(e.n))
	b := *bp
	if e.id == 0 {
		if needContent {
			clear(b)
		}
	} else if needContent {
		if err := w.readExtent(e, 0, b); err != nil {
			putBuf(bp)
			return nil, err
		}
	}
	w.bufs[i] = bp
	return bp, nil
}

// evict stages the buffer with the lowest index other than keep.
func (w *Writer) evict(keep int) error {
	lowest := -1
	for i := range w.bufs {
		if i != keep && (lowest < 0 || i < lowest) {
			lowest = i
		}
	}
	if lowest < 0 {
		return nil
	}
	return w.stage(lowest)
}

// stage turns buffer i into a new staged chunk and points extent i at it;
// the chunk is written to Badger in its own transaction by a goroutine
// (see Writer.flight). A previously staged (unpublished) chunk it replaces
// is deleted.
func (w *Writer) stage(i int) error {
	if err := w.writeErr(); err != nil {
		return err
	}
	bp := w.bufs[i]
	b := *bp
	id, err := w.s.chunkSeq.Next()
	if err != nil {
		return err
	}
	if err := w.s.checkSpace(int64(len(b))); err != nil {
		return err
	}
	blocks, crc := blockCRCs(b)
	ref := chunkRef{Size: uint32(len(b)), CRC: crc, Blocks: blocks}
	old := w.ext[i].id
	if _, mine := w.staged[old]; mine {
		if w.inFlight(old) {
			if err := w.drain(); err != nil {
				return err
			}
		}
		delete(w.staged, old)
		if err := w.s.deleteStaged([]uint64{old}); err != nil {
			return err
		}
	}
	w.staged[id] = ref
	w.ext[i] = extent{id: id, off: 0, n: uint32(len(b))}
	delete(w.bufs, i)
	// Hash the chunk now in the parts whose hashed prefix it continues;
	// finishHash reads what is missing back at publish. The buffer goes
	// back to the pool once the hashes and the write are done with it.
	pieces := w.planParts(b, w.starts[i])
	release := w.s.holdStaging(bp, int32(1+len(pieces)))
	if err := w.queueWrite(id, ref, bp, release); err != nil {
		for range pieces {
			release() // the hashes' shares: nothing is hashed
		}
		w.err = err // extent i names a chunk that was never written
		return err
	}
	for _, pc := range pieces {
		w.queueHash(pc.p, pc.data, pc.final, release)
	}
	return nil
}

// holdStaging takes a slot of the store's bound on staged buffers (waiting
// for one when all are held) for the staged chunk in bp, and returns the
// function that, on its users-th call, gives the buffer back and frees the
// slot.
func (s *Store) holdStaging(bp *[]byte, users int32) func() {
	s.staging <- struct{}{}
	held := s.stagingHeld.Add(1)
	for peak := s.stagingPeak.Load(); held > peak && !s.stagingPeak.CompareAndSwap(peak, held); peak = s.stagingPeak.Load() {
	}
	var n atomic.Int32
	n.Store(users)
	return func() {
		if n.Add(-1) == 0 {
			putBuf(bp)
			s.stagingHeld.Add(-1)
			<-s.staging
		}
	}
}

// queueWrite writes the staged chunk id (content *bp) to Badger in a
// goroutine; until it is written its content is served from bp.
func (w *Writer) queueWrite(id uint64, ref chunkRef, bp *[]byte, release func()) error {
	w.writeSlots <- struct{}{}
	// Registered under closeMu so that Close, which waits for chunk
	// writes, never starts waiting before one it must wait for is counted.
	w.s.closeMu.Lock()
	if w.s.closed {
		w.s.closeMu.Unlock()
		<-w.writeSlots
		release()
		return ErrClosed
	}
	w.s.chunkWrites.Add(1)
	w.s.closeMu.Unlock()
	w.flightMu.Lock()
	w.flight[id] = bp
	w.flightMu.Unlock()
	w.flightWG.Add(1)
	go func() {
		defer w.s.chunkWrites.Done()
		defer w.flightWG.Done()
		b := *bp
		err := w.s.commit(func(txn *badger.Txn) error {
			if err := txn.Set(keyData(id), b); err != nil {
				return err
			}
			return txn.Set(keyStaged(id), ref.encode())
		})
		if err == nil {
			w.s.staged.Add(int64(len(b)))
			w.s.written.Add(int64(len(b)))
		}
		w.flightMu.Lock()
		delete(w.flight, id)
		if err != nil && w.flightErr == nil {
			if errors.Is(err, badger.ErrDBClosed) {
				err = ErrClosed
			}
			w.flightErr = fmt.Errorf("stage chunk: %w", err)
		}
		w.flightMu.Unlock()
		release()
		<-w.writeSlots
	}()
	return nil
}

// inFlight reports whether chunk id is still being written.
func (w *Writer) inFlight(id uint64) bool {
	w.flightMu.Lock()
	defer w.flightMu.Unlock()
	_, ok := w.flight[id]
	return ok
}

// writeErr is the first failed chunk write, if any.
func (w *Writer) writeErr() error {
	w.flightMu.Lock()
	defer w.flightMu.Unlock()
	return w.flightErr
}

// drain waits until every staged chunk is written and returns the first
// write error.
func (w *Writer) drain() error {
	w.flightWG.Wait()
	return w.writeErr()
}

// readExtent reads e like Store.readExtent, from the buffer of a chunk
// whose write is still in flight.
func (w *Writer) readExtent(e extent, in uint32, dst []byte) error {
	if e.id != 0 {
		// The copy is made under flightMu: the write goroutine takes the
		// chunk out of flight under it before it may release the buffer
		// to the pool, so the buffer cannot be reused during the copy.
		w.flightMu.Lock()
		if bp, ok := w.flight[e.id]; ok {
			defer w.flightMu.Unlock()
			return copyExtent(e, in, *bp, dst)
		}
		w.flightMu.Unlock()
	}
	return w.s.readExtent(e, in, dst)
}

// WriteAt writes p at off, growing the content as needed (a gap reads as
// zeros).
func (w *Writer) WriteAt(p []byte, off int64) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset", ErrInvalidRange)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if off >= MaxSize {
		return 0, fmt.Errorf("%w: write at %d, the largest size is %d", ErrFileTooLarge, off, int64(MaxSize))
	}
	if off+int64(len(p)) > MaxSize {
		p = p[:MaxSize-off] // as write(2) does at the size limit: a short write, EFBIG next
	}
	if err := w.writeErr(); err != nil {
		return 0, err
	}
	end := off + int64(len(p))
	w.invalidate(off, min(end, w.size)) // bytes already there change
	if end > w.size {
		if err := w.grow(end); err != nil {
			return 0, err
		}
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		i := w.find(pos)
		if w.ext[i].id == 0 && w.ext[i].n > ChunkSize {
			i = w.splitHole(i, pos)
		}
		e := w.ext[i]
		in := pos - w.starts[i]
		m := int64(e.n) - in
		if m > int64(len(p)-n) {
			m = int64(len(p) - n)
		}
		whole := in == 0 && m == int64(e.n)
		bp, err := w.load(i, !whole)
		if err != nil {
			return n, err
		}
		copy((*bp)[in:], p[n:n+int(m)])
		n += int(m)
	}
	w.dirty = true
	return n, nil
}

// grow extends the content to size with zeros: the last extent, when it is
// a hole, grows as a hole (up to maxHole); when it is a buffer or a chunk
// shorter than a chunk, its buffer grows to a whole chunk; then hole
// extents of up to maxHole follow. No memory or work in proportion to the
// hole.
func (w *Writer) grow(size int64) error {
	if n := len(w.ext); n > 0 {
		i := n - 1
		e := w.ext[i]
		_, buffered := w.bufs[i]
		switch {
		case e.id == 0 && !buffered && e.n < maxHole:
			add := min(int64(maxHole-e.n), size-w.size)
			w.ext[i].n += uint32(add) // a hole grows as a hole
			w.size += add
		case e.n < ChunkSize && (e.id != 0 || buffered):
			// a chunk, or a hole already written to: its buffer grows
			add := min(int64(ChunkSize-e.n), size-w.size)
			bp, err := w.load(i, true)
			if err != nil {
				return err
			}
			old := len(*bp)
			bp = resizeBuf(bp, old+int(add))
			w.bufs[i] = bp
			clear((*bp)[old:])
			w.ext[i].n += uint32(add)
			w.size += add
		}
	}
	for w.size < size {
		n := min(int64(maxHole), size-w.size)
		w.ext = append(w.ext, extent{id: 0, n: uint32(n)})
		w.starts = append(w.starts, w.size)
		w.size += n
	}
	return nil
}

// splitHole splits hole extent i (longer than a chunk, so not a buffer)
// around the chunk-aligned piece holding pos and returns the piece's
// index. Buffers of later extents move with their extents.
func (w *Writer) splitHole(i int, pos int64) int {
	start, e := w.starts[i], w.ext[i]
	end := start + int64(e.n)
	a := max(pos-pos%ChunkSize, start)
	b := min(a+ChunkSize, end)
	var ext []extent
	var starts []int64
	if a > start {
		ext, starts = append(ext, extent{n: uint32(a - start)}), append(starts, start)
	}
	piece := i + len(ext)
	ext, starts = append(ext, extent{n: uint32(b - a)}), append(starts, a)
	if end > b {
		ext, starts = append(ext, extent{n: uint32(end - b)}), append(starts, b)
	}
	if shift := len(ext) - 1; shift > 0 {
		bufs := make(map[int]*[]byte, len(w.bufs))
		for j, bp := range w.bufs {
			if j > i {
				j += shift
			}
			bufs[j] = bp
		}
		w.bufs = bufs
	}
	w.ext = append(w.ext[:i], append(ext, w.ext[i+1:]...)...)
	w.starts = append(w.starts[:i], append(starts, w.starts[i+1:]...)...)
	return piece
}

// Truncate sets the content size: shrinking drops the tail (sharing the
// prefix of a cut chunk), growing adds zeros.
func (w *Writer) Truncate(size int64) error {
	if w.err != nil {
		return w.err
	}
	if size < 0 {
		return fmt.Errorf("%w: negative size", ErrInvalidRange)
	}
	if size > MaxSize {
		return fmt.Errorf("%w: size %d, the largest is %d", ErrFileTooLarge, size, int64(MaxSize))
	}
	if size == w.size {
		w.dirty = true
		return nil
	}
	w.dirty = true
	if size > w.size {
		return w.grow(size)
	}
	w.truncateHash(size)
	keep := 0
	if size > 0 {
		keep = w.find(size-1) + 1
	}
	if err := w.drain(); err != nil { // the chunks dropped below may be in flight
		return err
	}
	var drop []uint64
	for i := keep; i < len(w.ext); i++ {
		if bp, ok := w.bufs[i]; ok {
			putBuf(bp)
			delete(w.bufs, i)
		}
		if _, mine := w.staged[w.ext[i].id]; mine {
			drop = append(drop, w.ext[i].id)
			delete(w.staged, w.ext[i].id)
		}
	}
	w.ext = w.ext[:keep]
	w.starts = w.starts[:keep]
	if keep > 0 {
		i := keep - 1
		n := uint32(size - w.starts[i])
		w.ext[i].n = n
		if bp, ok := w.bufs[i]; ok {
			*bp = (*bp)[:n]
		}
	}
	w.size = size
	if len(drop) > 0 {
		return w.s.deleteStaged(drop)
	}
	return nil
}

// ReadAt reads the writer's current content.
func (w *Writer) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset", ErrInvalidRange)
	}
	if off >= w.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off+int64(n) < w.size {
		pos := off + int64(n)
		i := w.find(pos)
		e := w.ext[i]
		in := pos - w.starts[i]
		m := int64(e.n) - in
		if m > int64(len(p)-n) {
			m = int64(len(p) - n)
		}
		if m <= 0 {
			return n, fmt.Errorf("%w: writer extents do not cover offset %d", ErrCorrupt, pos)
		}
		dst := p[n : n+int(m)]
		if bp, ok := w.bufs[i]; ok {
			copy(dst, (*bp)[in:])
		} else if err := w.readExtent(e, uint32(in), dst); err != nil {
			return n, err
		}
		n += int(m)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// flush stages every dirty buffer and waits until every staged chunk is
// written.
func (w *Writer) flush() error {
	idx := make([]int, 0, len(w.bufs))
	for i := range w.bufs {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		if err := w.stage(i); err != nil {
			w.drain()
			return err
		}
	}
	return w.drain()
}

// Abort discards every chunk staged and not yet published. The writer
// cannot be used afterwards.
func (w *Writer) Abort() error {
	w.waitHash()
	w.drain() // a failed write leaves at most a staged key: deleted below or reclaimed at open
	for i, bp := range w.bufs {
		putBuf(bp)
		delete(w.bufs, i)
	}
	ids := make([]uint64, 0, len(w.staged))
	for id := range w.staged {
		ids = append(ids, id)
	}
	w.staged = map[uint64]chunkRef{}
	w.err = errors.New("writer aborted")
	if len(ids) == 0 {
		return nil
	}
	return w.s.deleteStaged(ids)
}

// readExtent copies len(dst) bytes of e starting at in into dst, checked
// by readChunk.
func (s *Store) readExtent(e extent, in uint32, dst []byte) error {
	if e.id == 0 {
		clear(dst)
		return nil
	}
	return s.view(func(txn *badger.Txn) error {
		return s.readChunk(txn, e.id, nil, int(e.off+in), len(dst), dst)
	})
}

// copyExtent copies len(dst) bytes of extent e from in on out of b, the
// content of its chunk.
func copyExtent(e extent, in uint32, b, dst []byte) error {
	start := int(e.off + in)
	if start+len(dst) > len(b) {
		return fmt.Errorf("%w: chunk %d has %d bytes, extent wants %d", ErrCorrupt, e.id, len(b), start+len(dst))
	}
	copy(dst, b[start:])
	return nil
}

// extents loads the extent list of version seq.
func (s *Store) extents(seq uint64) ([]extent, error) {
	var ext []extent
	err := s.view(func(txn *badger.Txn) (err error) {
		ext, err = getExtents(txn, seq)
		return err
	})
	return ext, err
}

func getExtents(txn *badger.Txn, seq uint64) ([]extent, error) {
	item, err := txn.Get(keyExtents(seq))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil // empty content or delete marker
	}
	if err != nil {
		return nil, err
	}
	var ext []extent
	err = item.Value(func(b []byte) (err error) {
		ext, err = decodeExtents(b)
		return err
	})
	return ext, err
}
