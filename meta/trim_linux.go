package meta

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Badger memory-maps every value-log file and writes chunk data through
// the maps, so every page of data written stays mapped in the daemon:
// without a bound, writing ten 1 GiB files leaves 10 GiB in the daemon's
// resident set (clean page-cache pages, reclaimable, but shown by ps and
// charged to a memory cgroup). trimMaps bounds that: after chunk data was
// written, when the file-backed part of the resident set is above
// Options.MaxMapped, it asks the kernel to page out the maps of the
// value-log files written since the last trim (madvise MADV_PAGEOUT).
// Data is never lost: dirty pages are unmapped and written back as usual,
// clean ones are dropped, and the next access reads them in again.
// MADV_PAGEOUT is harmless even if a range was remapped meanwhile (it
// never discards anonymous memory), which MADV_DONTNEED would not be.
//
// Files that were not written since the last trim are left alone: their
// resident pages are there because they were read, and paging them out
// would send the next read of hot data to the disk.

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

// trimMaps pages out the maps of the value-log files written since the
// last trim when chunk data was written since then (or the last trim left
// dirty pages behind) and the file-backed resident set is above limit; it
// reports whether it did. Only the background loop (and tests) call it.
func (s *Store) trimMaps(limit int64) bool {
	if s.staged.Load() == 0 && s.trimRetry == 0 {
		return false
	}
	rss, err := fileRSS()
	if err != nil || rss <= limit {
		s.trimRetry = 0
		return false
	}
	s.staged.Store(0)
	dir, err := filepath.Abs(s.opts.Dir)
	if err != nil {
		return false
	}
	dir = filepath.Clean(dir) + string(filepath.Separator)
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return false
	}
	defer f.Close()
	type span struct {
		start, end uintptr
		fid        uint64
	}
	var spans []span
	var newest uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		line := sc.Bytes()
		fields := bytes.Fields(line)
		if len(fields) < 6 {
			continue
		}
		path := string(bytes.Join(fields[5:], []byte(" ")))
		name, ok := strings.CutSuffix(path, ".vlog")
		if !strings.HasPrefix(path, dir) || !ok {
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
		spans = append(spans, span{uintptr(start), uintptr(end), fid})
		newest = max(newest, fid)
	}
	done := false
	for _, sp := range spans {
		// Written since the last trim: the file that was newest then
		// (it was being written) and every newer one.
		if sp.fid < s.trimFid {
			continue
		}
		// Errors (a range unmapped meanwhile: ENOMEM; an old kernel:
		// EINVAL) only mean nothing was paged out.
		syscall.Syscall(syscall.SYS_MADVISE, sp.start, sp.end-sp.start, madvPageout)
		done = true
	}
	// Dirty pages (not yet synced, or being written back) stay resident
	// through MADV_PAGEOUT. When the trim left the resident set above the
	// limit, the same files are paged out again at the next few checks
	// (the background sync cleans their pages within SyncInterval) before
	// the files are left alone: the rest may be pages that were read.
	if after, err := fileRSS(); err == nil && after > limit && done {
		if s.trimRetry == 0 {
			s.trimRetry = trimRetries
		} else {
			s.trimRetry--
		}
		if s.trimRetry > 0 {
			return done
		}
	} else {
		s.trimRetry = 0
	}
	s.trimFid = newest
	return done
}

// trimRetries is how many more checks page out the same value-log files
// when a trim left the resident set above the limit: 10 × TrimInterval
// (200 ms) covers the background sync (SyncInterval, 1 s).
const trimRetries = 10
