package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/lockctl"
)

// ChunkSize is the largest piece of object data stored under one key.
const ChunkSize = 1 << 20

// Options configure a Store. The zero value (but for Dir) is usable.
type Options struct {
	Dir string
	// SyncWrites puts every commit on disk before it returns
	// (--sync=always). Otherwise commits are synced by Sync, by the
	// publishers that ask for it, and at least every SyncInterval.
	SyncWrites   bool
	SyncInterval time.Duration // default 1s
	GCInterval   time.Duration // value-log GC period; default 5m; < 0 disables
	MaxRetention time.Duration // default lockctl.DefaultMaxRetention
	// MinFree is the free space kept in reserve in the data directory's
	// file system: changes that add data fail with ErrNoSpace below it.
	// 0 means DefaultMinFree; < 0 disables the check.
	MinFree     int64
	CatchUpRate float64 // compliance clock catch-up; default lockctl.DefaultCatchUpRate
	// MaxMapped bounds the file-backed resident memory of the process:
	// above it, the value-log maps are paged out (see trimMaps), checked
	// every TrimInterval. 0 means DefaultMaxMapped; < 0 disables it.
	MaxMapped    int64
	TrimInterval time.Duration // default 200ms
	// WriteCache is how much of the data written last is left in the
	// page cache (the value-log file being written and the whole files
	// before it that hold that much); older value-log files are written
	// back and dropped from it once (see dropBehind), checked every
	// TrimInterval. 0 means DefaultWriteCache; < 0 leaves the page cache
	// to the kernel alone.
	WriteCache int64
	// MaxStaging bounds the staged chunks held in memory by all Writers
	// together while they wait for their Badger write or their MD5 (1 MiB
	// each); a Writer that stages one more waits for a slot. 0 means
	// DefaultMaxStaging.
	MaxStaging int
	// SysNow and Mono replace the system and monotonic clocks (unit tests
	// of the compliance clock only).
	SysNow func() time.Time
	Mono   func() time.Duration
	// AcceptClock starts on a persisted compliance time that Open would
	// refuse with ErrClock (--accept-clock); the acceptance is audited.
	AcceptClock bool
	Logger      *log.Logger
	// MemTableSize and friends are left to the defaults chosen in
	// badgerOptions unless set (benchmarks compare against raw Badger with
	// the same options).
	Badger func(*badger.Options)
}

// DefaultMaxMapped is the default Options.MaxMapped.
const DefaultMaxMapped = 128 << 20

// DefaultWriteCache is the default Options.WriteCache: a 1 GiB object
// just written reads back from memory.
const DefaultWriteCache = 1 << 30

// DefaultMaxStaging is the default Options.MaxStaging: 64 chunks, 64 MiB,
// eight times what one writer keeps staged, so eight writers at full speed
// never wait for one another.
const DefaultMaxStaging = 64

