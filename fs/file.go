package fs

import (
	"context"
	"errors"
	"io"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/wormfs/wormfs/meta"
)

// attrs are POSIX attributes of a file that has no version yet.
type attrs struct{ mode, uid, gid uint32 }

// overrides are chmod, chown and utimes calls that arrived while the file
// had unpublished changes; they apply to the next version.
type overrides struct {
	mode, uid, gid *uint32
	mtime          *time.Time
	meta           map[string]*string // user metadata to set (nil: remove)
}

// fileNode is a file or a symbolic link: one key of a bucket. Every open
// handle that writes shares the node's one meta.Writer, so the kernel's
// view of one inode is one content; a publish turns it into a version.
type fileNode struct {
	gofs.Inode

	fsys *wormFS

	mu       sync.Mutex
	bucket   string
	key      string
	cur      *meta.Version // the newest version known; nil before the first
	rd       *meta.Reader  // reader of cur, opened at the first read
	w        *meta.Writer  // the writer of the open write handles
	wbase    uint64        // Seq of the version w starts from (0: empty)
	writers  int           // open handles that may write
	wrote    bool          // data written since the last publish
	pending  bool          // a create or truncate not published yet
	unlinked bool          // unlinked or replaced: publishes nothing more
	created  attrs         // attributes of a file created here, before its first version
	over     overrides
	mtime    time.Time // time of the last unpublished write
	seen     bool      // content was read through the mount (page cache)
	keepSeq  uint64    // the version the kernel's cached pages hold (0: unknown)
}

// handle is one open file.
type handle struct {
	n      *fileNode
	write  bool
	append bool
	keep   bool // opened with FOPEN_KEEP_CACHE
}

func (n *fileNode) loc() (bucket, key string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.bucket, n.key
}

// startCreate marks a node just created through the mount: empty, with
// no version until its first flush with data or its last close.
func (n *fileNode) startCreate(a attrs) {
	n.mu.Lock()
	if n.w != nil && n.writers == 0 {
		n.w.Abort()
		n.w = nil
	}
	n.unlinked, n.pending, n.created, n.cur, n.rd = false, true, a, nil, nil
	n.wrote, n.over = false, overrides{}
	n.mtime = time.Now()
	bucket, key := n.bucket, n.key
	n.mu.Unlock()
	n.fsys.addPending(n, bucket, key)
}

// observe records v as the newest version and reports whether it is one
// the node did not know (a change made by another path).
func (n *fileNode) observe(v *meta.Version) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.observeLocked(v)
}

func (n *fileNode) observeLocked(v *meta.Version) bool {
	if n.cur != nil && n.cur.Seq == v.Seq {
		n.cur = v // attributes may have changed in place
		return false
	}
	n.cur, n.rd = v, nil
	return true
}

// refreshLocked rereads the current version from the store. A key that
// is gone keeps the last version known (an open file stays readable).
func (n *fileNode) refreshLocked() (changed bool, err error) {
	v, err := n.fsys.store.Get(n.bucket, n.key, "")
	if err != nil {
		if errors.Is(err, meta.ErrNoSuchKey) {
			return false, nil
		}
		return false, err
	}
	return n.observeLocked(v), nil
}

// unpublishedLocked reports whether the node holds changes that no
// version has yet.
func (n *fileNode) unpublishedLocked() bool {
	return !n.unlinked && (n.wrote || n.pending)
}

// unlink makes the node an orphan: nothing it holds is published.
func (n *fileNode) unlink() {
	n.mu.Lock()
	n.unlinked, n.pending, n.wrote = true, false, false
	if n.w != nil && n.writers == 0 {
		n.w.Abort()
		n.w = nil
	}
	bucket, key := n.bucket, n.key
	n.mu.Unlock()
	n.fsys.dropPending(n, bucket, key)
}

// moveTo gives the node the key it was renamed to. The caller has
// published the node's changes (settle) first.
func (n *fileNode) moveTo(bucket, key string) {
	n.mu.Lock()
	n.bucket, n.key = bucket, key
	if n.w != nil {
		n.w.Abort()
		n.w = nil
	}
	n.cur, n.rd = nil, nil
	n.refreshLocked()
	n.mu.Unlock()
}

// settle publishes what the node has not published yet and drops its
// writer (before a rename, whose new version must hold everything).
func (n *fileNode) settle(c caller) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.unpublishedLocked() {
		if err := n.publishLocked(c, false); err != nil {
			return err
		}
	}
	if n.w != nil && n.writers == 0 {
		n.w.Abort()
		n.w = nil
	}
	return nil
}

