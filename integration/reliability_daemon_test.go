package integration

// Helpers of the reliability tests that run the real wormfs binary as a
// child process (so that it can be killed with SIGKILL), clean up the mount
// a killed daemon leaves behind, run `wormfs fsck` on a stopped store, and
// sample the daemon's RSS, threads and open descriptors from /proc.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// relBuildBinary builds the wormfs command (without the race detector: the
// daemon under load would be too slow on two shared cores; the in-process
// tests cover fs and s3 under -race) into dir.
func relBuildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wormfs")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/wormfs/wormfs/cmd/wormfs").CombinedOutput()
	if err != nil {
		t.Fatalf("go build wormfs: %v\n%s", err, out)
	}
	return bin
}

// relDaemon is one `wormfs serve` child process with a mount and a
// listener on 127.0.0.1.
type relDaemon struct {
	t     *testing.T
	bin   string
	data  string
	mnt   string
	extra []string

	cmd    *exec.Cmd
	pid    int
	url    string // http://127.0.0.1:PORT of the listener
	done   chan struct{}
	logMu  sync.Mutex
	log    bytes.Buffer // everything the daemon printed
	runAt  int          // where the current run's output starts in log
	exit   error
	client *s3.Client // root pair, plain HTTP, SDK defaults but no retries
}

var relReadyRE = regexp.MustCompile(`^wormfs: ready .*s3=(http://127\.0\.0\.1:[0-9]+)`)

// relStart starts `wormfs serve` on data and mnt with the test root pair,
// waits for the ready line and returns the daemon. t.Cleanup stops it
// (SIGTERM, then SIGKILL) and removes a mount left behind.
func relStart(t *testing.T, bin, data, mnt string, extra ...string) *relDaemon {
	t.Helper()
	d := &relDaemon{t: t, bin: bin, data: data, mnt: mnt, extra: extra}
	d.start()
	t.Cleanup(func() {
		if d.running() {
			d.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.done:
			case <-time.After(20 * time.Second):
				d.cmd.Process.Kill()
				<-d.done
			}
		}
		relUnmount(mnt)
	})
	return d
}

func (d *relDaemon) start() {
	d.t.Helper()
	if err := d.tryStart(); err != nil {
		d.t.Fatal(err)
	}
}

// tryStart starts the daemon and waits for its ready line; an exit before
// it (or no ready line within 60 s) is an error.
func (d *relDaemon) tryStart() error {
	t := d.t
	t.Helper()
	args := append([]string{"serve", "--data", d.data, "--mount", d.mnt, "--s3", "127.0.0.1:0",
		"--access-key", rootAccessKey, "--secret-key", rootSecretKey}, d.extra...)
	d.logMu.Lock()
	d.runAt = d.log.Len()
	d.logMu.Unlock()
	cmd := exec.Command(d.bin, args...)
	cmd.Env = append(os.Environ(), "WORMFS_ACCESS_KEY=", "WORMFS_SECRET_KEY=", "GOTRACEBACK=all")
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start wormfs: %v", err)
	}
	d.cmd, d.pid, d.done, d.exit, d.url = cmd, cmd.Process.Pid, make(chan struct{}), nil, ""
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l := sc.Text()
			d.logMu.Lock()
			d.log.WriteString(l + "\n")
			d.logMu.Unlock()
			if m := relReadyRE.FindStringSubmatch(l); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
		err := cmd.Wait()
		d.logMu.Lock()
		d.exit = err
		d.logMu.Unlock()
		close(d.done)
	}()
	select {
	case u := <-ready:
		d.url = u
	case <-d.done:
		return fmt.Errorf("wormfs exited before ready (%v):\n%s", d.exitErr(), relCrashExcerpt(d.runOutput()))
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-d.done
		return fmt.Errorf("wormfs not ready within 60 s:\n%s", tailString(d.output(), 4000))
	}
	env := &s3Env{URL: d.url, PlainURL: d.url, noConfig: filepath.Join(t.TempDir(), "empty-aws-config")}
	if err := os.WriteFile(env.noConfig, nil, 0o600); err != nil {
		return err
	}
	// No retries: a request that fails at the kill must fail, not be
	// repeated against the restarted daemon (that would be a second write).
	d.client = env.client(rootAccessKey, rootSecretKey, func(o *s3.Options) { o.Retryer = aws.NopRetryer{} })
	return nil
}

