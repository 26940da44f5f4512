package main

import (
	"bufio"
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The daemon tests build the real binary and run it as a user would.

var wormfsBin string

func TestMain(m *testing.M) {
	// A fuzzing run (and its worker processes) runs FuzzXxx only, which
	// needs no daemon binary.
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "wormfs-bin-")
	if err != nil {
		panic(err)
	}
	wormfsBin = filepath.Join(dir, "wormfs")
	build := exec.Command("go", "build", "-race", "-o", wormfsBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		panic("building wormfs: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func requireFUSE(t *testing.T) {
	t.Helper()
	reason := ""
	if _, err := os.Stat("/dev/fuse"); err != nil {
		reason = "/dev/fuse is missing"
	} else if os.Geteuid() != 0 {
		reason = "mounting needs root (direct mount)"
	}
	if reason == "" {
		return
	}
	if os.Getenv("WORMFS_REQUIRE_FUSE") == "1" {
		t.Fatalf("WORMFS_REQUIRE_FUSE=1 but %s", reason)
	}
	t.Skipf("skipping FUSE test: %s (set WORMFS_REQUIRE_FUSE=1 to make this fail)", reason)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type daemon struct {
	cmd    *exec.Cmd
	stderr *lineLog
	done   chan error
}

// lineLog collects the daemon's stderr lines and lets a test wait for one.
type lineLog struct {
	lines chan string
	all   strings.Builder
}

func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(wormfsBin, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), "WORMFS_ACCESS_KEY=", "WORMFS_SECRET_KEY=")
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, stderr: &lineLog{lines: make(chan string, 1000)}, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			d.stderr.lines <- sc.Text()
		}
		close(d.stderr.lines)
		d.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
			}
		}
	})
	return d
}

// waitLine waits for a stderr line matching re and returns it; it fails
// when the daemon exits first or after a bounded wait.
func (d *daemon) waitLine(t *testing.T, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-d.stderr.lines:
			if !ok {
				t.Fatalf("daemon exited before printing %q; stderr:\n%s", re, d.stderr.all.String())
			}
			d.stderr.all.WriteString(l + "\n")
			if rx.MatchString(l) {
				return l
			}
		case <-deadline:
			t.Fatalf("no line %q within 30 s; stderr so far:\n%s", re, d.stderr.all.String())
		}
	}
}

// stop sends sig and waits for the exit (bounded), returning the rest of
// stderr.
func (d *daemon) stop(t *testing.T, sig os.Signal) (error, string) {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	var rest strings.Builder
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-d.stderr.lines:
			if ok {
				rest.WriteString(l + "\n")
				continue
			}
			select {
			case err := <-d.done:
				return err, rest.String()
			case <-timeout:
				t.Fatal("daemon did not exit within 20 s")
			}
		case <-timeout:
			t.Fatal("daemon did not exit within 20 s of the signal")
		}
	}
}

func isMounted(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

func TestServeLifecycle(t *testing.T) {
	requireFUSE(t)
	data, mnt := privateDir(t), t.TempDir()
	addr := freeAddr(t)

	d := startDaemon(t, "--data", data, "--mount", mnt, "--s3", addr)
	gen := d.waitLine(t, `generated S3 root credentials`)
	if !regexp.MustCompile(`access key WORM[A-Z2-7]{16} secret key \S{40}`).MatchString(gen) {
		t.Errorf("generated credentials line has no usable pair: %q", gen)
	}
	ready := d.waitLine(t, `^wormfs: ready`)
	if !strings.Contains(ready, "mount="+mnt) || !strings.Contains(ready, "s3=http://"+addr) {
		t.Errorf("ready line %q does not name the mount and the listener", ready)
	}
	if !isMounted(t, mnt) {
		t.Fatal("ready was printed but nothing is mounted")
	}
	// The mount answers and the listener accepts.
	if err := os.Mkdir(filepath.Join(mnt, "lifecycle-bucket"), 0o755); err != nil {
		t.Fatalf("mkdir bucket through the mount: %v", err)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("listener does not answer: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous ListBuckets answered %d, want 403", resp.StatusCode)
	}

	// A second start on the same data dir fails at once with a clear message.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, wormfsBin, "serve", "--data", data, "--s3", freeAddr(t)).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatal("a second start on the same data dir hung")
	}
	if err == nil || !strings.Contains(string(out), "in use by another wormfs process") {
		t.Errorf("second start: err=%v output=%q; want a failure naming the other process", err, out)
	}

	// A file held open does not stop a clean shutdown.
	f, err := os.Create(filepath.Join(mnt, "lifecycle-bucket", "open.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("held open at shutdown\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	werr, rest := d.stop(t, syscall.SIGTERM)
	f.Close()
	if werr != nil {
		t.Errorf("daemon exit after SIGTERM: %v\n%s", werr, rest)
	}
	if isMounted(t, mnt) {
		syscall.Unmount(mnt, syscall.MNT_DETACH)
		t.Fatal("mount still present after SIGTERM")
	}

	// Restart: the stored credentials are reused and not shown again; the
	// fsynced file is there.
	d2 := startDaemon(t, "--data", data, "--mount", mnt, "--s3", freeAddr(t))
	l := d2.waitLine(t, `S3 root access key|generated S3 root credentials`)
	if strings.Contains(l, "generated S3 root credentials") {
		t.Errorf("second start generated new credentials: %q", l)
	}
	d2.waitLine(t, `^wormfs: ready`)
	b, err := os.ReadFile(filepath.Join(mnt, "lifecycle-bucket", "open.txt"))
	if err != nil || string(b) != "held open at shutdown\n" {
		t.Errorf("after restart: %q, %v", b, err)
	}
	if werr, rest := d2.stop(t, syscall.SIGINT); werr != nil {
		t.Errorf("daemon exit after SIGINT: %v\n%s", werr, rest)
	}
	if isMounted(t, mnt) {
		syscall.Unmount(mnt, syscall.MNT_DETACH)
		t.Fatal("mount still present after SIGINT")
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad sync mode", []string{"--sync", "sometimes"}, "--sync must be posix or always"},
		{"tls cert without key", []string{"--tls-cert", "/nonexistent"}, "--tls-cert and --tls-key go together"},
		{"nothing to serve", []string{"--s3", ""}, "nothing to serve"},
		{"access key without secret", []string{"--access-key", "AKIAEXAMPLE"}, "--access-key and --secret-key go together"},
		{"attr timeout over 1s", []string{"--attr-timeout", "5s"}, "--attr-timeout"},
		{"users file missing", []string{"--users", "/nonexistent/users.json"}, "--users"},
		{"max retention zero", []string{"--max-retention-days", "0"}, "--max-retention-days must be between 1 and"},
		// 10^8 days does not fit a time.Duration: it used to wrap around.
		{"max retention overflows", []string{"--max-retention-days", "100000000"}, "--max-retention-days must be between 1 and"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--data", privateDir(t), "--s3", freeAddr(t)}, tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, wormfsBin, args...).CombinedOutput()
			if err == nil {
				t.Fatalf("wormfs %v succeeded; output %q", args, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output %q does not contain %q", out, tc.want)
			}
		})
	}
}
