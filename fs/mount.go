package fs

import (
	"bufio"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/wormfs/wormfs/meta"
)

// Options configure a mount.
type Options struct {
	Bucket     string        // mount only this bucket at the mount root ("" = every bucket is a top-level dir)
	BypassGID  int           // the lock administrators' group (--admin-gid): with root, they lift holds, bypass GOVERNANCE, set default rules, read the audit log; -1 = root only
	Timeout    time.Duration // attribute and entry timeout; 0 means 1 s
	AllowOther bool          // pass allow_other (cmd sets it when running as root)
	Debug      bool          // go-fuse debug logging
	Logger     *log.Logger   // nil = log.Default()
}

// Mounted is a live mount.
type Mounted struct {
	dir    string
	server *fuse.Server
	fsys   *wormFS
	root   *dirNode
	done   chan struct{}

	mu      sync.Mutex
	unmount bool
	err     error
}

// readyTimeout bounds the wait for a new mount to answer.
const readyTimeout = 10 * time.Second

// Mount mounts store at dir and returns once the mount answers (a stat of
// dir through the mount succeeds). A busy or stale mount point is refused
// with an error that says so.
func Mount(store *meta.Store, dir string, o Options) (*Mounted, error) {
	if store == nil {
		return nil, errors.New("fs: no store")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fs: mount point %s: %w", dir, err)
	}
	dir = abs
	before, err := checkMountPoint(dir)
	if err != nil {
		return nil, err
	}
	if o.Logger != nil {
		logger.Store(o.Logger)
	}
	fsys := newWormFS(store, o)
	root := &dirNode{fsys: fsys, mountRoot: true}
	if o.Bucket != "" {
		if _, err := store.GetBucket(o.Bucket); err != nil {
			return nil, fmt.Errorf("fs: bucket %q: %w", o.Bucket, err)
		}
		root.bucket = o.Bucket
	}
	to := fsys.timeout
	l := o.Logger
	if l == nil {
		l = log.Default()
	}
	mo := fuse.MountOptions{
		AllowOther:        o.AllowOther,
		FsName:            fsName(o),
		Name:              "wormfs",
		MaxWrite:          1 << 20,
		Options:           []string{"default_permissions"},
		Debug:             o.Debug,
		Logger:            l,
		DirectMount:       os.Geteuid() == 0,
		ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC | fuse.CAP_DIRECT_IO_ALLOW_MMAP,
		// Reads answer from memory (ReadResultData): splicing them through
		// a pipe gains nothing, and a direct-I/O read of 1 MiB does not fit
		// the pipe (a log line per read).
		DisableSplice: true,
	}
	opts := &gofs.Options{
		MountOptions:    mo,
		EntryTimeout:    &to,
		AttrTimeout:     &to,
		NegativeTimeout: &to,
		Logger:          l,
		RootStableAttr:  &gofs.StableAttr{Ino: 1},
		// Mode 0 is a mode (chmod 000), not "unset": without this go-fuse
		// shows a file whose permission bits are 0 as 0644.
		NullPermissions: true,
	}
	server, err := gofs.Mount(dir, root, opts)
	if err != nil {
		return nil, fmt.Errorf("fs: mount %s: %w", dir, err)
	}
	m := &Mounted{dir: dir, server: server, fsys: fsys, root: root, done: make(chan struct{})}
	go func() {
		server.Wait()
		close(m.done)
	}()
	if err := waitReady(dir, before); err != nil {
		m.Unmount()
		return nil, err
	}
	return m, nil
}

// checkMountPoint refuses a mount point that is not a directory, is already
// a mount point, or is a dead FUSE mount (ENOTCONN).
func checkMountPoint(dir string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		if errors.Is(err, syscall.ENOTCONN) {
			return 0, fmt.Errorf("fs: %s is a stale FUSE mount (transport endpoint is not connected); run 'umount -l %s' first", dir, dir)
		}
		return 0, fmt.Errorf("fs: mount point %s: %w", dir, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return 0, fmt.Errorf("fs: mount point %s is not a directory", dir)
	}
	if fstype, ok := mountedAt(dir); ok {
		return 0, fmt.Errorf("fs: %s is already a mount point (%s); unmount it first", dir, fstype)
	}
	return st.Dev, nil
}

