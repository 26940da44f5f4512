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
// last trim when chunk data was written since then and the file-backed
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
	// Written since the last trim: the file that was newest then (it was
	// being written) and every newer one.
	var todo []span
	for _, sp := range spans {
		if sp.fid >= s.trimFid {
			todo = append(todo, sp)
		}
	}
	// Errors (a range unmapped meanwhile: ENOMEM; an old kernel: EINVAL)
	// only mean nothing was paged out.
	for _, sp := range todo {
		syscall.Syscall(syscall.SYS_MADVISE, sp.start, sp.end-sp.start, madvPageout)
	}
	// Dirty pages cannot be paged out: they would stay resident until a
	// later trim covers their file, which may never come. So the ranges
	// are written back (MS_SYNC waits; the background sync would write
	// the same pages within SyncInterval anyway) and paged out again. The
	// first pass came before the wait so that clean pages go at once.
	for _, sp := range todo {
		syscall.Syscall(syscall.SYS_MSYNC, sp.start, sp.end-sp.start, syscall.MS_SYNC)
		syscall.Syscall(syscall.SYS_MADVISE, sp.start, sp.end-sp.start, madvPageout)
	}
	s.trimFid = newest
	return len(todo) > 0
}