func (d *relDaemon) running() bool {
	select {
	case <-d.done:
		return false
	default:
		return d.cmd != nil
	}
}

func (d *relDaemon) exitErr() error {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	return d.exit
}

// output is everything the daemon printed so far (all its runs).
func (d *relDaemon) output() string {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	return d.log.String()
}

// runOutput is what the current (or last) run printed.
func (d *relDaemon) runOutput() string {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	return d.log.String()[d.runAt:]
}

// kill sends SIGKILL and waits for the process. The dead mount stays (it
// answers ENOTCONN) until relUnmount: the caller detaches it once nothing
// writes to it any more (after a lazy unmount, new opens would land in the
// bare mount point).
func (d *relDaemon) kill() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		d.t.Fatalf("SIGKILL: %v", err)
	}
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.t.Fatal("wormfs did not die within 30 s of SIGKILL")
	}
}

// stop sends SIGTERM and waits for a clean exit (status 0, mount gone).
func (d *relDaemon) stop() {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		d.t.Fatalf("wormfs did not stop within 30 s of SIGTERM:\n%s", tailString(d.output(), 4000))
	}
	if err := d.exitErr(); err != nil {
		d.t.Fatalf("wormfs exit after SIGTERM: %v\n%s", err, tailString(d.output(), 4000))
	}
	if relMounted(d.mnt) {
		relUnmount(d.mnt)
		d.t.Fatalf("%s still mounted after SIGTERM", d.mnt)
	}
}

// restart starts the daemon again on the same data dir and mount point.
func (d *relDaemon) restart() {
	d.t.Helper()
	d.start()
}

// relMounted tells whether dir is a mount point (of this mount namespace).
func relMounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// relUnmount lazily detaches every mount on dir (`umount -l`): a killed
// daemon leaves a dead FUSE mount (ENOTCONN) behind.
func relUnmount(dir string) {
	for i := 0; i < 10 && relMounted(dir); i++ {
		syscall.Unmount(dir, syscall.MNT_DETACH)
	}
}

// relFsck runs `wormfs fsck` on a stopped store and returns its output and
// exit code.
func relFsck(t *testing.T, bin, data string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "fsck", "--data", data)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	default:
		t.Fatalf("wormfs fsck: %v", err)
		return "", -1
	}
}

// relMustFsck fails unless fsck finds a clean store.
func relMustFsck(t *testing.T, bin, data, when string) string {
	t.Helper()
	out, code := relFsck(t, bin, data)
	if code != 0 || strings.Contains(out, "problem:") {
		t.Errorf("fsck %s: exit %d:\n%s", when, code, tailString(out, 4000))
	}
	return strings.TrimSpace(out)
}

// relSample is one reading of the daemon's resources.
type relSample struct {
	At      time.Duration
	RSSKiB  int64
	AnonKiB int64 // RssAnon: heap and stacks (RssFile is mapped files: Badger's memtables and tables)
	Threads int64
	FDs     int64
	// StoreFDs are the descriptors of files in the data dir (Badger keeps
	// every table and value-log file open: they grow with the store).
	StoreFDs int64
	// Goroutines and the Go heap (MiB: in use, and held from the system)
	// are from the daemon's last "stats goroutines=N ..." line (logged on
	// SIGUSR1); -1 before the first one.
	Goroutines   int64
	HeapInuseMiB int64
	HeapSysMiB   int64
}

// relStat returns the value of field name (e.g. "goroutines") in the last
// "stats goroutines=N ..." line of a daemon's output, or -1.
func relStat(out, name string) int64 {
	i := strings.LastIndex(out, "stats goroutines=")
	if i < 0 {
		return -1
	}
	line, _, _ := strings.Cut(out[i+len("stats "):], "\n")
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k != name {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	return -1
}

// relProcSample reads VmRSS, RssAnon and Threads from /proc/PID/status
// and counts /proc/PID/fd (those under dataDir apart).
func relProcSample(pid int, dataDir string) (relSample, error) {
	var s relSample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			s.RSSKiB, _ = strconv.ParseInt(f[1], 10, 64)
		case "RssAnon:":
			s.AnonKiB, _ = strconv.ParseInt(f[1], 10, 64)
		case "Threads:":
			s.Threads, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.FDs = int64(len(fds))
	for _, fd := range fds {
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && strings.HasPrefix(target, dataDir+"/") {
			s.StoreFDs++
		}
	}
	return s, nil
}