// Store is the versioned object store over one Badger database.
type Store struct {
	db     *badger.DB
	opts   Options
	logger *log.Logger

	chunkSeq   *badger.Sequence
	versionSeq *badger.Sequence
	uploadSeq  *badger.Sequence

	clockMu sync.Mutex
	clock   lockctl.Clock
	// persistMu guards persisted, the latest compliance time committed (or
	// being committed with an audit record) to the clock record.
	persistMu sync.Mutex
	persisted time.Time

	stop     chan struct{}
	bg       sync.WaitGroup
	closeMu  sync.Mutex
	closed   bool
	reclaimN int
	readOnly bool
	lowSpace atomic.Bool // the last clock persist found the disk nearly full

	// staged counts the chunk bytes written since the last trimMaps, and
	// trimFid is the newest value-log file at that trim (see trimMaps).
	staged  atomic.Int64
	trimFid uint64
	// written counts the chunk bytes ever written (the background loop
	// runs writeBehind and dropBehind when it changed), dropFid is the
	// newest value-log file dropped from the page cache (or written before
	// Open), wbFid the newest value-log file at the last writeBehind
	// (both under cacheMu), vlogFileSize Badger's ValueLogFileSize and
	// vlogDir the absolute data directory with a trailing separator, as
	// /proc/self/maps names its files.
	written      atomic.Int64
	cacheMu      sync.Mutex
	dropFid      uint64
	wbFid        uint64
	vlogFileSize int64
	vlogDir      string
	// vlogGate is read-locked around every commit of this store (commit,
	// deleteStaged): a commit may write the value log, and Badger remaps
	// or unmaps the file it writes when it grows or rotates it. trimMaps
	// write-locks it so that the value-log maps it reads in
	// /proc/self/maps stay where they are while it unmaps their pages.
	vlogGate sync.RWMutex
	// bucketGate is read-locked around every commit (commit) and
	// write-locked by DeleteBucket from before its snapshot to after its
	// commit. DeleteBucket decides "empty" by scanning the bucket's
	// versions and the uploads, and Badger's conflict detection does not
	// see a key inserted into a scanned range: without the gate a version
	// (or upload) committed during that transaction was left behind in a
	// bucket that no longer exists.
	bucketGate sync.RWMutex
	// gcMu serializes value-log GC with trimMaps, and gcFloor is the
	// newest value-log file after the last GC pass: a file GC rewrote is
	// older, and Badger may unmap it at any iterator's Close.
	gcMu    sync.Mutex
	gcFloor uint64

	// staging holds a slot for every staged chunk whose buffer a Writer
	// still holds (see Options.MaxStaging); stagingHeld counts those
	// buffers and stagingPeak is the most held at once (tests).
	staging     chan struct{}
	stagingHeld atomic.Int64
	stagingPeak atomic.Int64

	// chunkWrites counts the Writers' chunk writes in flight; Close waits
	// for them (Badger must not be written while it closes).
	chunkWrites sync.WaitGroup

	damaged atomic.Int64 // chunk reads refused by their check (verify.go)
}

// BadgerOptions returns the Badger options wormfs uses for dir: bounded
// memory on a small machine, and chunk data in the value log (not the LSM
// tree). Exported so benchmarks can run raw Badger with the same options.
func BadgerOptions(dir string) badger.Options {
	o := badger.DefaultOptions(dir)
	o.Logger = nil
	o.ValueThreshold = 4 << 10 // chunk data goes to the value log
	o.MemTableSize = 64 << 20
	o.NumMemtables = 3
	o.NumLevelZeroTables = 5
	o.NumLevelZeroTablesStall = 15
	o.BlockCacheSize = 64 << 20
	o.IndexCacheSize = 32 << 20
	o.ValueLogFileSize = 256 << 20
	o.NumCompactors = 2
	o.NumVersionsToKeep = 1
	o.DetectConflicts = true
	o.CompactL0OnClose = false
	o.MetricsEnabled = false
	return o
}

