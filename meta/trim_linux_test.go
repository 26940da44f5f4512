package meta

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/sys/unix"
)

// TestTrimMapsBoundsResidentValueLog writes 192 MiB through a store (the
// written value-log pages stay mapped, so the file-backed resident set
// grows by about as much), pages the maps out, and checks that the
// resident set shrank back and that every byte still reads back.
func TestTrimMapsBoundsResidentValueLog(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), GCInterval: -1, MaxMapped: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateBucket("trim", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	const size = 192 << 20
	before, err := fileRSS()
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	chunk := bytes.Repeat([]byte("wormfs-trim-"), ChunkSize/12+1)[:ChunkSize]
	w, err := s.NewWriter("trim", "big", nil)
	if err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < size; off += ChunkSize {
		if _, err := w.WriteAt(chunk, off); err != nil {
			t.Fatal(err)
		}
	}
	v, err := w.Publish(PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	grown, _ := fileRSS()
	if grown-before < size/2 {
		t.Skipf("the kernel did not keep the written value log resident (file RSS %d → %d MiB): nothing to trim", before>>20, grown>>20)
	}
	// Nothing synced the pages just written: the trim writes them back
	// before it pages them out (dirty pages would stay resident).
	limit := before + 32<<20
	if !s.trimMaps(limit) {
		t.Fatal("trimMaps found no value-log map to page out")
	}
	after, _ := fileRSS()
	t.Logf("file-backed RSS: %d MiB before, %d MiB after writing %d MiB, %d MiB after the trim", before>>20, grown>>20, size>>20, after>>20)
	if after > limit {
		t.Errorf("after the trim the file-backed RSS is %d MiB above the start (before writing: %d MiB, after: %d MiB)", (after-before)>>20, before>>20, grown>>20)
	}
	r, err := s.NewReader(v)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, ChunkSize)
	for off := int64(0); off < size; off += ChunkSize {
		if _, err := r.ReadAt(got, off); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, chunk) {
			t.Fatalf("chunk at %d differs after the trim", off)
		}
	}
	// Reading wrote nothing: the pages just read stay mapped (and cached)
	// for the next read.
	if s.trimMaps(limit) {
		t.Error("trimMaps paged out the value log although nothing was written since the last trim")
	}
}

// vlogCached returns how many bytes of the value-log file fid in dir are
// in the page cache (mincore over a map of its own) and the file's size.
func vlogCached(t *testing.T, dir string, fid uint64) (cached, size int64) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, fmt.Sprintf("%06d.vlog", fid)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0, 0
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	for _, v := range vec {
		if v&1 != 0 {
			cached += int64(page)
		}
	}
	return cached, fi.Size()
}

func checkObject(t *testing.T, s *Store, v *Version, size int64, chunk []byte) {
	t.Helper()
	r, err := s.NewReader(v)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(chunk))
	for off := int64(0); off < size; off += int64(len(chunk)) {
		if _, err := r.ReadAt(got, off); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, chunk) {
			t.Fatalf("%s: bytes at %d differ", v.Key, off)
		}
	}
}

