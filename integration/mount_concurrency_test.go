package integration

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

// ctoPayload is size bytes that name their writer at every 16th byte, so
// a read that mixes two contents or holds a part of one is told apart.
func ctoPayload(tag byte, size int) []byte {
	b := bytes.Repeat([]byte{tag}, size)
	for i := 0; i+8 <= size; i += 4096 {
		copy(b[i:], []byte{'<', tag, tag, tag, tag, tag, tag, '>'})
	}
	return b
}

// readAllAt reads f from offset 0 to its end through ReadAt.
func readAllAt(t *testing.T, f *os.File) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, 128<<10)
	for off := int64(0); ; {
		n, err := f.ReadAt(buf, off)
		out = append(out, buf[:n]...)
		off += int64(n)
		if err == io.EOF || n == 0 {
			return out
		}
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
	}
}

// same reports whether got is want, describing the difference.
func same(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes (starting %q), want %d bytes (starting %q)", what, len(got), got[:min(len(got), 8)], len(want), want[:min(len(want), 8)])
	}
}

// TestMountCloseToOpen: SPEC §3 "a version is immutable once committed;
// readers never see a partially written version" holds for the store (S3,
// the versions view), while the mount shows written bytes to every
// descriptor at once, as a local file system does: a descriptor opened
// before a writer reads what it has written so far; two O_TRUNC writers of
// one file each make one whole version; mmap of a file reads its bytes.
func TestMountCloseToOpen(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("cto")
	path := b + "/f.bin"
	old := ctoPayload('O', 3<<20+17)
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		settle bool // let the version become old enough for the page cache
	}{
		{"reader opened before a writer, file just written", false},
		{"reader opened before a writer, file undisturbed (page cache)", true},
	} {
		t.Run(tc.name, func(t *testing.T) { ctoReaderBeforeWriter(t, e, path, &old, tc.settle) })
	}

	t.Run("two O_TRUNC writers", func(t *testing.T) {
		before := len(e.versions("cto", "f.bin"))
		pa, pb := ctoPayload('A', 2<<20+3), ctoPayload('B', 1<<20+11)
		wa, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		wb, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Interleaved: each writer's O_TRUNC and writes leave the other's
		// content alone (each close publishes one writer's whole content);
		// reads show the content changed last.
		for _, step := range []struct {
			f    *os.File
			data []byte
		}{
			{wa, pa[:1<<20]}, {wb, pb[:4096]}, {wa, pa[1<<20:]}, {wb, pb[4096:]},
		} {
			if _, err := step.f.Write(step.data); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := os.ReadFile(path); err != nil {
			t.Fatal(err)
		} else {
			same(t, "a read while both write", got, pb)
		}
		if err := wa.Close(); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil {
			t.Fatal(err)
		} else {
			same(t, "a read after the first writer closed (the second still writing)", got, pb)
		}
		if v, err := e.store.Get("cto", "f.bin", ""); err != nil {
			t.Fatal(err)
		} else {
			same(t, "the store after the first writer closed", e.content(v), pa)
		}
		if err := wb.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "a read after the second writer closed", got, pb)
		vs := e.versions("cto", "f.bin")
		if len(vs) != before+2 {
			t.Fatalf("%d versions, want %d (one per writer)", len(vs), before+2)
		}
		same(t, "the newest version", e.content(vs[0]), pb)
		same(t, "the version before", e.content(vs[1]), pa)
		old = pb
	})

	t.Run("mmap", func(t *testing.T) {
		// The mmap runs in a child process: a page fault on a file that this
		// very process serves can deadlock with the Go garbage collector
		// (the faulting thread holds its P, the stop-the-world waits for it,
		// and the FUSE server goroutine that would answer the fault cannot
		// run).
		const script = "import mmap,sys\nf=open(sys.argv[1],'rb')\nm=mmap.mmap(f.fileno(),0,access=mmap.ACCESS_READ)\nsys.stdout.buffer.write(m[:])\n"
		check := func(what string) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			m, err := exec.CommandContext(ctx, "python3", "-c", script, path).Output()
			if err != nil {
				t.Fatalf("mmap %s: %v", what, err)
			}
			same(t, "mmap "+what, m, old)
		}
		check("of a file nobody writes")
		w, err := os.OpenFile(path, os.O_WRONLY, 0) // a write handle open: direct I/O
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		check("while a write handle is open")
	})
}

// ctoReaderBeforeWriter: as on a local file system (SPEC §3), a
// descriptor opened before an O_TRUNC writer reads what the writer has
// written so far, while it writes and after it closed, and so does a new
// open; only the store (S3, the versions view) waits for the close, which
// publishes one whole version; the new bytes become *cur.
func ctoReaderBeforeWriter(t *testing.T, e *mountEnv, path string, cur *[]byte, settle bool) {
	if settle {
		time.Sleep(coherenceBound)
	}
	rd, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	before := len(e.versions("cto", "f.bin"))
	head := make([]byte, 4096)
	if _, err := io.ReadFull(rd, head); err != nil || !bytes.Equal(head, (*cur)[:4096]) {
		t.Fatalf("first read: %v", err)
	}

	neu := ctoPayload(byte('M'+len(*cur)%7), len(*cur)/2+5) // smaller: a reader must not be cut at its size
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(neu[:len(neu)/2]); err != nil {
		t.Fatal(err)
	}
	same(t, "the reader opened before, while the writer writes", readAllAt(t, rd), neu[:len(neu)/2])
	if got, err := os.ReadFile(path); err != nil {
		t.Fatal(err)
	} else {
		same(t, "a new open while the writer writes", got, neu[:len(neu)/2])
	}
	if vs := e.versions("cto", "f.bin"); len(vs) != before {
		t.Errorf("%d versions while the writer writes, want %d (nothing published)", len(vs), before)
	}
	if v, err := e.store.Get("cto", "f.bin", ""); err != nil {
		t.Fatal(err)
	} else {
		same(t, "the store's current version while the writer writes", e.content(v), *cur)
	}
	if _, err := w.Write(neu[len(neu)/2:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close of the writer: %v", err)
	}
	same(t, "the reader opened before, after the writer closed", readAllAt(t, rd), neu)
	rest, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	// It read its first 4096 bytes before the writer started; reading on
	// from there it reads the file as it is now.
	same(t, "the reader opened before, reading on sequentially", append(head, rest...), append(append([]byte{}, head...), neu[4096:]...))
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "an open after the writer's close", got, neu)
	if vs := e.versions("cto", "f.bin"); len(vs) != before+1 {
		t.Errorf("%d versions, want %d (one more)", len(vs), before+1)
	}
	*cur = neu
}
