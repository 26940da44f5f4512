package meta

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Badger memory-maps every value-log file (MAP_SHARED) and writes chunk
// data through the maps, so every page of data written stays mapped in the
// daemon: without a bound, writing ten 1 GiB files leaves 10 GiB in the
// daemon's resident set (clean page-cache pages, reclaimable, but shown by
// ps and charged to a memory cgroup). trimMaps bounds that: after chunk
// data was written, when the file-backed part of the resident set is above
// Options.MaxMapped, it unmaps the pages of the value-log files written
// since the last trim (madvise MADV_DONTNEED). The pages stay in the page
// cache (dirty ones are written back as usual), so a read soon after the
// write finds them there and only maps them again.
//
// MADV_DONTNEED on a range that is no longer the value-log map would zero
// whatever was mapped there since, so trimMaps makes sure none moves while
// it runs: it holds vlogGate (no commit, so no value-log write, growth or
// rotation — Badger remaps or unmaps the file it writes only then) and
// gcMu (no GC pass), and it leaves alone the files GC may have rewritten
// (below gcFloor), which Badger unmaps when an iterator closes: those are
// paged out with MADV_PAGEOUT instead, which never discards anything (it
// also drops the pages from the page cache, so the next read comes from
// the disk). Badger's own sequence leases commit outside the gate; their
// 8-byte values never reach the value log, so they never grow or rotate
// it. (This is Badger v4.9.6: value-log maps move in valueLog.write,
// which only commits reach, in GC, at iterator Close after GC, and at
// Close; re-check on an upgrade: TestTrimGateKnowsThisBadger fails on any
// other version in go.mod. TestTrimUnderConcurrentRotationAndGC
// runs trims through all of them.)
//
// Data written stays in the page cache up to Options.WriteCache; older
// value-log files are dropped from it (dropBehind).
//
// Files that were not written since the last trim are left alone: their
// resident pages are there because they were read, and unmapping them
// would cost the next read of hot data its page faults again.

// trimGateBadger is the Badger version whose source the gate above was
// checked against; TestTrimGateKnowsThisBadger fails on any other.
const trimGateBadger = "v4.9.6"

const madvPageout = 21 // MADV_PAGEOUT, Linux ≥ 5.4

// fileRSS returns the file-backed resident bytes of this process (the
// "shared" field of /proc/self/statm: file pages and shared memory).
func fileRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, syscall.EINVAL
	}
	pages, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return 0, err
	}
	return pages * int64(os.Getpagesize()), nil
}

const madvDontneed = 4 // MADV_DONTNEED

// vlogSpan is one value-log file's map in /proc/self/maps.
type vlogSpan struct {
	start, end uintptr
	fid        uint64
	shared     bool
}

// vlogSpans reads the maps of the value-log files in dir from
// /proc/self/maps and returns them with the newest file's number.
func vlogSpans(dir string) ([]vlogSpan, uint64, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var spans []vlogSpan
	var newest uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := bytes.Fields(sc.Bytes())
		if len(fields) < 6 {
			continue
		}
		path := string(bytes.Join(fields[5:], []byte(" ")))
		// Only this store's files: another store's directory may lie
		// below this one, and its maps move without this store's gate.
		name, ok := strings.CutSuffix(path, ".vlog")
		if !ok || filepath.Dir(path)+string(filepath.Separator) != dir {
			continue
		}
		fid, err := strconv.ParseUint(filepath.Base(name), 10, 64)
		if err != nil {
			continue
		}
		a, b, ok := bytes.Cut(fields[0], []byte("-"))
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(string(a), 16, 64)
		end, err2 := strconv.ParseUint(string(b), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		perms := fields[1]
		shared := len(perms) == 4 && perms[3] == 's'
		spans = append(spans, vlogSpan{uintptr(start), uintptr(end), fid, shared})
		newest = max(newest, fid)
	}
	return spans, newest, sc.Err()
}