// mountedAt reports whether dir is a mount point, with its file system type.
func mountedAt(dir string) (string, bool) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || unescapeMount(fields[4]) != dir {
			continue
		}
		for i, f := range fields {
			if f == "-" && i+1 < len(fields) {
				return fields[i+1], true
			}
		}
		return "unknown", true
	}
	return "", false
}

// unescapeMount undoes the octal escapes of /proc/self/mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// waitReady stats dir until the mount answers (a device other than the
// mount point's own).
func waitReady(dir string, before uint64) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		var st syscall.Stat_t
		err := syscall.Stat(dir, &st)
		if err == nil && st.Dev != before {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fs: mount at %s did not answer within %v (last: %v)", dir, readyTimeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Unmount unmounts cleanly; when files are still open, it detaches the
// mount (lazy unmount) and, if the kernel still holds the connection after
// a grace period, aborts it. It is safe to call more than once.
func (m *Mounted) Unmount() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.unmount {
		return m.err
	}
	m.unmount = true
	select {
	case <-m.done:
		// The server stopped: unmounted from outside, or the connection
		// was aborted and a dead mount is left.
		if _, ok := mountedAt(m.dir); ok {
			if err := syscall.Unmount(m.dir, syscall.MNT_DETACH); err != nil {
				m.err = fmt.Errorf("fs: unmount %s: %w", m.dir, err)
			}
		}
		return m.err
	default:
	}
	var st syscall.Stat_t
	statErr := syscall.Stat(m.dir, &st)
	if err := m.server.Unmount(); err == nil {
		<-m.done
		return nil
	}
	if err := syscall.Unmount(m.dir, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
		m.err = fmt.Errorf("fs: unmount %s: %w", m.dir, err)
		return m.err
	}
	select {
	case <-m.done:
		return nil
	case <-time.After(2 * time.Second):
	}
	if statErr == nil {
		if err := abortConnection(st.Dev); err != nil {
			m.err = fmt.Errorf("fs: %s detached, but files are still open and the connection could not be aborted: %w", m.dir, err)
			return m.err
		}
	}
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		m.err = fmt.Errorf("fs: %s detached, but the FUSE server did not stop", m.dir)
	}
	return m.err
}

// Wait blocks until the file system is unmounted.
func (m *Mounted) Wait() { <-m.done }

// fuseCtl is where the fusectl file system shows the FUSE connections.
const fuseCtl = "/sys/fs/fuse/connections"

// abortConnection aborts the FUSE connection of device dev through fusectl
// (mounted for the occasion when it is not, and unmounted again), so that
// a detached mount with open files stops serving.
func abortConnection(dev uint64) error {
	minor := (dev & 0xff) | ((dev >> 12) & 0xfff00)
	abort := fmt.Sprintf("%s/%d/abort", fuseCtl, minor)
	if _, err := os.Stat(abort); errors.Is(err, os.ErrNotExist) {
		if _, ok := mountedAt(fuseCtl); !ok {
			if err := syscall.Mount("fusectl", fuseCtl, "fusectl", 0, ""); err != nil {
				return fmt.Errorf("mount fusectl: %w", err)
			}
			defer syscall.Unmount(fuseCtl, 0)
		}
	}
	return os.WriteFile(abort, []byte("1"), 0)
}

// fsName is the mount source shown in /proc/self/mountinfo: "wormfs", or
// "wormfs:BUCKET" with Options.Bucket (the CLI's helpers find the bucket
// of a path from it).
func fsName(o Options) string {
	if o.Bucket != "" {
		return "wormfs:" + o.Bucket
	}
	return "wormfs"
}
