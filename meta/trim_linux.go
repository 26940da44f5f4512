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

// Badger memory-maps every value-log file and reads and writes chunk data
// through the maps, so every page of data written or read stays mapped in
// the daemon: without a bound, writing ten 1 GiB files leaves 10 GiB in
// the daemon's resident set (clean page-cache pages, reclaimable, but
// shown by ps and charged to a memory cgroup). trimMaps bounds that: when
// the file-backed part of the resident set passes Options.MaxMapped it
// asks the kernel to page out the value-log maps (madvise MADV_PAGEOUT).
// Data is never lost: dirty pages are unmapped and written back as usual,
// clean ones are dropped, and the next access faults the page in again.
// MADV_PAGEOUT is also harmless if the range was remapped meanwhile (it
// never discards anonymous memory), which MADV_DONTNEED would not be.

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

// trimMaps pages out the value-log maps of the store when the file-backed
// resident set is above max, and reports whether it did.
func (s *Store) trimMaps(max int64) bool {
	rss, err := fileRSS()
	if err != nil || rss <= max {
		return false
	}
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
	type span struct{ start, end uintptr }
	var spans []span
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		line := sc.Bytes()
		fields := bytes.Fields(line)
		if len(fields) < 6 {
			continue
		}
		path := string(bytes.Join(fields[5:], []byte(" ")))
		if !strings.HasPrefix(path, dir) || !strings.HasSuffix(path, ".vlog") {
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
		spans = append(spans, span{uintptr(start), uintptr(end)})
	}
	for _, sp := range spans {
		// Errors (a range unmapped meanwhile: ENOMEM; an old kernel:
		// EINVAL) only mean nothing was paged out.
		syscall.Syscall(syscall.SYS_MADVISE, sp.start, sp.end-sp.start, madvPageout)
	}
	return len(spans) > 0
}