// ensureWriterLocked makes the writer that the next change goes to. An idle
// writer whose base is no longer the current version (a change over S3) is
// replaced, so the change is not overwritten with older content.
func (n *fileNode) ensureWriterLocked() error {
	if n.w != nil && !n.wrote && !n.pending {
		v, err := n.fsys.store.Get(n.bucket, n.key, "")
		if err == nil && v.Seq != n.wbase || errors.Is(err, meta.ErrNoSuchKey) && n.wbase != 0 {
			n.w.Abort()
			n.w = nil
		}
	}
	if n.w != nil {
		return nil
	}
	var base *meta.Version
	if !n.pending || n.cur != nil {
		if _, err := n.refreshLocked(); err != nil {
			return err
		}
		base = n.cur
	}
	w, err := n.fsys.store.NewWriter(n.bucket, n.key, base)
	if err != nil {
		return err
	}
	n.w = w
	n.wbase = 0
	if base != nil {
		n.wbase = base.Seq
	}
	return nil
}

// publishLocked commits the writer's content as a new version. It keeps
// the POSIX attributes and user metadata of the current version (or the
// attributes given at create), with the pending chmod/chown/utimes applied.
func (n *fileNode) publishLocked(c caller, sync bool) error {
	if err := n.ensureWriterLocked(); err != nil {
		return err
	}
	po := meta.PublishOptions{Actor: n.fsys.actor(c, false), Sync: sync}
	base, err := n.fsys.store.Get(n.bucket, n.key, "")
	switch {
	case err == nil:
		po.Mode, po.UID, po.GID = base.Mode, base.UID, base.GID
		po.ContentType, po.UserMeta, po.Tags = base.ContentType, base.UserMeta, base.Tags
	case errors.Is(err, meta.ErrNoSuchKey):
		po.Mode, po.UID, po.GID = n.created.mode, n.created.uid, n.created.gid
		if n.cur != nil {
			po.Mode, po.UID, po.GID = n.cur.Mode, n.cur.UID, n.cur.GID
			po.UserMeta = n.cur.UserMeta
		}
	default:
		return err
	}
	if n.over.mode != nil {
		po.Mode = *n.over.mode
	}
	if n.over.uid != nil {
		po.UID = *n.over.uid
	}
	if n.over.gid != nil {
		po.GID = *n.over.gid
	}
	if n.over.mtime != nil {
		po.Mtime = *n.over.mtime
	}
	if len(n.over.meta) > 0 {
		m := map[string]string{}
		for k, v := range po.UserMeta {
			m[k] = v
		}
		for k, v := range n.over.meta {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = *v
			}
		}
		po.UserMeta = m
	}
	if !n.wrote {
		n.w.MarkDirty()
	}
	v, err := n.w.Publish(po)
	if err != nil {
		return err
	}
	n.cur, n.rd, n.wbase, n.keepSeq = v, nil, v.Seq, 0
	n.wrote, n.pending, n.over = false, false, overrides{}
	n.fsys.dropPending(n, n.bucket, n.key)
	return nil
}

// fileAttr fills the attributes of the file as the mount shows it now.
func (n *fileNode) fileAttr(a *fuse.Attr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.attrLocked(a)
}

func (n *fileNode) attrLocked(a *fuse.Attr) {
	typ := uint32(syscall.S_IFREG)
	var size int64
	mode, uid, gid := n.created.mode, n.created.uid, n.created.gid
	mtime, ctime := n.mtime, n.mtime
	if v := n.cur; v != nil {
		size, mode, uid, gid, mtime, ctime = v.Size, v.Mode, v.UID, v.GID, v.Mtime, v.Ctime
		if v.Link {
			typ = syscall.S_IFLNK
		}
	}
	if n.w != nil && n.unpublishedLocked() {
		size = n.w.Size()
		if !n.mtime.IsZero() {
			mtime, ctime = n.mtime, n.mtime
		}
	}
	if n.over.mode != nil {
		mode = *n.over.mode
	}
	if n.over.uid != nil {
		uid = *n.over.uid
	}
	if n.over.gid != nil {
		gid = *n.over.gid
	}
	if n.over.mtime != nil {
		mtime = *n.over.mtime
	}
	a.Mode = typ | mode&0o7777
	a.Size = uint64(size)
	a.Blocks = uint64(size+511) / 512
	a.Blksize = blockSize
	a.Nlink = 1
	a.Uid, a.Gid = uid, gid
	setTimes(a, mtime, ctime)
}

// Getattr rereads the current version, so a change made over S3 shows
// within the attribute timeout; when the content changed under pages the
// kernel may cache, it is told to drop them.
func (n *fileNode) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	notify, err := n.getattr(&out.Attr)
	if err != nil {
		return toErrno(err)
	}
	if notify {
		go n.NotifyContent(0, 0) // never while holding our locks, never inline
	}
	return 0
}