// Open opens (creating when needed) the store in opts.Dir, checks the
// format version, reclaims staged data that was never published and starts
// the background sync, clock and GC loops.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("meta: no data directory")
	}
	if err := prepareDir(opts.Dir); err != nil {
		return nil, err
	}
	if err := checkWholeDir(opts.Dir); err != nil {
		return nil, err
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = time.Second
	}
	if opts.GCInterval == 0 {
		opts.GCInterval = 5 * time.Minute
	}
	if opts.MaxMapped == 0 {
		opts.MaxMapped = DefaultMaxMapped
	}
	if opts.TrimInterval <= 0 {
		opts.TrimInterval = 200 * time.Millisecond
	}
	if opts.WriteCache == 0 {
		opts.WriteCache = DefaultWriteCache
	}
	if opts.MaxStaging <= 0 {
		opts.MaxStaging = DefaultMaxStaging
	}
	if opts.MaxRetention <= 0 {
		opts.MaxRetention = lockctl.DefaultMaxRetention
	}
	if opts.SysNow == nil {
		opts.SysNow = time.Now
	}
	if opts.Mono == nil {
		start := time.Now()
		opts.Mono = func() time.Duration { return time.Since(start) }
	}
	logger := opts.Logger
	if logger == nil {
		logger = log.New(os.Stderr, "wormfs: ", log.LstdFlags)
	}
	if err := removeEmptyValueLogs(opts.Dir, logger); err != nil {
		return nil, err
	}
	bo := BadgerOptions(opts.Dir)
	bo.SyncWrites = opts.SyncWrites
	if opts.Badger != nil {
		opts.Badger(&bo)
	}
	db, err := badger.Open(bo)
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") || strings.Contains(err.Error(), "resource temporarily unavailable") {
			return nil, fmt.Errorf("%w: %s", ErrLocked, opts.Dir)
		}
		return nil, fmt.Errorf("meta: open %s: %w", opts.Dir, err)
	}
	if err := tightenFiles(opts.Dir, logger); err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, opts: opts, logger: logger, stop: make(chan struct{}), staging: make(chan struct{}, opts.MaxStaging)}
	s.vlogFileSize = max(bo.ValueLogFileSize, 1)
	if abs, err := filepath.Abs(opts.Dir); err == nil {
		s.vlogDir = filepath.Clean(abs) + string(filepath.Separator)
	}
	// Files written before this run are not its to drop; the newest is
	// written on.
	s.dropFid = max(newestVlog(opts.Dir), 1) - 1
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	s.bg.Add(1)
	go s.background()
	return s, nil
}

// firstKey returns the first key of the store, if any.
func firstKey(txn *badger.Txn) ([]byte, bool) {
	it := txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	it.Rewind()
	if !it.Valid() {
		return nil, false
	}
	return it.Item().KeyCopy(nil), true
}

func (s *Store) init() error {
	if err := s.checkFormat(); err != nil {
		return err
	}
	var err error
	if s.chunkSeq, err = s.db.GetSequence(keySequence("chunk"), 1000); err != nil {
		return err
	}
	if s.versionSeq, err = s.db.GetSequence(keySequence("version"), 1000); err != nil {
		return err
	}
	if s.uploadSeq, err = s.db.GetSequence(keySequence("upload"), 100); err != nil {
		return err
	}
	// Sequence 0 is never used: version seq 0 and chunk id 0 are reserved.
	for _, q := range []*badger.Sequence{s.chunkSeq, s.versionSeq, s.uploadSeq} {
		if _, err := q.Next(); err != nil {
			return err
		}
	}
	if err := s.initClock(); err != nil {
		return err
	}
	if err := s.checkFloor(); err != nil {
		// Staged data stays invisible; the next open with room reclaims it.
		s.logger.Printf("staged data not reclaimed at this start: %v", err)
		return nil
	}
	n, err := s.reclaimStaged()
	if err != nil {
		return fmt.Errorf("meta: reclaim staged data: %w", err)
	}
	s.reclaimN = n
	return nil
}

// checkFormat checks the format record, or writes it (with the first
// clock record, in one commit) into a store that holds nothing at all. A
// store with records but no format record, or a format record but no clock
// record (which every store has from its first start), is not whole: its
// tables or value log were lost or replaced, and it is refused.
func (s *Store) checkFormat() error {
	return s.commit(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat())
		if errors.Is(err, badger.ErrKeyNotFound) {
			if k, any := firstKey(txn); any {
				return fmt.Errorf("%w: %s has records (the first is %s) but no format record", ErrNotWholeStore, s.opts.Dir, printable(k))
			}
			if err := txn.Set(keyFormat(), binary.BigEndian.AppendUint32(nil, formatVersion)); err != nil {
				return err
			}
			return txn.Set(keyClock(), binary.BigEndian.AppendUint64(nil, uint64(s.opts.SysNow().UnixNano())))
		}
		if err != nil {
			return err
		}
		if _, err := txn.Get(keyClock()); errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: %s has a format record but not the records of a store that was ever opened (no compliance clock): its tables or value log are missing", ErrNotWholeStore, s.opts.Dir)
		} else if err != nil {
			return err
		}
		b, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(b) != 4 {
			return fmt.Errorf("%w: format record", ErrCorrupt)
		}
		if v := binary.BigEndian.Uint32(b); v > formatVersion {
			return fmt.Errorf("%w: format %d, this build reads up to %d", ErrNewerFormat, v, formatVersion)
		}
		return nil
	})
}

