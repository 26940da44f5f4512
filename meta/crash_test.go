package meta

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test: a child process (this test binary, re-executed) opens
// the store and publishes versions in a loop; after each Publish that
// returned it appends "bucket key versionID sha256 size" to a log and
// fsyncs the log. The parent kills the child with SIGKILL at a random
// moment, reopens the store and checks SPEC §3: every logged version is
// present and byte-identical, nothing half-published is visible, staged
// leftovers are reclaimed, and fsck finds nothing wrong.
//
// Most publishes do not ask for Sync: a kill -9 of the process does not
// lose the kernel's page cache, so a commit that Badger handed to the
// kernel survives; the test proves that meta never keeps a returned
// commit only in its own memory.

const (
	envCrashDir  = "WORMFS_CRASH_DIR"
	envCrashLog  = "WORMFS_CRASH_LOG"
	envCrashSeed = "WORMFS_CRASH_SEED"
	crashBucket  = "crash"
	crashKeys    = 8
)

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary 20 times; skipped in -short")
	}
	root := t.TempDir()
	dir, logPath := filepath.Join(root, "store"), filepath.Join(root, "published.log")
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(envCrashSeed); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	// At least 30 rounds; more (up to 80) while fewer than 10 versions were
	// published, as happens on a loaded machine where most kills land
	// while the child is still opening the store.
	const minRounds, maxRounds, minPublished = 30, 80, 10
	totalLogged, totalReclaimed, roundsWithStaged, rounds := 0, 0, 0, 0
	for round := 0; round < minRounds || (totalLogged < minPublished && round < maxRounds); round++ {
		rounds++
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashLog+"="+logPath,
			envCrashSeed+"="+strconv.FormatUint(seed+uint64(round)*1000003, 10))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(50+rng.IntN(651)) * time.Millisecond
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("round %d: kill: %v", round, err)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child did not die of SIGKILL (%v); output:\n%s", round, err, out.String())
		}

		logged, mayMiss, published := readCrashLog(t, logPath)
		s, err := Open(Options{Dir: dir, GCInterval: -1})
		if err != nil {
			t.Fatalf("round %d (killed after %v): reopen: %v", round, delay, err)
		}
		totalReclaimed += s.Reclaimed()
		if s.Reclaimed() > 0 {
			roundsWithStaged++
		}
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.StagedChunks != 0 || st.StagedBytes != 0 {
			t.Errorf("round %d: %d staged chunks (%d bytes) left after reopen", round, st.StagedChunks, st.StagedBytes)
		}
		present := checkCrashStore(t, s, round)
		for id, want := range logged {
			if _, ok := present[id]; mayMiss[id] && !ok {
				continue // deleted; the child died before logging it
			}
			got, ok := present[id]
			if !ok {
				t.Errorf("round %d (killed after %v): published version %s is gone", round, delay, id)
				continue
			}
			if got != want {
				t.Errorf("round %d: version %s reads %s, published %s", round, id, got, want)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		var problems []string
		fst, err := Fsck(dir, func(p Problem) { problems = append(problems, p.String()) })
		if err != nil || len(problems) > 0 {
			t.Fatalf("round %d: fsck: %v\n%s", round, err, strings.Join(problems, "\n"))
		}
		t.Logf("round %2d: killed after %3v; %3d versions published so far, %2d logged ones kept, %2d in store, %2d chunks, %d staged chunks reclaimed at open",
			round, delay, published, len(logged), fst.Versions, fst.Chunks, s.Reclaimed())
		totalLogged = published
		if t.Failed() {
			t.Fatalf("child output:\n%s", out.String())
		}
	}
	if totalLogged < minPublished {
		t.Fatalf("only %d versions were published across %d rounds: the child never got going", totalLogged, rounds)
	}
	t.Logf("%d rounds, %d versions published and logged, %d staged chunks reclaimed at the reopens (in %d rounds)", rounds, totalLogged, totalReclaimed, roundsWithStaged)
}

// crashEntry is what the log says about a version: "sha256 size".
type crashEntry string

// readCrashLog returns the logged versions (bucket/key/id → "sha size")
// and the versions whose permanent delete was started (they may be gone).
func readCrashLog(t *testing.T, path string) (map[string]crashEntry, map[string]bool, int) {
	t.Helper()
	logged, mayMiss := map[string]crashEntry{}, map[string]bool{}
	published := 0
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return logged, mayMiss, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	lines = lines[:len(lines)-1] // the last piece has no newline: not logged
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) == 5:
			logged[f[0]+"/"+f[1]+"/"+f[2]] = crashEntry(f[3] + " " + f[4])
			published++
		case len(f) == 4 && f[0] == "DELETING":
			mayMiss[f[1]+"/"+f[2]+"/"+f[3]] = true
		case len(f) == 4 && f[0] == "DELETED":
			delete(logged, f[1]+"/"+f[2]+"/"+f[3])
		default:
			t.Fatalf("bad log line %q", l)
		}
	}
	return logged, mayMiss, published
}