// getattr refreshes the node and fills a; notify says the content changed
// under pages the kernel may cache.
func (n *fileNode) getattr(a *fuse.Attr) (notify bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	changed := false
	if !n.unlinked {
		if changed, err = n.refreshLocked(); err != nil {
			return false, err
		}
	}
	n.attrLocked(a)
	return changed && n.seen, nil
}

// open makes a handle. A handle that may write (or truncates, or is the
// handle of a create) counts towards the last-close publish.
func (n *fileNode) open(c caller, flags uint32, create bool) (*handle, syscall.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.pending && !n.unlinked && n.w == nil {
		v, err := n.fsys.store.Get(n.bucket, n.key, "")
		if err != nil {
			return nil, toErrno(err) // gone (deleted over S3)
		}
		n.observeLocked(v)
	}
	if n.cur != nil && n.cur.Link {
		return nil, syscall.ELOOP
	}
	h := &handle{n: n, append: flags&syscall.O_APPEND != 0}
	h.write = create || flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0
	if flags&syscall.O_TRUNC != 0 && !create {
		if err := n.ensureWriterLocked(); err != nil {
			return nil, toErrno(err)
		}
		if err := n.w.Truncate(0); err != nil {
			return nil, toErrno(err)
		}
		n.pending = true
		n.mtime = time.Now()
	}
	if h.write {
		n.writers++
	}
	// The page cache is kept only by a read-only open of the very version
	// the previous read-only open saw, with no writer in between.
	if h.write || n.w != nil || n.cur == nil {
		n.keepSeq = 0
	} else {
		h.keep = n.keepSeq == n.cur.Seq
		n.keepSeq = n.cur.Seq
	}
	return h, 0
}

// Open opens the file. The kernel page cache is kept (FOPEN_KEEP_CACHE)
// only when the version is the one the previous read-only open saw and no
// writer came in between; otherwise the kernel drops it, so an open reads
// what the store holds now. With
// CAP_ATOMIC_O_TRUNC, O_TRUNC arrives here and starts a new, empty
// content that is published at the first flush with data or at the last
// close.
func (n *fileNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	h, errno := n.open(callerOf(ctx), flags, false)
	if errno != 0 {
		return nil, 0, errno
	}
	if h.keep {
		return h, fuse.FOPEN_KEEP_CACHE, 0
	}
	return h, 0, 0
}

// Read reads the unpublished content while the file is being written, and
// the current version otherwise.
func (n *fileNode) Read(ctx context.Context, f gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	for try := 0; ; try++ {
		nr, rd, err := n.readSource(dest, off)
		if err == nil && rd != nil {
			nr, err = rd.ReadAt(dest, off) // outside the lock: a Reader is immutable
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, meta.ErrStale) && try == 0 {
				n.dropReader()
				continue // the version was permanently deleted; read the current one
			}
			return nil, toErrno(err)
		}
		return fuse.ReadResultData(dest[:nr]), 0
	}
}

// readSource reads from the writer when it holds content no version has
// (nr bytes into dest), or returns the reader of the current version.
func (n *fileNode) readSource(dest []byte, off int64) (int, *meta.Reader, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seen = true
	if n.w != nil && (n.unpublishedLocked() || n.unlinked) {
		nr, err := n.w.ReadAt(dest, off)
		return nr, nil, err
	}
	if n.cur == nil {
		return 0, nil, nil
	}
	if n.rd == nil {
		rd, err := n.fsys.store.NewReader(n.cur)
		if err != nil {
			return 0, nil, err
		}
		n.rd = rd
	}
	return 0, n.rd, nil
}

// dropReader forgets the reader and rereads the current version.
func (n *fileNode) dropReader() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rd = nil
	n.refreshLocked()
}

// Write stages data into the shared writer (copy-on-write from the current
// version; O_APPEND writes at the end, costing only the appended bytes).
func (n *fileNode) Write(ctx context.Context, f gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	h, _ := f.(*handle)
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.ensureWriterLocked(); err != nil {
		return 0, toErrno(err)
	}
	if h != nil && h.append {
		off = n.w.Size()
	}
	nw, err := n.w.WriteAt(data, off)
	if err != nil {
		return uint32(nw), toErrno(err)
	}
	n.wrote = true
	n.keepSeq = 0
	n.over.mtime = nil
	n.mtime = time.Now()
	return uint32(nw), 0
}

