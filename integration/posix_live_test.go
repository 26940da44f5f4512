package integration

// The mount shows written bytes to every descriptor at once, as a local
// file system does (SPEC §3; issue 16 item 1): programs that read a file
// while it is being written work. Before the change a read-only open of a
// file with unpublished writes read the last published version (or
// nothing), so every test here failed: git clone (`fatal: premature end of
// pack file`), git push (`unpacker error`), tail -f saw nothing until the
// writer closed, and a read-only SQLite connection never saw new commits.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitEnv is an environment for git that ignores the machine's own
// configuration.
func gitEnv(home string) []string {
	return append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
}

func gitRun(t *testing.T, dir, home string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// makeRepo makes a local repository with a few commits of text and of
// incompressible data, so that packs have some size.
func makeRepo(t *testing.T, dir, home string) {
	t.Helper()
	gitRun(t, filepath.Dir(dir), home, "init", "-q", "-b", "main", dir)
	for i := 0; i < 5; i++ {
		for j := 0; j < 20; j++ {
			body := fmt.Sprintf("file %d commit %d\n%s", j, i, strings.Repeat(fmt.Sprintf("line %d %d\n", i, j), 50+i*j))
			os.MkdirAll(filepath.Join(dir, fmt.Sprintf("d%d", j%4)), 0o755)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("d%d/f%d.txt", j%4, j)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		blob := make([]byte, 256<<10)
		for k := range blob {
			blob[k] = byte((k*7919 + i*104729) >> 3)
		}
		os.WriteFile(filepath.Join(dir, "blob.bin"), blob, 0o644)
		gitRun(t, dir, home, "add", "-A")
		gitRun(t, dir, home, "commit", "-q", "-m", fmt.Sprintf("commit %d", i))
	}
}

// TestMountGitCloneAndPush: git clone --no-local (git's pack indexing
// reads the pack while it writes it) and git push into a bare repository
// on the mount, with git's default pack threads; both repositories check
// out whole (git fsck) and hold every commit.
func TestMountGitCloneAndPush(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	e := testMount(t)
	e.mkbucket("git")
	home := t.TempDir()
	src := filepath.Join(t.TempDir(), "src")
	makeRepo(t, src, home)
	want := strings.TrimSpace(gitRun(t, src, home, "rev-parse", "HEAD"))

	clone := e.p("git", "clone")
	gitRun(t, e.p("git"), home, "clone", "-q", "--no-local", src, clone)
	if got := strings.TrimSpace(gitRun(t, clone, home, "rev-parse", "HEAD")); got != want {
		t.Errorf("clone HEAD %s, want %s", got, want)
	}
	gitRun(t, clone, home, "fsck", "--full")
	if out := gitRun(t, clone, home, "status", "--porcelain"); out != "" {
		t.Errorf("git status in the clone is not clean:\n%s", out)
	}

	bare := e.p("git", "bare.git")
	gitRun(t, e.p("git"), home, "init", "-q", "--bare", bare)
	gitRun(t, src, home, "push", "-q", bare, "main")
	if got := strings.TrimSpace(gitRun(t, bare, home, "rev-parse", "main")); got != want {
		t.Errorf("pushed main %s, want %s", got, want)
	}
	gitRun(t, bare, home, "fsck", "--full")
	// A second push of new commits (objects unpacked loose this time).
	os.WriteFile(filepath.Join(src, "new.txt"), []byte("new\n"), 0o644)
	gitRun(t, src, home, "add", "-A")
	gitRun(t, src, home, "commit", "-q", "-m", "new")
	gitRun(t, src, home, "push", "-q", bare, "main")
	gitRun(t, bare, home, "fsck", "--full")
}

// TestMountGitInitNoStrays: git init 50 times into the mount: every
// repository has its config with core.filemode and without the
// core.symlinks=false git writes when its symlink probe fails, and no
// stray temporary file is left (git's lock files and probes broke on a
// deleted file coming back).
func TestMountGitInitNoStrays(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	e := testMount(t)
	e.mkbucket("gitinit")
	home := t.TempDir()
	for i := 0; i < 50; i++ {
		dir := e.p("gitinit", fmt.Sprintf("r%02d", i))
		gitRun(t, e.p("gitinit"), home, "init", "-q", dir)
		cfg, err := os.ReadFile(filepath.Join(dir, ".git", "config"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(cfg), "symlinks = false") {
			t.Errorf("r%02d: git init wrote core.symlinks = false:\n%s", i, cfg)
		}
		ents, _ := os.ReadDir(filepath.Join(dir, ".git"))
		for _, d := range ents {
			switch d.Name() {
			case "HEAD", "config", "description", "hooks", "info", "objects", "refs", "branches":
			default:
				t.Errorf("r%02d: stray %s in .git", i, d.Name())
			}
		}
		ents, _ = os.ReadDir(dir)
		for _, d := range ents {
			if d.Name() != ".git" {
				t.Errorf("r%02d: stray %s", i, d.Name())
			}
		}
	}
}

// TestMountTailFollows: tail -f of a file that a writer keeps open and
// appends to shows each line within about a second (GNU tail polls a FUSE
// file every second), long before the writer closes.
func TestMountTailFollows(t *testing.T) {
	e := testMount(t)
	e.mkbucket("tail")
	f := e.p("tail", "log")
	w, err := os.OpenFile(f, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fmt.Fprintf(w, "line 0\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tail", "-n", "+1", "-f", f)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var worst time.Duration
	for i := 0; i < 4; i++ {
		if i > 0 {
			fmt.Fprintf(w, "line %d\n", i)
		}
		start := time.Now()
		select {
		case l := <-lines:
			if l != fmt.Sprintf("line %d", i) {
				t.Fatalf("tail -f printed %q, want %q", l, fmt.Sprintf("line %d", i))
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("tail -f did not show line %d within 3 s while the writer keeps the file open", i)
		}
		worst = max(worst, time.Since(start))
	}
	t.Logf("tail -f showed each appended line within %v", worst.Round(time.Millisecond))
	if vs := e.versions("tail", "log"); len(vs) != 0 {
		t.Logf("%d versions published by the writer's flushes so far", len(vs))
	}
}

// TestMountSQLiteReaderSeesCommits: a long-lived read-only SQLite
// connection sees each commit of a writer connection (Python's sqlite3),
// as on a local file system.
func TestMountSQLiteReaderSeesCommits(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	e := testMount(t)
	e.mkbucket("sql")
	db := e.p("sql", "app.db")
	const script = `
import sqlite3, sys
db = sys.argv[1]
w = sqlite3.connect(db)
w.execute("create table t (n integer)")
w.commit()
r = sqlite3.connect("file:" + db + "?mode=ro", uri=True)
for i in range(1, 21):
    w.execute("insert into t values (?)", (i,))
    w.commit()
    got = r.execute("select count(*), coalesce(sum(n), 0) from t").fetchone()
    if got != (i, i * (i + 1) // 2):
        print("after commit %d the reader sees %r" % (i, got))
        sys.exit(1)
print("ok")
`
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "-c", script, db).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("sqlite reader: %v\n%s", err, out)
	}
}