// Reclaimed is how many staged chunks were reclaimed at open.
func (s *Store) Reclaimed() int { return s.reclaimN }

// reclaimStaged deletes the data of chunks that were staged but never
// published (a crash or an abandoned writer).
func (s *Store) reclaimStaged() (int, error) {
	var ids []uint64
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pStaged}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ids = append(ids, binary.BigEndian.Uint64(it.Item().Key()[1:]))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(ids), s.deleteStaged(ids)
}

func (s *Store) deleteStaged(ids []uint64) error {
	// A write batch commits in the background as it fills: the gate is
	// held until Flush has waited for every commit.
	s.vlogGate.RLock()
	defer s.vlogGate.RUnlock()
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, id := range ids {
		if err := wb.Delete(keyData(id)); err != nil {
			return err
		}
		if err := wb.Delete(keyStaged(id)); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// Close stops the background loops, persists the compliance clock and
// closes the database.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.readOnly {
		return s.db.Close()
	}
	close(s.stop)
	s.bg.Wait()
	s.chunkWrites.Wait()
	err := s.persistClock()
	for _, q := range []*badger.Sequence{s.chunkSeq, s.versionSeq, s.uploadSeq} {
		if q != nil {
			if e := q.Release(); e != nil && err == nil {
				err = e
			}
		}
	}
	if e := s.db.Close(); e != nil && err == nil {
		err = e
	}
	return err
}

// DB exposes the Badger database (fsck and benchmarks).
func (s *Store) DB() *badger.DB { return s.db }

// Sync puts every commit so far on disk.
func (s *Store) Sync() error { return s.db.Sync() }

// SyncWrites reports whether every commit is synced (--sync=always).
func (s *Store) SyncWrites() bool { return s.opts.SyncWrites }

func (s *Store) background() {
	defer s.bg.Done()
	syncT := time.NewTicker(s.opts.SyncInterval)
	defer syncT.Stop()
	var trimC <-chan time.Time
	if s.opts.MaxMapped > 0 || s.opts.WriteCache > 0 || !s.opts.SyncWrites {
		trimT := time.NewTicker(s.opts.TrimInterval)
		defer trimT.Stop()
		trimC = trimT.C
	}
	var seen int64 // s.written at the last writeBehind and dropBehind
	var gcC <-chan time.Time
	if s.opts.GCInterval > 0 {
		gcT := time.NewTicker(s.opts.GCInterval)
		defer gcT.Stop()
		gcC = gcT.C
	}
	for {
		select {
		case <-s.stop:
			return
		case <-syncT.C:
			s.Now()
			if err := s.persistClock(); err != nil {
				s.logger.Printf("persist compliance clock: %v", err)
			}
			if !s.opts.SyncWrites {
				if err := s.db.Sync(); err != nil {
					s.logger.Printf("sync: %v", err)
				}
			}
		case <-trimC:
			written := s.written.Load()
			var newest uint64
			if written != seen {
				seen, newest = written, newestVlog(s.opts.Dir)
				s.writeBehind(newest)
			}
			if s.opts.MaxMapped > 0 {
				s.trimMaps(s.opts.MaxMapped)
			}
			if newest > 0 {
				s.dropBehind(newest)
			}
		case <-gcC:
			if s.checkSpace(0) == nil { // GC rewrites value-log files
				s.RunGC()
			}
		}
	}
}

// RunGC runs Badger's value-log GC until it has nothing to rewrite and
// returns how many value-log files it rewrote.
func (s *Store) RunGC() int {
	n := 0
	for {
		select {
		case <-s.stop:
			return n
		default:
		}
		if err := s.runValueLogGC(); err != nil {
			if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
				s.logger.Printf("value-log gc: %v", err)
			}
			return n
		}
		n++
	}
}