// Flush (each close) publishes a version when new data was written since
// the last publish, and nothing otherwise: shells flush a duplicated
// descriptor before they write.
func (n *fileNode) Flush(ctx context.Context, f gofs.FileHandle) syscall.Errno {
	h, _ := f.(*handle)
	if h == nil || !h.write {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.wrote && !n.unlinked {
		return toErrno(n.publishLocked(callerOf(ctx), false))
	}
	return 0
}

// Fsync publishes every unpublished change (data, truncate, create) and
// puts it on disk before it returns.
func (n *fileNode) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.unpublishedLocked() {
		return toErrno(n.publishLocked(callerOf(ctx), true))
	}
	return toErrno(n.fsys.store.Sync())
}

// Release (asynchronous, after the last close of a handle) publishes a
// truncate or a create that no flush published (a file created and never
// written becomes a 0-byte version) once the last writing handle is gone.
func (n *fileNode) Release(ctx context.Context, f gofs.FileHandle) syscall.Errno {
	h, _ := f.(*handle)
	if h == nil || !h.write {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.writers--
	if n.writers > 0 {
		return 0
	}
	var err error
	if n.unpublishedLocked() {
		if err = n.publishLocked(callerOf(ctx), false); err != nil {
			logf("publish %s/%s at close: %v", n.bucket, n.key, err)
		}
	}
	if n.w != nil {
		n.w.Abort()
		n.w = nil
	}
	if n.pending || n.unlinked {
		n.pending = false
		n.fsys.dropPending(n, n.bucket, n.key)
	}
	return toErrno(err)
}

// Setattr truncates (a new version: at once for truncate(2), at the flush
// or last close for ftruncate on an open file) and changes the POSIX
// attributes of the current version in place, without a new version.
// While the file has unpublished changes, chmod/chown/utimes apply to the
// version those changes will make.
func (n *fileNode) Setattr(ctx context.Context, f gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	c := callerOf(ctx)
	h, _ := f.(*handle)
	if size, ok := in.GetSize(); ok {
		if errno := n.truncate(c, h, int64(size)); errno != 0 {
			return errno
		}
	}
	var u meta.AttrUpdate
	if mode, ok := in.GetMode(); ok {
		m := mode & 0o7777
		u.Mode = &m
	}
	if uid, ok := in.GetUID(); ok {
		u.UID = &uid
	}
	if gid, ok := in.GetGID(); ok {
		u.GID = &gid
	}
	if mtime, ok := in.GetMTime(); ok {
		u.Mtime = &mtime
	}
	if u.Mode != nil || u.UID != nil || u.GID != nil || u.Mtime != nil {
		n.mu.Lock()
		if n.unpublishedLocked() || n.cur == nil {
			if u.Mode != nil {
				n.over.mode = u.Mode
			}
			if u.UID != nil {
				n.over.uid = u.UID
			}
			if u.GID != nil {
				n.over.gid = u.GID
			}
			if u.Mtime != nil {
				n.over.mtime = u.Mtime
			}
			n.mu.Unlock()
		} else {
			bucket, key := n.bucket, n.key
			n.mu.Unlock()
			v, err := n.fsys.store.UpdateAttrs(bucket, key, "", u)
			if err != nil {
				return toErrno(err)
			}
			n.observe(v)
		}
	}
	n.fileAttr(&out.Attr)
	return 0
}

func (n *fileNode) truncate(c caller, h *handle, size int64) syscall.Errno {
	if size < 0 {
		return syscall.EINVAL
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cur != nil && n.cur.Link {
		return syscall.EINVAL
	}
	if err := n.ensureWriterLocked(); err != nil {
		return toErrno(err)
	}
	if err := n.w.Truncate(size); err != nil {
		return toErrno(err)
	}
	n.mtime = time.Now()
	n.over.mtime = nil
	if h != nil && h.write {
		n.pending = true // ftruncate: published with the handle's next flush or last close
		return 0
	}
	if n.unlinked {
		return 0
	}
	// truncate(2): a complete operation, published now.
	if err := n.publishLocked(c, false); err != nil {
		return toErrno(err)
	}
	if n.writers == 0 {
		n.w.Abort()
		n.w = nil
	}
	return 0
}

// Readlink returns a symlink's target, its content.
func (n *fileNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	n.mu.Lock()
	if _, err := n.refreshLocked(); err != nil {
		n.mu.Unlock()
		return nil, toErrno(err)
	}
	v := n.cur
	n.mu.Unlock()
	if v == nil || !v.Link {
		return nil, syscall.EINVAL
	}
	if v.Size > maxSymlinkTarget {
		return nil, syscall.ENAMETOOLONG
	}
	rd, err := n.fsys.store.NewReader(v)
	if err != nil {
		return nil, toErrno(err)
	}
	buf := make([]byte, v.Size)
	if _, err := rd.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, toErrno(err)
	}
	return buf, 0
}
