package fs

import (
	"context"
	"encoding/json"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/wormfs/wormfs/meta"
)

// auditLog is the rendering of the audit log as the .wormfs/audit file
// shows it: one JSON record a line, exactly as `wormfs audit` prints it.
// The log only grows, so the rendering is extended with the records
// appended since the last read instead of being redone.
type auditLog struct {
	mu   sync.Mutex
	buf  []byte
	next uint64 // the first seq not rendered yet (0: nothing read)
}

// snapshot returns the rendering up to the newest record. The slice is
// never written to afterwards (later records are appended beyond it).
func (l *auditLog) snapshot(s *meta.Store) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next == 0 {
		l.next = 1
	}
	err := s.Audit(l.next, func(r meta.AuditRecord) error {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		l.buf = append(append(l.buf, b...), '\n')
		l.next = r.Seq + 1
		return nil
	})
	return l.buf[:len(l.buf):len(l.buf)], err
}

// auditFile is .wormfs/audit: read-only, its size the length of the log
// now; each open reads the log as it was at the open.
type auditFile struct {
	gofs.Inode
	roFile

	fsys *wormFS
	log  *auditLog
}

// auditHandle holds the log as it was at open.
type auditHandle struct{ data []byte }

func (n *auditFile) attr(a *fuse.Attr) syscall.Errno {
	b, err := n.log.snapshot(n.fsys.store)
	if err != nil {
		return toErrno(err)
	}
	// The log names every key: root and lock administrators only (SPEC §4).
	a.Mode = syscall.S_IFREG | 0o400
	if g := n.fsys.opts.BypassGID; g >= 0 && int64(g) < 1<<32-1 {
		a.Mode, a.Gid = syscall.S_IFREG|0o440, uint32(g)
	}
	a.Size = uint64(len(b))
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = blockSize
	a.Nlink = 1
	t := n.fsys.store.SysNow()
	setTimes(a, t, t)
	return 0
}

func (n *auditFile) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	return n.attr(&out.Attr)
}

// Open snapshots the log. The handle is direct I/O: the file grows between
// opens, so the kernel must neither cut reads at an old size nor serve old
// pages.
func (n *auditFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if writeFlags(flags) {
		return nil, 0, syscall.EROFS
	}
	if !n.fsys.isAdmin(callerOf(ctx)) {
		return nil, 0, syscall.EACCES
	}
	b, err := n.log.snapshot(n.fsys.store)
	if err != nil {
		return nil, 0, toErrno(err)
	}
	return &auditHandle{data: b}, fuse.FOPEN_DIRECT_IO, 0
}

func (n *auditFile) Read(ctx context.Context, f gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h, ok := f.(*auditHandle)
	if !ok {
		return nil, syscall.EBADF
	}
	if off >= int64(len(h.data)) {
		return fuse.ReadResultData(nil), 0
	}
	return fuse.ReadResultData(h.data[off:min(off+int64(len(dest)), int64(len(h.data)))]), 0
}

func (n *auditFile) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENODATA
}

func (n *auditFile) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return listNames(dest, nil)
}