// runValueLogGC runs one pass of Badger's value-log GC and raises
// gcFloor to the newest value-log file after it: the file the pass
// rewrote (if any) is older than that, and Badger unmaps and deletes it
// at once or, while iterators are open, when the last one closes. So
// trimMaps, which holds gcMu too, never unmaps pages of a file below
// gcFloor (see trimMaps).
func (s *Store) runValueLogGC() error {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	err := s.db.RunValueLogGC(0.5)
	if n := newestVlog(s.opts.Dir); n > s.gcFloor {
		s.gcFloor = n
	}
	return err
}

// newestVlog returns the number of the newest value-log file in dir (0
// when none can be read).
func newestVlog(dir string) uint64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n uint64
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".vlog"); ok {
			if fid, err := strconv.ParseUint(name, 10, 64); err == nil {
				n = max(n, fid)
			}
		}
	}
	return n
}

// commit is Badger's DB.Update with the commit made under vlogGate (the
// function runs outside it, so it may itself commit).
func (s *Store) commit(fn func(txn *badger.Txn) error) error {
	return s.commitGated(fn, false)
}

// commitGated is commit; exclusive holds bucketGate for writing around the
// whole transaction, so no other commit interleaves with it (fn must then
// not commit itself), otherwise it is held for reading around the commit.
func (s *Store) commitGated(fn func(txn *badger.Txn) error, exclusive bool) error {
	if exclusive {
		s.bucketGate.Lock()
		defer s.bucketGate.Unlock()
	}
	if s.db.IsClosed() {
		return badger.ErrDBClosed
	}
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	if err := fn(txn); err != nil {
		return err
	}
	if !exclusive {
		s.bucketGate.RLock()
		defer s.bucketGate.RUnlock()
	}
	s.vlogGate.RLock()
	defer s.vlogGate.RUnlock()
	return txn.Commit()
}

const maxRetries = 64

// update runs fn in a read-write transaction, retrying a bounded number of
// times when Badger reports a conflict.
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	return s.updateGated(fn, false)
}

// updateExclusive is update with no other commit interleaving with fn's
// transaction (see bucketGate).
func (s *Store) updateExclusive(fn func(txn *badger.Txn) error) error {
	return s.updateGated(fn, true)
}

func (s *Store) updateGated(fn func(txn *badger.Txn) error, exclusive bool) error {
	if err := s.checkFloor(); err != nil {
		return err
	}
	for i := 0; i < maxRetries; i++ {
		err := s.commitGated(fn, exclusive)
		if errors.Is(err, badger.ErrConflict) {
			time.Sleep(time.Duration(i+1) * 100 * time.Microsecond)
			continue
		}
		if errors.Is(err, badger.ErrDBClosed) {
			return ErrClosed
		}
		return err
	}
	return ErrConflict
}

func (s *Store) view(fn func(txn *badger.Txn) error) error {
	err := s.db.View(fn)
	if errors.Is(err, badger.ErrDBClosed) {
		return ErrClosed
	}
	return err
}

// GetConfig reads an opaque configuration value (ErrNoSuchKey when absent).
func (s *Store) GetConfig(name string) ([]byte, error) {
	var out []byte
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(keyConfig(name))
		if err != nil {
			return notFound(err, ErrNoSuchKey)
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	return out, err
}

// PutConfig stores an opaque configuration value, synced.
func (s *Store) PutConfig(name string, value []byte) error {
	if err := s.update(func(txn *badger.Txn) error { return txn.Set(keyConfig(name), value) }); err != nil {
		return err
	}
	return s.db.Sync()
}

func getJSON(txn *badger.Txn, key []byte, into any, sentinel error) error {
	item, err := txn.Get(key)
	if err != nil {
		return notFound(err, sentinel)
	}
	return item.Value(func(b []byte) error { return jsonUnmarshal(b, into) })
}