// checkCrashStore reads every version in the store in full: its size and
// ETag must match its content (nothing half-published), and its current
// index must agree. It returns bucket/key/id → "sha256 size".
func checkCrashStore(t *testing.T, s *Store, round int) map[string]crashEntry {
	t.Helper()
	present := map[string]crashEntry{}
	res, err := s.ListVersions(crashBucket, VersionListOptions{Max: 1 << 20})
	if errors.Is(err, ErrNoSuchBucket) {
		return present
	}
	if err != nil {
		t.Fatalf("round %d: ListVersions: %v", round, err)
	}
	for i, v := range res.Versions {
		if v.DeleteMarker {
			continue
		}
		r, err := s.NewReader(v)
		if err != nil {
			t.Errorf("round %d: %s %s: NewReader: %v", round, v.Key, v.ID, err)
			continue
		}
		b := make([]byte, v.Size)
		if n, err := r.ReadAt(b, 0); n != len(b) || (err != nil && !errors.Is(err, io.EOF)) {
			t.Errorf("round %d: %s %s: read %d of %d bytes: %v", round, v.Key, v.ID, n, v.Size, err)
			continue
		}
		if m := md5.Sum(b); hex.EncodeToString(m[:]) != v.ETag {
			t.Errorf("round %d: %s %s: content MD5 %x, ETag %s (half-published?)", round, v.Key, v.ID, m, v.ETag)
		}
		if res.IsLatest[i] {
			cur, err := s.Get(crashBucket, v.Key, "")
			if err != nil || cur.ID != v.ID {
				t.Errorf("round %d: %s: current is %v (%v), latest listed is %s", round, v.Key, cur, err, v.ID)
			}
		}
		h := sha256.Sum256(b)
		present[crashBucket+"/"+v.Key+"/"+v.ID] = crashEntry(hex.EncodeToString(h[:]) + " " + strconv.Itoa(len(b)))
	}
	return present
}

// TestCrashChild is the child of TestCrash; it does nothing unless run by
// it. It publishes until it is killed.
func TestCrashChild(t *testing.T) {
	dir, logPath := os.Getenv(envCrashDir), os.Getenv(envCrashLog)
	if dir == "" || logPath == "" {
		t.Skip("run by TestCrash only")
	}
	seed, _ := strconv.ParseUint(os.Getenv(envCrashSeed), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 11))
	s, err := Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket(crashBucket, BucketOptions{ObjectLock: true}, Actor{}); err != nil && !errors.Is(err, ErrBucketExists) {
		t.Fatal(err)
	}
	lf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	logLine := func(format string, args ...any) {
		if _, err := fmt.Fprintf(lf, format+"\n", args...); err != nil {
			t.Fatal(err)
		}
		if err := lf.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	var cseed [32]byte
	copy(cseed[:], strconv.FormatUint(seed, 16))
	gen := rand.NewChaCha8(cseed)
	fill := func(n int) []byte {
		b := make([]byte, n)
		gen.Read(b)
		return b
	}
	// A writer left open across iterations, like a file being written
	// while others are published: it has staged (evicted) chunks most of
	// the time, so many kills leave staged data behind.
	var pending *Writer
	var pendingData []byte
	for iter := 0; ; iter++ {
		if pending == nil && iter%4 == 0 {
			if pending, err = s.NewWriter(crashBucket, "pending", nil); err != nil {
				t.Fatal(err)
			}
			pendingData = nil
			for i := 0; i < maxDirty; i++ {
				chunk := fill(ChunkSize)
				if _, err := pending.WriteAt(chunk, int64(len(pendingData))); err != nil {
					t.Fatal(err)
				}
				pendingData = append(pendingData, chunk...)
			}
		}
		if pending != nil {
			chunk := fill(ChunkSize)
			if _, err := pending.WriteAt(chunk, int64(len(pendingData))); err != nil {
				t.Fatal(err)
			}
			pendingData = append(pendingData, chunk...)
			if len(pendingData) >= 8*ChunkSize {
				if rng.IntN(2) == 0 {
					if err := pending.Abort(); err != nil {
						t.Fatal(err)
					}
				} else {
					v, err := pending.Publish(PublishOptions{})
					if err != nil {
						t.Fatal(err)
					}
					h := sha256.Sum256(pendingData)
					logLine("%s %s %s %s %d", crashBucket, "pending", v.ID, hex.EncodeToString(h[:]), len(pendingData))
					logLine("DELETING %s %s %s", crashBucket, "pending", v.ID)
					if _, err := s.DeleteVersion(crashBucket, "pending", v.ID, Actor{}); err != nil {
						t.Fatal(err)
					}
					logLine("DELETED %s %s %s", crashBucket, "pending", v.ID)
				}
				pending = nil
			}
		}
		key := fmt.Sprintf("k/%d", rng.IntN(crashKeys))
		vs, err := s.Versions(crashBucket, key)
		if err != nil {
			t.Fatal(err)
		}
		// keep the store small: at most three versions per key
		if len(vs) > 3 {
			old := vs[len(vs)-1]
			logLine("DELETING %s %s %s", crashBucket, key, old.ID)
			if _, err := s.DeleteVersion(crashBucket, key, old.ID, Actor{}); err != nil {
				t.Fatal(err)
			}
			logLine("DELETED %s %s %s", crashBucket, key, old.ID)
			continue
		}
		var base *Version
		var content []byte
		if cur, err := s.Get(crashBucket, key, ""); err == nil && rng.IntN(3) > 0 {
			// copy-on-write: append, or overwrite somewhere
			base = cur
			r, err := s.NewReader(cur)
			if err != nil {
				t.Fatal(err)
			}
			content = make([]byte, cur.Size)
			if _, err := r.ReadAt(content, 0); err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
		}
		w, err := s.NewWriter(crashBucket, key, base)
		if err != nil {
			t.Fatal(err)
		}
		var size int
		switch p := rng.IntN(10); {
		case p < 4:
			size = rng.IntN(64 << 10)
		case p < 8:
			size = rng.IntN(1 << 20)
		default:
			size = rng.IntN(3 << 20)
		}
		data := fill(size)
		off := len(content) // append
		if base != nil && rng.IntN(3) == 0 {
			off = rng.IntN(len(content) + 1)
		}
		if base != nil && len(content)+len(data) > 3<<20 {
			data = data[:max(0, min(len(data), 3<<20-off))]
		}
		for p := 0; p < len(data); p += 256 << 10 {
			end := min(p+256<<10, len(data))
			if _, err := w.WriteAt(data[p:end], int64(off+p)); err != nil {
				t.Fatal(err)
			}
		}
		if end := off + len(data); end > len(content) {
			content = append(content, make([]byte, end-len(content))...)
		}
		copy(content[off:], data)
		w.MarkDirty()
		v, err := w.Publish(PublishOptions{Sync: rng.IntN(4) == 0})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(content)
		logLine("%s %s %s %s %d", crashBucket, key, v.ID, hex.EncodeToString(h[:]), len(content))
	}
}