// TestTrimMapsKeepsWrittenDataCached: the trim unmaps what was written
// (the resident set shrinks) but leaves it in the page cache, so reading
// an object just written does not go to the disk. (The trim used to page
// the maps out with MADV_PAGEOUT, which dropped the pages from the page
// cache too.)
func TestTrimMapsKeepsWrittenDataCached(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, GCInterval: -1, MaxMapped: -1, WriteCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateBucket("trim", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	before, err := fileRSS()
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	const size = 128 << 20
	chunk := bytes.Repeat([]byte("wormfs-cache-"), ChunkSize/13+1)[:ChunkSize]
	v := writeObject(t, s, "trim", "big", size, chunk)
	if grown, _ := fileRSS(); grown-before < size/2 {
		t.Skipf("the kernel did not keep the written value log resident (file RSS %d → %d MiB): nothing to trim", before>>20, grown>>20)
	}
	if !s.trimMaps(before + 16<<20) {
		t.Fatal("trimMaps found no value-log map to unmap")
	}
	after, _ := fileRSS()
	var cached int64
	for fid := uint64(1); fid <= newestVlog(dir); fid++ {
		c, _ := vlogCached(t, dir, fid)
		cached += c
	}
	t.Logf("file-backed RSS %d MiB after the trim (%d MiB before writing); %d MiB of the value log in the page cache", after>>20, before>>20, cached>>20)
	if after > before+16<<20 {
		t.Errorf("the trim left the file-backed RSS %d MiB above the start", (after-before)>>20)
	}
	if cached < size*9/10 {
		t.Errorf("only %d of the %d MiB just written are still in the page cache after the trim", cached>>20, size>>20)
	}
	checkObject(t, s, v, size, chunk)
}

// TestDropBehindKeepsTheWriteCache: with value-log files of 8 MiB and a
// write cache of 16 MiB, writing 96 MiB and trimming the maps leaves the
// file being written and the two before it in the page cache and writes
// back and drops the older ones; every byte still reads back.
func TestDropBehindKeepsTheWriteCache(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, GCInterval: -1, MaxMapped: -1, WriteCache: 16 << 20,
		Badger: func(o *badger.Options) { o.ValueLogFileSize = 8 << 20 }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateBucket("drop", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	first := newestVlog(dir)
	const size = 96 << 20
	chunk := bytes.Repeat([]byte("wormfs-drop-"), ChunkSize/12+1)[:ChunkSize]
	v := writeObject(t, s, "drop", "big", size, chunk)
	// The background loop may have dropped some already; this unmaps what
	// is mapped (mapped pages are never dropped) and drops the rest.
	s.staged.Store(1)
	s.trimMaps(0)
	s.dropBehind(newestVlog(dir))
	newest := newestVlog(dir)
	if newest-first < 8 {
		t.Fatalf("96 MiB went to %d value-log files of 8 MiB", newest-first)
	}
	for fid := first; fid <= newest; fid++ {
		cached, fsize := vlogCached(t, dir, fid)
		t.Logf("%06d.vlog: %d of %d MiB cached", fid, cached>>20, fsize>>20)
		switch {
		case fid+3 <= newest && cached > 1<<20:
			t.Errorf("%06d.vlog (older than the write cache) still has %d MiB in the page cache", fid, cached>>20)
		case fid+3 > newest && fid > first && cached < fsize/2:
			t.Errorf("%06d.vlog (in the write cache) has only %d of %d MiB in the page cache", fid, cached>>20, fsize>>20)
		}
	}
	checkObject(t, s, v, size, chunk)
}

// TestTrimUnderConcurrentRotationAndGC runs the trim as often as it can
// while writers fill and rotate small value-log files, readers iterate and
// GC rewrites and deletes files, so that the trim's unmapping meets every
// remap and unmap Badger does. Every version must read back intact (a
// trim that unmapped a range Badger had moved would zero or crash).
func TestTrimUnderConcurrentRotationAndGC(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, GCInterval: -1, MaxMapped: -1, WriteCache: -1,
		Badger: func(o *badger.Options) { o.ValueLogFileSize = 2 << 20 }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateBucket("rot", BucketOptions{Versioning: VersioningSuspended}, Actor{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	last := map[string]*Version{}
	chunks := map[string][]byte{}
	for i := 0; i < 3; i++ {
		key := fmt.Sprintf("k%d", i)
		chunk := bytes.Repeat([]byte{byte('a' + i)}, ChunkSize/2)
		mu.Lock()
		chunks[key] = chunk
		mu.Unlock()
		wg.Add(1)
		go func() { // overwrite (the null version): garbage for GC
			defer wg.Done()
			for time.Now().Before(deadline) {
				v := writeObject(t, s, "rot", key, 3*ChunkSize/2, chunk)
				mu.Lock()
				last[key] = v
				mu.Unlock()
			}
		}()
	}
	wg.Add(2)
	go func() { // iterators open and close: deferred value-log deletions
		defer wg.Done()
		for time.Now().Before(deadline) {
			if _, err := s.ListVersions("rot", VersionListOptions{}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for time.Now().Before(deadline) {
			s.RunGC()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	trims := 0
	for time.Now().Before(deadline) {
		s.staged.Store(1) // a trim every time, whatever was written
		if s.trimMaps(0) {
			trims++
		}
	}
	wg.Wait()
	t.Logf("%d trims; value-log files up to %06d", trims, newestVlog(dir))
	if trims == 0 {
		t.Fatal("no trim ran")
	}
	for key, v := range last {
		checkObject(t, s, v, 3*ChunkSize/2, chunks[key])
	}
}

// TestTrimGateKnowsThisBadger is a tripwire for a Badger upgrade: the
// trim's MADV_DONTNEED is safe only because of where Badger moves its
// value-log maps, which was read in one version's source (trim_linux.go).
// Another version must be read again before this test is updated. (A test
// binary carries no module versions, so this reads go.mod, which decides
// the version every build of wormfs uses.)
func TestTrimGateKnowsThisBadger(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/dgraph-io/badger/v4"
	var found []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == "//" {
			continue
		}
		if f[0] == "require" || f[0] == "replace" {
			f = f[1:]
		}
		for i, w := range f {
			if w == mod {
				found = append(found, strings.Join(f[i:], " "))
			}
		}
	}
	if len(found) != 1 || found[0] != mod+" "+trimGateBadger {
		t.Fatalf("go.mod has %q, but the trim gate was checked against %s %s only: read where the new version maps, remaps and unmaps value-log files (valueLog.write, GC, iterator Close, Close), check that trimMaps still holds off every one of them (trim_linux.go), then set trimGateBadger", found, mod, trimGateBadger)
	}
}
