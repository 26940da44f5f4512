package integration

// Attributes as SPEC §3 says (issue 16, item 5): mode 0 is a mode, not
// "unset", and a directory marker made over S3 without a mode is 0755 so
// ordinary users may enter it. Both failed before the fix: chmod 000 and
// open(O_CREAT, 0000) gave 0644 to the next version, a readable file for
// everyone; a folder object made over S3 showed as drw-r--r--.

import (
	"os"
	"syscall"
	"testing"

	"github.com/wormfs/wormfs/fs"
)

func allowOther(o *fs.Options) { o.AllowOther = true } // other users run tools in the mount

func TestMountModeZeroIsKept(t *testing.T) {
	e := testMount(t, allowOther)
	e.mkbucket("modes")
	// open(O_CREAT, 0000), written and closed: a version with mode 0.
	f := e.p("modes", "created0")
	fd, err := syscall.Open(f, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Write(fd, []byte("secret"))
	syscall.Close(fd)
	if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0 {
		t.Errorf("open(O_CREAT, 0000): mode %v, %v; want 0000", st.Mode().Perm(), err)
	}
	if v, err := e.store.Get("modes", "created0", ""); err != nil || v.Mode != 0 {
		t.Errorf("stored mode %o, %v; want 0", v.Mode, err)
	}
	// chmod 000, then a new version (an append): still 0000.
	g := e.p("modes", "locked")
	os.WriteFile(g, []byte("a"), 0o644)
	if err := os.Chmod(g, 0); err != nil {
		t.Fatal(err)
	}
	fh, err := os.OpenFile(g, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err) // root may open a 0000 file
	}
	fh.Write([]byte("b"))
	fh.Close()
	if vs := e.versions("modes", "locked"); len(vs) != 2 || vs[0].Mode != 0 {
		t.Errorf("after chmod 000 and an append: %d versions, newest mode %o; want 2, 0", len(vs), vs[0].Mode)
	}
	if st, err := os.Stat(g); err != nil || st.Mode().Perm() != 0 {
		t.Errorf("stat after chmod 000 and an append: %v, %v; want 0000", st.Mode().Perm(), err)
	}
	// An unprivileged user cannot read either (but reads a 0644 file).
	os.WriteFile(e.p("modes", "open"), []byte("public"), 0o644)
	if out, err := e.runAs(65534, 65534, nil, "cat", e.p("modes", "open")); err != nil || out != "public" {
		t.Fatalf("nobody reading a 0644 file: %q, %v", out, err)
	}
	for _, p := range []string{f, g} {
		if out, err := e.runAs(65534, 65534, nil, "cat", p); err == nil {
			t.Errorf("nobody read a mode-0 file %s: %q", p, out)
		}
	}
}

func TestMountS3FolderMarkerIsEnterable(t *testing.T) {
	e := testMount(t, allowOther)
	e.mkbucket("folders")
	e.putDirect("folders", "docs/", "")
	e.putDirect("folders", "docs/readme.txt", "hello")
	st, err := os.Stat(e.p("folders", "docs"))
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsDir() || st.Mode().Perm() != 0o755 {
		t.Errorf("folder made over S3: %v, want drwxr-xr-x", st.Mode())
	}
	out, err := e.runAs(65534, 65534, nil, "cat", e.p("folders", "docs", "readme.txt"))
	if err != nil || out != "hello" {
		t.Errorf("nobody reading inside a folder made over S3: %q, %v", out, err)
	}
	if out, err := e.runAs(65534, 65534, nil, "ls", e.p("folders", "docs")); err != nil {
		t.Errorf("nobody listing a folder made over S3: %v\n%s", err, out)
	}
}
