package integration

// Helpers of the history tests: one store with a real mount (testMount)
// and a real S3 listener over the same store, as `wormfs serve` runs them,
// and the wormfs binary for the CLI checks.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	wfs "github.com/wormfs/wormfs/fs"
	"github.com/wormfs/wormfs/meta"
	wormfs3 "github.com/wormfs/wormfs/s3"
)

// historyEnv is a mount and an S3 listener over one store.
type historyEnv struct {
	*mountEnv
	s3 *s3Env
}

// testHistory mounts a new store (testMount) and serves S3 over the same
// store, with the root pair and users. Servers stop before the unmount.
func testHistory(t *testing.T, users []wormfs3.User, opts ...func(*wfs.Options)) *historyEnv {
	t.Helper()
	e := testMount(t, opts...)
	return &historyEnv{mountEnv: e, s3: serveS3(t, e.store, users)}
}

// serveS3 starts a listener over store (TLS for the SDK, plain HTTP too).
func serveS3(t *testing.T, st *meta.Store, users []wormfs3.User) *s3Env {
	t.Helper()
	logBuf := &bytes.Buffer{}
	lw := &syncWriter{mu: make(chan struct{}, 1), buf: logBuf}
	srv, err := wormfs3.New(st, wormfs3.Options{
		AccessKey: rootAccessKey, SecretKey: rootSecretKey, Users: users, Region: testRegion,
		Logger: log.New(lw, "s3: ", log.LstdFlags|log.Lmicroseconds),
	})
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	certPEM, cert := testCert(t)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	tlsSrv := httptest.NewUnstartedServer(srv)
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	tlsSrv.StartTLS()
	plain := httptest.NewServer(srv)
	t.Cleanup(func() {
		plain.Close()
		tlsSrv.Close()
		if t.Failed() && logBuf.Len() > 0 {
			t.Logf("listener log:\n%s", tailString(logBuf.String(), 4000))
		}
	})
	_, port, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())
	e := &s3Env{
		Store: st, Server: srv, URL: tlsSrv.URL, PlainURL: plain.URL, TLSPort: port,
		CertPEM: certPEM, Roots: roots, Log: logBuf,
		noConfig: filepath.Join(t.TempDir(), "empty-aws-config"),
	}
	if err := os.WriteFile(e.noConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Client = e.client(rootAccessKey, rootSecretKey)
	return e
}

// vp is a path in the versions view of this mount.
func (e *mountEnv) vp(bucket, key string, id ...string) string {
	return e.p(append([]string{".wormfs", "versions", bucket, key}, id...)...)
}

// viewNames lists a directory in its own order (os.ReadDir would sort).
func viewNames(t *testing.T, dir string) []string {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		t.Fatalf("readdir %s: %v", dir, err)
	}
	return names
}

// ids are the version ids of a key in the store, newest first.
func (e *mountEnv) ids(bucket, key string) []string {
	e.t.Helper()
	var out []string
	for _, v := range e.versions(bucket, key) {
		out = append(out, v.ID)
	}
	return out
}

// intact is what must not change about a protected version: its bytes
// and its lock.
type intact struct {
	id, content string
	lock        string
}

func (e *mountEnv) intactOf(bucket, key, id string) intact {
	e.t.Helper()
	v, err := e.store.Get(bucket, key, id)
	if err != nil {
		e.t.Fatalf("Get %s/%s@%s: %v", bucket, key, id, err)
	}
	return intact{id: v.ID, content: string(e.content(v)), lock: lockString(v)}
}

func lockString(v *meta.Version) string {
	return string(v.RetMode) + " " + v.RetUntil.UTC().Format(time.RFC3339Nano) + " hold=" + map[bool]string{true: "ON", false: "OFF"}[v.LegalHold]
}

// assertIntact fails unless the version still exists with the same bytes
// and lock, read from the store and through the versions view.
func (e *mountEnv) assertIntact(bucket, key string, want intact) {
	e.t.Helper()
	if got := e.intactOf(bucket, key, want.id); got != want {
		e.t.Fatalf("protected version changed:\n got %+v\nwant %+v", got, want)
	}
	b, err := os.ReadFile(e.vp(bucket, key, want.id))
	if err != nil || string(b) != want.content {
		e.t.Fatalf("versions view of %s/%s@%s: %q, %v; want %q", bucket, key, want.id, b, err, want.content)
	}
}

// auditRecords returns the audit log from the store.
func auditRecords(t *testing.T, st *meta.Store) []meta.AuditRecord {
	t.Helper()
	var out []meta.AuditRecord
	if err := st.Audit(1, func(r meta.AuditRecord) error { out = append(out, r); return nil }); err != nil {
		t.Fatalf("Audit: %v", err)
	}
	return out
}

// bypassRecords are the audit records of bypasses on bucket/key@id.
func bypassRecords(t *testing.T, st *meta.Store, bucket, key, id string) []meta.AuditRecord {
	t.Helper()
	var out []meta.AuditRecord
	for _, r := range auditRecords(t, st) {
		if r.Bypass && r.Bucket == bucket && r.Key == key && r.VersionID == id {
			out = append(out, r)
		}
	}
	return out
}

// manifest maps every path under root to what it is: "d:PERM" for a
// directory, "l:TARGET" for a symlink, "f:PERM:SHA256" for a file.
func manifest(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m[rel] = "l:" + target
		case d.IsDir():
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			m[rel] = fmt.Sprintf("d:%o", st.Mode().Perm())
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			m[rel] = fmt.Sprintf("f:%o:%s", st.Mode().Perm(), hex.EncodeToString(h[:]))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return m
}

func manifestString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + " " + m[k] + "\n")
	}
	return b.String()
}

// errnoIs tells whether err carries errno.
func errnoIs(err error, errno syscall.Errno) bool {
	return errors.Is(err, errno)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// wormfsBinary builds the wormfs command once per test run.
func wormfsBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wormfs-history-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "wormfs")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", binPath, "github.com/wormfs/wormfs/cmd/wormfs").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out) + err.Error())
		}
	})
	if binErr != nil {
		t.Fatalf("go build wormfs: %v", binErr)
	}
	return binPath
}

// runWormfs runs the wormfs binary, bounded in time, and returns its
// combined output and exit code.
func runWormfs(t *testing.T, args ...string) (string, int) {
	t.Helper()
	bin := wormfsBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
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
		t.Fatalf("run wormfs %v: %v", args, err)
		return "", -1
	}
}

// mountSource is the source field of the mount at dir in /proc/self/mounts.
func mountSource(dir string) (string, bool) {
	b, _ := os.ReadFile("/proc/self/mounts")
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 2 && f[1] == dir {
			return f[0], true
		}
	}
	return "", false
}