// TestReclaimStagedAtOpen: chunks a writer staged and never published
// (the process stopped without Publish or Abort) are invisible and are
// deleted at the next open.
func TestReclaimStagedAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket("bkt", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter("bkt", "left/open", nil)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{7}, ChunkSize)
	for i := 0; i < maxDirty+3; i++ { // more chunks than a writer buffers: some are staged
		if _, err := w.WriteAt(chunk, int64(i)*ChunkSize); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.drain(); err != nil { // the staged chunks' writes are asynchronous
		t.Fatal(err)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.StagedChunks != 3 || st.Chunks != 0 {
		t.Fatalf("stats while writing: %+v, want 3 staged chunks and no referenced one", st)
	}
	if _, err := s.Get("bkt", "left/open", ""); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("unpublished object visible: %v", err)
	}
	if err := s.Close(); err != nil { // no Publish, no Abort
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Reclaimed() != 3 {
		t.Errorf("Reclaimed() = %d, want 3", s.Reclaimed())
	}
	if st, _ := s.Stats(); st.StagedChunks != 0 || st.StagedBytes != 0 || st.Chunks != 0 {
		t.Errorf("stats after reopen: %+v, want nothing staged or stored", st)
	}
	if res, err := s.ListVersions("bkt", VersionListOptions{}); err != nil || len(res.Versions) != 0 {
		t.Errorf("versions after reopen: %v, %v", res, err)
	}
}

// TestOpenAfterKillDuringOpen: a kill -9 between Badger creating a new
// value-log file and writing its header leaves an empty file (found by
// TestCrash). The next open removes it and opens; fsck before that says
// what is wrong instead of failing obscurely; a second process never
// touches the files of a running one.
func TestOpenAfterKillDuringOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket("bkt", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	v := put(t, s, "bkt", "kept", []byte("survives"), PublishOptions{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "000099.vlog") // the newest file, never written
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Fsck(dir, func(Problem) {}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "000099.vlog") {
		t.Errorf("fsck with an empty value-log file: %v, want ErrCorrupt naming the file", err)
	}
	s, err = Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatalf("open after a kill during open: %v", err)
	}
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty value-log file still there: %v", err)
	}
	if got := readAll(t, s, v); string(got) != "survives" {
		t.Errorf("content %q", got)
	}
	// a second process: refused, and the running store's files untouched
	before, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if _, err := Open(Options{Dir: dir, GCInterval: -1}); !errors.Is(err, ErrLocked) {
		t.Errorf("second open: %v, want ErrLocked", err)
	}
	if after, _ := filepath.Glob(filepath.Join(dir, "*.vlog")); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("value-log files changed by a refused open: %v -> %v", before, after)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fsckClean(t, dir)
}
