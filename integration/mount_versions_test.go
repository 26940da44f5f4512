package integration

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wormfs/wormfs/meta"
)

// TestMountVersionTable checks each row of SPEC §3 that a shell command
// exercises: the command runs in the mount, then the store's version list
// of the key shows exactly what the row promises.
func TestMountVersionTable(t *testing.T) {
	e := testMount(t)
	e.mkbucket("tbl")
	cases := []struct {
		name   string
		script string
		key    string
		want   []string // version contents, newest first; "DM" is a delete marker
	}{
		{"create write close", "echo a > tbl/c1", "c1", []string{"a\n"}},
		{"overwrite twice then rm: two versions and a marker, old bytes intact",
			"echo a > tbl/c2; echo b > tbl/c2; rm tbl/c2", "c2", []string{"DM", "b\n", "a\n"}},
		{"shell redirection publishes nothing for its early flush", "sh -c 'echo one' > tbl/c3", "c3", []string{"one\n"}},
		{"append", "echo a > tbl/c4; echo b >> tbl/c4", "c4", []string{"a\nb\n", "a\n"}},
		{"O_TRUNC without data is a 0-byte version", "echo abc > tbl/c5; : > tbl/c5", "c5", []string{"", "abc\n"}},
		{"truncate(1) is a new version with the new size", "printf abcdef > tbl/c6; truncate -s 2 tbl/c6", "c6", []string{"ab", "abcdef"}},
		{"truncate growing adds zeros", "printf ab > tbl/c7; truncate -s 4 tbl/c7", "c7", []string{"ab\x00\x00", "ab"}},
		{"dd conv=notrunc writes at an offset, copy-on-write", "printf 0123456789 > tbl/c8; printf XY | dd of=tbl/c8 bs=1 seek=3 conv=notrunc 2>/dev/null", "c8", []string{"012XY56789", "0123456789"}},
		{"cp over an existing file", "printf old > tbl/c9; printf new > tbl/src9; cp tbl/src9 tbl/c9", "c9", []string{"new", "old"}},
		{"unlink keeps every version", "printf 1 > tbl/c10; printf 2 > tbl/c10; rm tbl/c10", "c10", []string{"DM", "2", "1"}},
		{"mv: the source gets a delete marker", "printf moved > tbl/c11; mv tbl/c11 tbl/c11b", "c11", []string{"DM", "moved"}},
		{"mv: the destination gets one version", "printf moved > tbl/c12; mv tbl/c12 tbl/c12b", "c12b", []string{"moved"}},
		{"mv onto an existing file adds a version there", "printf x > tbl/c13; printf y > tbl/c13b; mv tbl/c13b tbl/c13", "c13", []string{"y", "x"}},
		{"mkdir writes a marker object", "mkdir tbl/d14", "d14/", []string{""}},
		{"rmdir writes a delete marker on it", "mkdir tbl/d15; rmdir tbl/d15", "d15/", []string{"DM", ""}},
		{"chmod changes in place", "printf z > tbl/c16; chmod 600 tbl/c16", "c16", []string{"z"}},
		{"touch of an existing file changes in place", "printf z > tbl/c17; touch -d 2001-02-03 tbl/c17", "c17", []string{"z"}},
		{"rm -r of a tree", "mkdir -p tbl/t18/s; printf q > tbl/t18/s/f; rm -r tbl/t18", "t18/s/f", []string{"DM", "q"}},
		{"rm -r marks the directory markers", "mkdir -p tbl/t19/s; printf q > tbl/t19/s/f; rm -r tbl/t19", "t19/s/", []string{"DM", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.mustSh(c.script)
			var got []string
			deadline := time.Now().Add(3 * time.Second)
			for got = e.shape("tbl", c.key); !mEqualShape(got, c.want); got = e.shape("tbl", c.key) {
				if time.Now().After(deadline) {
					t.Fatalf("versions of %s = %q, want %q", c.key, got, c.want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestMountAttrsInPlace: chmod, chown and utimes change the current version
// in place, no new version and no data copy.
func TestMountAttrsInPlace(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("attrs")
	if err := os.WriteFile(b+"/f", bytes.Repeat([]byte("x"), 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := e.store.Stats()
	if err := os.Chmod(b+"/f", 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(b+"/f", 1234, 5678); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(b+"/f", mt, mt); err != nil {
		t.Fatal(err)
	}
	vs := e.versions("attrs", "f")
	if len(vs) != 1 {
		t.Fatalf("%d versions after chmod/chown/utimes, want 1", len(vs))
	}
	v := vs[0]
	if v.Mode != 0o640 || v.UID != 1234 || v.GID != 5678 || !v.Mtime.Equal(mt) {
		t.Fatalf("version attrs mode %o uid %d gid %d mtime %v", v.Mode, v.UID, v.GID, v.Mtime)
	}
	after, _ := e.store.Stats()
	if after.StoredBytes != before.StoredBytes || after.Chunks != before.Chunks {
		t.Fatalf("data copied: stats %+v -> %+v", before, after)
	}
	fi, err := os.Stat(b + "/f")
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm() != 0o640 || st.Uid != 1234 || st.Gid != 5678 || !fi.ModTime().Equal(mt) {
		t.Fatalf("stat: mode %v uid %d gid %d mtime %v", fi.Mode(), st.Uid, st.Gid, fi.ModTime())
	}
}

// TestMountTimesOutOfRange: utimensat with a time past the year 9999 or
// before the year 0 (touch -d @300000000000) succeeds and stores the time
// clamped to that range, as Linux file systems clamp to theirs, on a file,
// a directory, a bucket and a file still open for writing.
func TestMountTimesOutOfRange(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("times")
	if err := os.WriteFile(b+"/f", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(b+"/d", 0o755); err != nil {
		t.Fatal(err)
	}
	open, err := os.Create(b + "/open")
	if err != nil {
		t.Fatal(err)
	}
	max := time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	min := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		sec  int64
		want time.Time
	}{{300000000000, max}, {-70000000000, min}} {
		ts := []syscall.Timespec{{Sec: c.sec}, {Sec: c.sec}}
		for _, p := range []string{b + "/f", b + "/d", b, b + "/open"} {
			if err := syscall.UtimesNano(p, ts); err != nil {
				t.Fatalf("utimensat(%s, %d s): %v", p, c.sec, err)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.ModTime(); got.Unix() != c.want.Unix() {
				t.Fatalf("%s: mtime %v after utimensat(%d s), want %v", p, got.UTC(), c.sec, c.want)
			}
		}
		if vs := e.versions("times", "f"); len(vs) != 1 || !vs[0].Mtime.Equal(c.want) {
			t.Fatalf("stored version of f after utimensat(%d s): %+v", c.sec, vs)
		}
	}
	if err := open.Close(); err != nil {
		t.Fatal(err)
	}
	mWaitFor(t, "the open file published with the clamped mtime", 3*time.Second, func() bool {
		vs := e.versions("times", "open")
		return len(vs) == 1 && vs[0].Mtime.Equal(min)
	})
}

// TestMountCreatedNeverWritten: a created file shows as empty at once and
// becomes a 0-byte version when its last handle closes.
func TestMountCreatedNeverWritten(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("empty")
	fd, err := syscall.Open(b+"/e", syscall.O_CREAT|syscall.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(b+"/e", &st); err != nil || st.Size != 0 {
		t.Fatalf("stat while open: size %d, %v", st.Size, err)
	}
	names, _ := os.ReadDir(b)
	if len(names) != 1 || names[0].Name() != "e" {
		t.Fatalf("readdir while open = %v", names)
	}
	if n := len(e.versions("empty", "e")); n != 0 {
		t.Fatalf("%d versions before close, want 0", n)
	}
	fd2, err := syscall.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	// Another reader opens a created file read-only while its writer has
	// written but not closed: it reads what was written, as on a local
	// file system (git's pack indexing, tail -f), and the open makes no
	// version (nothing is committed yet).
	wfd, err := syscall.Open(b+"/r", syscall.O_CREAT|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.Write(wfd, []byte("not yet committed")); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(b + "/r"); err != nil || string(got) != "not yet committed" {
		t.Fatalf("read-only open of a created file before its close: %q, %v; want what was written, no error", got, err)
	}
	// (No cat here: a fork would close an inherited copy of wfd, and that
	// close publishes what was written, as every close does.)
	rfd, err := syscall.Open(b+"/r", syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("open O_RDONLY of a created file before its close: %v", err)
	}
	buf := make([]byte, 64)
	if n, err := syscall.Read(rfd, buf); string(buf[:max(n, 0)]) != "not yet committed" || err != nil {
		t.Fatalf("read of a created file before its close: %q, %v; want what was written", buf[:max(n, 0)], err)
	}
	syscall.Close(rfd)
	if n := len(e.versions("empty", "r")); n != 0 {
		t.Fatalf("%d versions of r before its close, want 0", n)
	}
	// A version committed meanwhile by someone else (as over S3) replaces
	// the file, as a rename over it would: a new read-only open reads it,
	// although the mount's writer is still open.
	e.putDirect("empty", "r", "committed over S3")
	if got, err := os.ReadFile(b + "/r"); err != nil || string(got) != "committed over S3" {
		t.Fatalf("read-only open while another view committed a version: %q, %v; want that version", got, err)
	}
	syscall.Close(wfd)
	if got, err := os.ReadFile(b + "/r"); err != nil || string(got) != "not yet committed" {
		t.Fatalf("read after the writer's close: %q, %v", got, err)
	}
	syscall.Close(fd)
	time.Sleep(100 * time.Millisecond)
	if n := len(e.versions("empty", "e")); n != 0 {
		t.Fatalf("%d versions after the first of two closes, want 0", n)
	}
	syscall.Close(fd2)
	mWaitFor(t, "a 0-byte version", 3*time.Second, func() bool {
		vs := e.versions("empty", "e")
		return len(vs) == 1 && vs[0].Size == 0 && !vs[0].DeleteMarker
	})
	e.mustSh("touch empty/t")
	mWaitFor(t, "touch: a 0-byte version", 3*time.Second, func() bool {
		vs := e.versions("empty", "t")
		return len(vs) == 1 && vs[0].Size == 0
	})
	time.Sleep(200 * time.Millisecond)
	if n := len(e.versions("empty", "t")); n != 1 {
		t.Fatalf("touch made %d versions, want 1", n)
	}
}

// TestMountDupFlush: several close() on duplicated descriptors make one
// version per flush that has new writes, no empty duplicates.
func TestMountDupFlush(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("dup")
	fd, err := syscall.Open(b+"/d", syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fd2, _ := syscall.Dup(fd)
	fd3, _ := syscall.Dup(fd)
	syscall.Close(fd3) // nothing written yet: no version
	if got := e.shape("dup", "d"); len(got) != 0 {
		t.Fatalf("after an early flush: %q, want none", got)
	}
	syscall.Write(fd, []byte("1"))
	syscall.Close(fd)
	if got := e.shape("dup", "d"); !mEqualShape(got, []string{"1"}) {
		t.Fatalf("after write+close: %q", got)
	}
	syscall.Write(fd2, []byte("2"))
	fd4, _ := syscall.Dup(fd2)
	syscall.Close(fd2)
	syscall.Close(fd4) // nothing new since the last flush
	time.Sleep(100 * time.Millisecond)
	if got := e.shape("dup", "d"); !mEqualShape(got, []string{"12", "1"}) {
		t.Fatalf("after second write: %q, want [12 1]", got)
	}
}

// TestMountFsync: fsync publishes (and syncs) unpublished data at once.
func TestMountFsync(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("fsync")
	f, err := os.Create(b + "/s")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("synced")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := e.shape("fsync", "s"); !mEqualShape(got, []string{"synced"}) {
		t.Fatalf("after fsync: %q", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := e.shape("fsync", "s"); !mEqualShape(got, []string{"synced"}) {
		t.Fatalf("close after fsync added a version: %q", got)
	}
}

// TestMountCopyOnWriteSharing: writes at offsets copy only the touched
// chunk; an append costs the appended bytes; rename shares every chunk.
func TestMountCopyOnWriteSharing(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("cow")
	data := bytes.Repeat([]byte("0123456789abcdef"), (4<<20)/16) // 4 chunks
	if err := os.WriteFile(b+"/big", data, 0o644); err != nil {
		t.Fatal(err)
	}
	s0, _ := e.store.Stats()
	e.mustSh("printf ZZ | dd of=cow/big bs=1 seek=1048580 conv=notrunc 2>/dev/null")
	s1, _ := e.store.Stats()
	if s1.Chunks != s0.Chunks+1 || s1.StoredBytes-s0.StoredBytes != meta.ChunkSize {
		t.Fatalf("a 2-byte write at an offset stored %d chunks / %d bytes more, want 1 chunk of %d", s1.Chunks-s0.Chunks, s1.StoredBytes-s0.StoredBytes, meta.ChunkSize)
	}
	vs := e.versions("cow", "big")
	if len(vs) != 2 {
		t.Fatalf("%d versions, want 2", len(vs))
	}
	want := append([]byte(nil), data...)
	copy(want[1048580:], "ZZ")
	if !bytes.Equal(e.content(vs[0]), want) || !bytes.Equal(e.content(vs[1]), data) {
		t.Fatal("copy-on-write content wrong")
	}
	e.mustSh("printf tail >> cow/big")
	s2, _ := e.store.Stats()
	if d := s2.StoredBytes - s1.StoredBytes; d != 4 {
		t.Fatalf("appending 4 bytes to a 4 MiB file stored %d bytes, want 4", d)
	}
	e.mustSh("mv cow/big cow/big2")
	s3, _ := e.store.Stats()
	if s3.StoredBytes != s2.StoredBytes || s3.Chunks != s2.Chunks {
		t.Fatalf("rename copied data: %+v -> %+v", s2, s3)
	}
	got, err := os.ReadFile(b + "/big2")
	if err != nil || !bytes.Equal(got, append(want, "tail"...)) {
		t.Fatalf("renamed content wrong (%v)", err)
	}
}

// TestMountSymlinkAndRefused: symlink is an object marked as a link; hard
// links, device nodes, fifos and sockets are EPERM.
func TestMountSymlinkAndRefused(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("links")
	if err := os.Symlink("../some/target", b+"/l"); err != nil {
		t.Fatal(err)
	}
	if got, err := os.Readlink(b + "/l"); err != nil || got != "../some/target" {
		t.Fatalf("readlink = %q, %v", got, err)
	}
	vs := e.versions("links", "l")
	if len(vs) != 1 || !vs[0].Link || string(e.content(vs[0])) != "../some/target" {
		t.Fatalf("symlink version = %+v", vs)
	}
	fi, err := os.Lstat(b + "/l")
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("lstat: %v %v", fi, err)
	}
	os.WriteFile(b+"/f", []byte("x"), 0o644)
	refused := []struct {
		name string
		op   func() error
	}{
		{"link", func() error { return os.Link(b+"/f", b+"/hard") }},
		{"mkfifo", func() error { return syscall.Mkfifo(b+"/fifo", 0o644) }},
		{"mknod char", func() error { return syscall.Mknod(b+"/dev", syscall.S_IFCHR|0o644, 0x0101) }},
		{"mknod socket", func() error { return syscall.Mknod(b+"/sock", syscall.S_IFSOCK|0o644, 0) }},
	}
	for _, r := range refused {
		if err := r.op(); mErrno(err) != syscall.EPERM {
			t.Errorf("%s: %v, want EPERM", r.name, err)
		}
	}
	for _, k := range []string{"hard", "fifo", "dev", "sock"} {
		if vs := e.versions("links", k); len(vs) != 0 {
			t.Errorf("%s: %d versions after a refused call", k, len(vs))
		}
	}
}

// TestMountBuckets: mkdir at the root creates buckets with S3 rules;
// rmdir removes an empty one only; .wormfs names are reserved.
func TestMountBuckets(t *testing.T) {
	e := testMount(t)
	for _, bad := range []string{"AB", "ab", "Upper-Case", "under_score", "-lead", "trail-", "a..b", "192.168.1.1", strings.Repeat("a", 64)} {
		if err := os.Mkdir(e.p(bad), 0o755); mErrno(err) != syscall.EINVAL {
			t.Errorf("mkdir %q: %v, want EINVAL", bad, err)
		}
	}
	// .wormfs itself is the views directory (EEXIST); other names with
	// the prefix are refused.
	for _, r := range []string{".wormfs", ".wormfs-x", ".wormfsx"} {
		if err := os.Mkdir(e.p(r), 0o755); err == nil || mErrno(err) != syscall.EPERM && mErrno(err) != syscall.EINVAL && !(r == ".wormfs" && mErrno(err) == syscall.EEXIST) {
			t.Errorf("mkdir %q: %v, want EPERM/EINVAL", r, err)
		}
		if err := os.WriteFile(e.p(r), nil, 0o644); err == nil {
			t.Errorf("create %q at the root succeeded", r)
		}
	}
	if ents, _ := os.ReadDir(e.dir); len(ents) != 0 {
		t.Errorf("root lists %v, want nothing (the views are never listed)", ents)
	}
	bs, _ := e.store.ListBuckets()
	if len(bs) != 0 {
		t.Fatalf("refused mkdirs created buckets: %v", bs)
	}
	e.mkbucket("keep.me-1")
	e.mkbucket("gone")
	if err := os.Mkdir(e.p("gone"), 0o755); mErrno(err) != syscall.EEXIST {
		t.Errorf("mkdir existing bucket: %v, want EEXIST", err)
	}
	os.WriteFile(e.p("keep.me-1", "f"), []byte("x"), 0o644)
	if err := os.Remove(e.p("keep.me-1")); mErrno(err) != syscall.ENOTEMPTY {
		t.Errorf("rmdir non-empty bucket: %v, want ENOTEMPTY", err)
	}
	os.Remove(e.p("keep.me-1", "f"))
	if err := os.Remove(e.p("keep.me-1")); mErrno(err) != syscall.ENOTEMPTY {
		t.Errorf("rmdir bucket holding only old versions: %v, want ENOTEMPTY", err)
	}
	if err := os.Remove(e.p("gone")); err != nil {
		t.Fatalf("rmdir empty bucket: %v", err)
	}
	if _, err := e.store.GetBucket("gone"); err == nil {
		t.Fatal("bucket still in the store after rmdir")
	}
	ents, err := os.ReadDir(e.dir)
	if err != nil || len(ents) != 1 || ents[0].Name() != "keep.me-1" || !ents[0].IsDir() {
		t.Fatalf("root listing = %v, %v", ents, err)
	}
	if err := os.WriteFile(e.p("rootfile"), nil, 0o644); mErrno(err) != syscall.EPERM {
		t.Errorf("file at the bucket list: %v, want EPERM", err)
	}
}

// TestMountDirectories: implicit and explicit directories, ENOTEMPTY, a
// directory shadowing an object, directory rename key by key, EXDEV across
// buckets, name length limits.
func TestMountDirectories(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("dirs")
	e.mkbucket("other")
	put := func(key, body string) {
		w, err := e.store.NewWriter("dirs", key, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteAt([]byte(body), 0)
		if _, err := w.Publish(meta.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		w.Abort()
	}
	put("imp/a/b.txt", "deep")
	put("shadow", "file")
	put("shadow/inner", "in")
	if fi, err := os.Stat(b + "/imp/a"); err != nil || !fi.IsDir() {
		t.Fatalf("implicit dir: %v %v", fi, err)
	}
	if got, _ := os.ReadFile(b + "/imp/a/b.txt"); string(got) != "deep" {
		t.Fatalf("read through implicit dirs = %q", got)
	}
	if fi, err := os.Stat(b + "/shadow"); err != nil || !fi.IsDir() {
		t.Fatalf("shadow: %v %v, want a directory", fi, err)
	}
	ents, _ := os.ReadDir(b)
	var names []string
	for _, d := range ents {
		names = append(names, d.Name())
	}
	if strings.Join(names, ",") != "imp,shadow" {
		t.Fatalf("listing = %v", names)
	}
	if err := os.Remove(b + "/imp/a"); mErrno(err) != syscall.ENOTEMPTY {
		t.Fatalf("rmdir non-empty: %v", err)
	}
	if err := os.Mkdir(b+"/exp", 0o750); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(b + "/exp"); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
		t.Fatalf("explicit dir: %v %v", fi, err)
	}
	if err := os.Mkdir(b+"/exp", 0o750); mErrno(err) != syscall.EEXIST {
		t.Fatalf("mkdir existing: %v", err)
	}
	os.WriteFile(b+"/exp/f1", []byte("1"), 0o644)
	os.MkdirAll(b+"/exp/sub", 0o755)
	os.WriteFile(b+"/exp/sub/f2", []byte("2"), 0o644)
	if err := os.Rename(b+"/exp", b+"/moved"); err != nil {
		t.Fatalf("rename dir: %v", err)
	}
	for _, k := range []string{"moved/", "moved/f1", "moved/sub/", "moved/sub/f2"} {
		if vs := e.versions("dirs", k); len(vs) != 1 || vs[0].DeleteMarker {
			t.Errorf("%s after dir rename: %d versions", k, len(vs))
		}
	}
	for _, k := range []string{"exp/", "exp/f1", "exp/sub/", "exp/sub/f2"} {
		if vs := e.versions("dirs", k); len(vs) != 2 || !vs[0].DeleteMarker {
			t.Errorf("%s after dir rename: want a delete marker over 1 version, got %d", k, len(vs))
		}
	}
	if got, _ := os.ReadFile(b + "/moved/sub/f2"); string(got) != "2" {
		t.Fatalf("read after dir rename = %q", got)
	}
	if err := os.Rename(b+"/moved/f1", e.p("other", "f1")); mErrno(err) != syscall.EXDEV {
		t.Fatalf("rename across buckets: %v, want EXDEV", err)
	}
	e.mustSh("mv dirs/moved/f1 other/f1")
	if got, _ := os.ReadFile(e.p("other", "f1")); string(got) != "1" {
		t.Fatalf("mv across buckets = %q", got)
	}
	long := strings.Repeat("n", 256)
	if err := os.WriteFile(b+"/"+long, nil, 0o644); mErrno(err) != syscall.ENAMETOOLONG {
		t.Fatalf("256-byte name: %v, want ENAMETOOLONG", err)
	}
	ok := strings.Repeat("n", 255)
	if err := os.WriteFile(b+"/"+ok, []byte("x"), 0o644); err != nil {
		t.Fatalf("255-byte name: %v", err)
	}
	// Keys are UTF-8: other bytes are refused and reach nothing.
	for _, op := range []func() error{
		func() error { return os.WriteFile(b+"/bad\xff", nil, 0o644) },
		func() error { return os.Mkdir(b+"/bad\xfe", 0o755) },
		func() error { return os.Symlink("t", b+"/bad\xfd") },
	} {
		if err := op(); mErrno(err) != syscall.EINVAL {
			t.Errorf("non-UTF-8 name: %v, want EINVAL", err)
		}
	}
	// A key longer than 1024 bytes in all.
	deep := b
	for i := 0; i < 5; i++ {
		deep += "/" + strings.Repeat(string(rune('a'+i)), 200)
		if err := os.Mkdir(deep, 0o755); err != nil && mErrno(err) != syscall.ENAMETOOLONG {
			t.Fatalf("mkdir %d: %v", i, err)
		}
	}
	// deep is a 1005-byte key prefix: a 30-byte name makes 1036 bytes.
	if err := os.WriteFile(deep+"/"+strings.Repeat("z", 30), nil, 0o644); mErrno(err) != syscall.ENAMETOOLONG {
		t.Fatalf("a key over 1024 bytes: %v, want ENAMETOOLONG", err)
	}
	if err := os.WriteFile(deep+"/"+strings.Repeat("z", 10), []byte("ok"), 0o644); err != nil {
		t.Fatalf("a key of 1016 bytes: %v", err)
	}
	res, _ := e.store.List("dirs", meta.ListOptions{Prefix: "bad"})
	if len(res.Objects)+len(res.Prefixes) != 0 {
		t.Errorf("refused names reached the store: %v %v", res.Objects, res.Prefixes)
	}
}

// TestMountInodesStable: inode numbers are the same across lookups and
// across a remount.
func TestMountInodesStable(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("ino")
	os.MkdirAll(b+"/d", 0o755)
	os.WriteFile(b+"/d/f", []byte("x"), 0o644)
	inos := func() []uint64 {
		var out []uint64
		for _, p := range []string{b, b + "/d", b + "/d/f"} {
			var st syscall.Stat_t
			if err := syscall.Stat(p, &st); err != nil {
				t.Fatal(err)
			}
			out = append(out, st.Ino)
		}
		return out
	}
	first := inos()
	if first[0] == first[1] || first[1] == first[2] {
		t.Fatalf("inode numbers collide: %v", first)
	}
	if again := inos(); again[0] != first[0] || again[1] != first[1] || again[2] != first[2] {
		t.Fatalf("inode numbers changed between lookups: %v then %v", first, again)
	}
	if err := e.m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e.remount()
	if again := inos(); again[0] != first[0] || again[1] != first[1] || again[2] != first[2] {
		t.Fatalf("inode numbers changed across a remount: %v then %v", first, again)
	}
}

// TestMountStatfs reports the data directory's file system.
func TestMountStatfs(t *testing.T) {
	e := testMount(t)
	var m, d syscall.Statfs_t
	if err := syscall.Statfs(e.dir, &m); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Statfs(e.data, &d); err != nil {
		t.Fatal(err)
	}
	if m.Blocks != d.Blocks || m.Bsize != d.Bsize || m.Files != d.Files {
		t.Fatalf("statfs of the mount %+v differs from the data dir's %+v", m, d)
	}
}

// TestMountRenameOpenFiles: renaming a file or its directory while it is
// open with unpublished writes keeps every byte: the writes before the
// rename go with it, the writes after land at the new name.
func TestMountRenameOpenFiles(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("ren")
	os.Mkdir(b+"/d", 0o755)
	cases := []struct {
		name           string
		open, from, to string
		oldKey, newKey string
	}{
		{"file", b + "/a", b + "/a", b + "/b", "a", "b"},
		{"directory", b + "/d/f", b + "/d", b + "/d2", "d/f", "d2/f"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			f, err := os.OpenFile(c.open, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			f.Write([]byte("abc"))
			if err := os.Rename(c.from, c.to); err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("def"))
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if got := e.shape("ren", c.newKey); !mEqualShape(got, []string{"abcdef", "abc"}) {
				t.Errorf("%s: %q, want [abcdef abc]", c.newKey, got)
			}
			if got := e.shape("ren", c.oldKey); !mEqualShape(got, []string{"DM", "abc"}) {
				t.Errorf("%s: %q, want [DM abc]", c.oldKey, got)
			}
		})
	}
	e.t = t
	d, err := os.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatalf("fsync of a directory: %v", err)
	}
}

// TestMountLargeDirectoryAndConcurrency: a listing larger than one store
// page is complete; concurrent appenders through separate descriptors
// lose nothing; concurrent writers of different files each get their own
// version.
func TestMountLargeDirectoryAndConcurrency(t *testing.T) {
	e := testMount(t)
	b := e.mkbucket("many")
	const n = 2500
	for i := 0; i < n; i++ {
		w, err := e.store.NewWriter("many", fmt.Sprintf("big/f%05d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		w.MarkDirty()
		if _, err := w.Publish(meta.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		w.Abort()
	}
	ents, err := os.ReadDir(b + "/big")
	if err != nil || len(ents) != n {
		t.Fatalf("listing of %d keys: %d entries, %v", n, len(ents), err)
	}
	for i, d := range ents {
		if d.Name() != fmt.Sprintf("f%05d", i) {
			t.Fatalf("entry %d = %s", i, d.Name())
		}
	}

	const writers, lines = 4, 50
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(2)
		go func(g int) {
			defer wg.Done()
			f, err := os.OpenFile(b+"/log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			for i := 0; i < lines; i++ {
				fmt.Fprintf(f, "writer %d line %02d\n", g, i)
			}
		}(g)
		go func(g int) {
			defer wg.Done()
			if err := os.WriteFile(fmt.Sprintf("%s/own%d", b, g), []byte(strings.Repeat("x", g+1)), 0o644); err != nil {
				t.Error(err)
			}
		}(g)
	}
	wg.Wait()
	got, _ := os.ReadFile(b + "/log")
	if c := strings.Count(string(got), "\n"); c != writers*lines {
		t.Fatalf("log has %d lines, want %d", c, writers*lines)
	}
	for g := 0; g < writers; g++ {
		vs := e.versions("many", fmt.Sprintf("own%d", g))
		if len(vs) != 1 || vs[0].Size != int64(g+1) {
			t.Fatalf("own%d: %d versions", g, len(vs))
		}
	}
	vs := e.versions("many", "log")
	if len(vs) == 0 || vs[0].Size != int64(len(got)) {
		t.Fatalf("log's latest version does not hold every line")
	}
}

// TestMountUnversionedBuckets: in a bucket without versioning or with
// versioning suspended (made over S3), the mount's overwrite and delete act
// on the null version as S3 does; lock attributes are refused there.
func TestMountUnversionedBuckets(t *testing.T) {
	e := testMount(t)
	if _, err := e.store.CreateBucket("plain", meta.BucketOptions{}, meta.Actor{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateBucket("susp", meta.BucketOptions{Versioning: meta.VersioningEnabled}, meta.Actor{}); err != nil {
		t.Fatal(err)
	}
	e.mustSh("echo keep > susp/k")
	if err := e.store.SetVersioning("susp", meta.VersioningSuspended); err != nil {
		t.Fatal(err)
	}
	e.mustSh("echo a > plain/f; echo b > plain/f; echo c > susp/k; echo d > susp/k")
	if got := e.shape("plain", "f"); !mEqualShape(got, []string{"b\n"}) {
		t.Errorf("unversioned overwrite: %q, want [b]", got)
	}
	vs := e.versions("susp", "k")
	if len(vs) != 2 || vs[0].ID != meta.NullVersionID || string(e.content(vs[0])) != "d\n" || string(e.content(vs[1])) != "keep\n" {
		t.Errorf("suspended overwrite: %d versions", len(vs))
	}
	e.mustSh("rm plain/f susp/k")
	if vs := e.versions("plain", "f"); len(vs) != 0 {
		t.Errorf("unversioned unlink left %d versions", len(vs))
	}
	vs = e.versions("susp", "k")
	if len(vs) != 2 || !vs[0].DeleteMarker || vs[0].ID != meta.NullVersionID {
		t.Errorf("suspended unlink: %d versions", len(vs))
	}
	e.mustSh("echo x > plain/g")
	before := e.snapshot("plain", "g")
	for _, c := range []struct{ path, attr, value string }{
		{e.p("plain", "g"), "user.s3.retention", "GOVERNANCE +1d"},
		{e.p("plain", "g"), "user.s3.legalhold", "ON"},
		{e.p("plain"), "user.s3.retention", "GOVERNANCE 1d"},
	} {
		if err := syscall.Setxattr(c.path, c.attr, []byte(c.value), 0); mErrno(err) != syscall.EINVAL {
			t.Errorf("%s on a bucket without Object Lock: %v, want EINVAL", c.attr, err)
		}
	}
	if e.snapshot("plain", "g") != before {
		t.Error("refused lock attributes changed the store")
	}
}