// trimMaps unmaps the pages of the value-log files written since the last
// trim when chunk data was written since then and the file-backed
// resident set is above limit; it reports whether it did. Only the
// background loop (and tests) call it.
func (s *Store) trimMaps(limit int64) bool {
	if s.staged.Load() == 0 {
		return false
	}
	rss, err := fileRSS()
	if err != nil || rss <= limit {
		return false
	}
	s.staged.Store(0)

	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	s.vlogGate.Lock()
	spans, newest, err := vlogSpans(s.vlogDir)
	if err != nil {
		s.vlogGate.Unlock()
		return false
	}
	// Written since the last trim: the file that was newest then (it was
	// being written) and every newer one.
	var pageout []vlogSpan
	n := 0
	for _, sp := range spans {
		if sp.fid < s.trimFid {
			continue
		}
		n++
		if sp.fid < s.gcFloor || !sp.shared {
			pageout = append(pageout, sp)
			continue
		}
		syscall.Syscall(syscall.SYS_MADVISE, sp.start, sp.end-sp.start, madvDontneed)
	}
	s.vlogGate.Unlock()

	// Errors (a range unmapped meanwhile: ENOMEM; an old kernel: EINVAL)
	// only mean nothing was paged out.
	for _, sp := range pageout {
		syscall.Syscall(syscall.SYS_MADVISE, sp.start, sp.end-sp.start, madvPageout)
	}
	// Dirty pages are unmapped but not freed: they stay in the page
	// cache. So the ranges are written back (MS_SYNC waits; the
	// background sync would write the same pages within SyncInterval
	// anyway) and paged out again. The first pass came before the wait so
	// that clean pages go at once.
	for _, sp := range pageout {
		syscall.Syscall(syscall.SYS_MSYNC, sp.start, sp.end-sp.start, syscall.MS_SYNC)
		syscall.Syscall(syscall.SYS_MADVISE, sp.start, sp.end-sp.start, madvPageout)
	}
	s.trimFid = newest
	return n > 0
}

// dropBehind takes the value-log files that fell out of the write cache
// (all but the files holding the last Options.WriteCache bytes written,
// counted in whole files, and the file being written) out of the page
// cache once: it writes each back
// (fdatasync), pages out what of it is still mapped (MADV_PAGEOUT, which
// never discards anything, wherever the map went) and drops the rest of
// its pages (POSIX_FADV_DONTNEED). A backup or archive target writes far
// more than it reads back; without this its writes would push everything
// else out of the page cache, and on a virtual machine each new page-cache
// page may cost the host a fresh page. newest is the newest value-log
// file. Only the background loop (after chunk data was written) and tests
// call it.
func (s *Store) dropBehind(newest uint64) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.opts.WriteCache < 0 {
		return
	}
	// The newest file is being written and may hold little yet: the
	// files before it hold the rest of the last WriteCache bytes.
	keep := uint64((s.opts.WriteCache+s.vlogFileSize-1)/s.vlogFileSize) + 1
	if newest <= keep || newest-keep <= s.dropFid {
		return
	}
	last := newest - keep // the newest file to drop
	spans, _, _ := vlogSpans(s.vlogDir)
	for fid := s.dropFid + 1; fid <= last; fid++ {
		f, err := os.Open(s.vlogPath(fid))
		if err != nil {
			continue // rewritten by GC and deleted, or never there
		}
		if unix.Fdatasync(int(f.Fd())) == nil {
			for _, sp := range spans {
				if sp.fid == fid {
					syscall.Syscall(syscall.SYS_MADVISE, sp.start, sp.end-sp.start, madvPageout)
				}
			}
			unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		}
		f.Close()
	}
	s.dropFid = last
}

// writeBehind starts writing back the value-log files written since its
// last call (newest is the newest value-log file) (sync_file_range SYNC_FILE_RANGE_WRITE queues their dirty pages
// for the disk and returns), so that chunk data goes to the disk while more
// is written. Badger's own syncs (the background sync every SyncInterval,
// and the msync of a value-log file it finishes, in its write path) hold
// the file's lock while they write; without this they would find up to a
// whole file's worth of dirty pages and stall the writes behind them.
// Only the background loop (after chunk data was written) and tests call
// it.
func (s *Store) writeBehind(newest uint64) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	for fid := max(s.wbFid, 1); fid <= newest; fid++ {
		f, err := os.Open(s.vlogPath(fid))
		if err != nil {
			continue
		}
		unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
		f.Close()
	}
	s.wbFid = newest
}

// vlogPath is the path of value-log file fid (Badger's naming).
func (s *Store) vlogPath(fid uint64) string {
	return filepath.Join(s.opts.Dir, fmt.Sprintf("%06d.vlog", fid))
}
