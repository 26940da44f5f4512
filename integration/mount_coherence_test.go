package integration

import (
	"bytes"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
)

// coherenceBound is the attribute timeout (1 s) plus scheduling slack.
const coherenceBound = 1500 * time.Millisecond

// putDirect publishes a version straight through the store, as the S3
// listener does.
func (e *mountEnv) putDirect(bucket, key, body string) *meta.Version {
	e.t.Helper()
	w, err := e.store.NewWriter(bucket, key, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer w.Abort()
	w.MarkDirty()
	if _, err := w.WriteAt([]byte(body), 0); err != nil {
		e.t.Fatal(err)
	}
	v, err := w.Publish(meta.PublishOptions{Sync: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// TestMountCoherence: changes made through the store by another path show
// in the mount within the attribute timeout, also after the mount cached
// the old bytes, to every open made after the change; a descriptor opened
// before keeps reading the version it opened.
func TestMountCoherence(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("coh")
	f := b + "/f"
	if err := os.WriteFile(f, []byte("old bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	buf := make([]byte, 64)
	if n, _ := fd.ReadAt(buf, 0); string(buf[:n]) != "old bytes" {
		t.Fatalf("first read %q", buf[:n])
	}
	if got, _ := os.ReadFile(f); string(got) != "old bytes" {
		t.Fatalf("cached read %q", got)
	}

	e.putDirect("coh", "f", "NEW bytes, longer")
	start := time.Now()
	mWaitFor(t, "new bytes by a new open", coherenceBound, func() bool {
		got, _ := os.ReadFile(f)
		return string(got) == "NEW bytes, longer"
	})
	t.Logf("new content visible by open after %v", time.Since(start))
	// Close-to-open (SPEC §3, a version is immutable): the descriptor
	// opened before the change keeps reading the version it opened, whole.
	time.Sleep(coherenceBound)
	if n, _ := fd.ReadAt(buf, 0); string(buf[:n]) != "old bytes" {
		t.Fatalf("the descriptor opened before the change reads %q, want the old version %q", buf[:n], "old bytes")
	}

	// Same size, so only the version (mtime) tells the change.
	e.putDirect("coh", "f", "SAME size, again!")
	mWaitFor(t, "a same-size change", coherenceBound, func() bool {
		got, _ := os.ReadFile(f)
		return string(got) == "SAME size, again!"
	})

	// A new key shows in the listing and by name; a delete hides it.
	if _, err := os.ReadDir(b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b + "/fresh"); !os.IsNotExist(err) {
		t.Fatalf("fresh before put: %v", err)
	}
	e.putDirect("coh", "dir/fresh", "hi")
	e.putDirect("coh", "fresh", "hello")
	mWaitFor(t, "a new key by name", coherenceBound, func() bool {
		got, err := os.ReadFile(b + "/fresh")
		return err == nil && string(got) == "hello"
	})
	mWaitFor(t, "a new directory in the listing", coherenceBound, func() bool {
		ents, _ := os.ReadDir(b)
		for _, d := range ents {
			if d.Name() == "dir" && d.IsDir() {
				return true
			}
		}
		return false
	})
	if _, err := e.store.Delete("coh", "fresh", meta.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	mWaitFor(t, "a deleted key to vanish", coherenceBound, func() bool {
		_, err := os.Stat(b + "/fresh")
		return os.IsNotExist(err)
	})

	// A lock set over the store shows in the attributes.
	v, _ := e.store.Get("coh", "f", "")
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if _, err := e.store.SetRetention("coh", "f", v.ID, lockctl.Retention{Mode: lockctl.ModeGovernance, Until: until}, meta.Actor{}); err != nil {
		t.Fatal(err)
	}
	mWaitFor(t, "retention set over the store", coherenceBound, func() bool {
		got, _ := getx(f, "user.s3.retention")
		return got == "GOVERNANCE "+until.Format(time.RFC3339)
	})
}

// TestMountWriteAfterExternalChange: an open file written after a change
// made over the store starts from the new version (the change is not
// overwritten with older content).
func TestMountWriteAfterExternalChange(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("ext")
	fd, err := os.OpenFile(b+"/w", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	fd.WriteAt([]byte("mount1"), 0)
	if err := fd.Sync(); err != nil {
		t.Fatal(err)
	}
	e.putDirect("ext", "w", "s3 version here")
	time.Sleep(coherenceBound)
	if _, err := fd.WriteAt([]byte("M"), 0); err != nil {
		t.Fatal(err)
	}
	if err := fd.Sync(); err != nil {
		t.Fatal(err)
	}
	got := e.shape("ext", "w")
	if !mEqualShape(got, []string{"M3 version here", "s3 version here", "mount1"}) {
		t.Fatalf("versions = %q", got)
	}
}

// TestMountLargeFileBoundedMemory writes a file far larger than the
// writer's buffers and checks the heap stays bounded: the write path
// stages into the store, never buffering the whole file.
func TestMountLargeFileBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	e := testMount(t)
	b := e.mkbucket("large")
	const size = 256 << 20
	f, err := os.Create(b + "/big")
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0xab}, 1<<20)
	runtime.GC()
	base := heapInuse()
	var peak uint64
	for off := 0; off < size; off += len(chunk) {
		chunk[0] = byte(off >> 20)
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if off%(32<<20) == 0 {
			runtime.GC() // live memory, not garbage
			h := heapInuse()
			if h > peak {
				peak = h
			}
			t.Logf("at %d MiB: heap %d MiB", off>>20, h>>20)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("live heap before %d MiB, peak while writing %d MiB: %d MiB", base>>20, size>>20, peak>>20)
	if peak > base+32<<20 {
		t.Fatalf("heap grew from %d to %d MiB writing a %d MiB file", base>>20, peak>>20, size>>20)
	}
	vs := e.versions("large", "big")
	if len(vs) != 1 || vs[0].Size != size {
		t.Fatalf("versions %d, size %d", len(vs), vs[0].Size)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(b+"/big", &st); err != nil || st.Size != size {
		t.Fatalf("stat size %d, %v", st.Size, err)
	}
	r, _ := os.Open(b + "/big")
	defer r.Close()
	one := make([]byte, 1)
	for _, mib := range []int{0, 77, 255} {
		r.ReadAt(one, int64(mib)<<20)
		if one[0] != byte(mib) {
			t.Fatalf("byte at %d MiB = %d", mib, one[0])
		}
	}
}

func heapInuse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMountPageCache: opens that keep the kernel page cache never show
// stale bytes: not after a write through the mount, not after a same-size
// change through the store, not after a truncate.
func TestMountPageCache(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("pcache")
	f := b + "/p"
	read := func() string {
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		return string(got)
	}
	os.WriteFile(f, []byte("first version"), 0o644)
	for i := 0; i < 3; i++ {
		if got := read(); got != "first version" {
			t.Fatalf("read %d = %q", i, got)
		}
	}
	os.WriteFile(f, []byte("SECOND VERSION"), 0o644)
	if got := read(); got != "SECOND VERSION" {
		t.Fatalf("after a write through the mount: %q", got)
	}
	read()
	e.putDirect("pcache", "p", "third  version")
	mWaitFor(t, "a same-size store change through cached pages", coherenceBound, func() bool {
		return read() == "third  version"
	})
	read()
	if err := os.Truncate(f, 5); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "third" {
		t.Fatalf("after truncate: %q", got)
	}
	if got := e.shape("pcache", "p"); !mEqualShape(got, []string{"third", "third  version", "SECOND VERSION", "first version"}) {
		t.Fatalf("versions = %q", got)
	}
}
