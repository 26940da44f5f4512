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
	"github.com/wormfs/wormfs/lockctl"
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

// fileNode is a file or a symbolic link: one key of a bucket. A handle
// opened with O_TRUNC writes into its own meta.Writer (private); the other
// write handles share the node's one writer (w), so appenders interleave
// whole appends. A publish turns a writer's content into a version.
type fileNode struct {
	gofs.Inode

	fsys *wormFS

	mu       sync.Mutex
	bucket   string
	key      string
	cur      *meta.Version // the newest version known; nil before the first
	rd       *meta.Reader  // reader of cur for shared write handles, opened at the first read
	w        *meta.Writer  // the writer shared by the write handles opened without O_TRUNC
	wbase    uint64        // Seq of the version w starts from (0: empty)
	writers  int           // open handles that may write
	handles  int           // open handles
	wrote    bool          // data written into w since its last publish
	pending  bool          // an ftruncate through a shared handle not published yet
	creating bool          // created here, no version yet (published at the last close)
	unlinked bool          // unlinked or replaced: publishes nothing more
	epoch    uint64        // bumped by unlink and create: older private writers publish nothing
	created  attrs         // attributes of a file created here, before its first version
	over     overrides
	mtime    time.Time // time of the last unpublished write into w
	seen     bool      // content was read through the mount (page cache)
	keepSeq  uint64    // the version the kernel's cached pages hold (0: unknown)

	// carry is the lock set on the file while it had unpublished changes:
	// the version those changes publish gets it too (locks follow the
	// bytes, SPEC §4).
	carry lockctl.Lock

	privs map[*private]struct{} // the open private writers
	show  *private              // the private writer whose size the attributes show

	// The read-only handles that use the page cache, opened on version
	// cachedSeq; their cached pages are dropped as writes arrive
	// (invalidateLocked).
	cachedOpen int
	cachedSeq  uint64
	attrSize   int64     // the size last shown to the kernel (its i_size)
	curSince   time.Time // since when cur is the current version

	// pubv is the newest version this node's own writers published. To
	// read-only handles it replaces the version they opened, as a write in
	// place does on a local file system; a version committed over S3
	// replaces the file as a rename over it would, and descriptors opened
	// before it keep reading what they opened.
	pubv *meta.Version
}

// private is the content of one handle opened with O_TRUNC: its own
// meta.Writer, which no other handle sees or disturbs until it is
// published.
type private struct {
	w       *meta.Writer // nil after a rename: restarted from the current version
	wrote   bool         // data written since the last publish
	pending bool         // an O_TRUNC or ftruncate not published yet
	flushed bool         // a close (FLUSH) of the handle came after its last change
	base    uint64       // Seq of the version current when it was opened (0: none)
	mtime   time.Time    // time of the last change
	epoch   uint64       // the node's epoch at open
}

func (p *private) unpublished() bool { return p.wrote || p.pending }

// handle is one open file.
type handle struct {
	n      *fileNode
	write  bool
	append bool
	keep   bool // opened with FOPEN_KEEP_CACHE
	direct bool // opened with FOPEN_DIRECT_IO
	cached bool // a read-only handle counted in cachedOpen
	priv   *private
	snap   *meta.Version // read-only: the version current at open (nil: empty)
	fixed  bool          // read-only: snap was committed elsewhere after the live content began; read it, not the live content
	rd     *meta.Reader  // reader of snap, opened at the first read
}

// openFlags are the FOPEN_* flags the handle was opened with.
func (h *handle) openFlags() uint32 {
	var fl uint32
	if h.keep {
		fl |= fuse.FOPEN_KEEP_CACHE
	}
	if h.direct {
		fl |= fuse.FOPEN_DIRECT_IO
	}
	return fl
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
	n.unlinked, n.creating, n.pending, n.created, n.cur, n.rd = false, true, false, a, nil, nil
	n.wrote, n.over, n.show = false, overrides{}, nil
	n.epoch++
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
		if n.curSince.IsZero() {
			n.curSince = v.Created
		}
		return false
	}
	if n.cur == nil && n.curSince.IsZero() {
		n.curSince = v.Created // the first version this node knows
	} else {
		n.curSince = time.Now()
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
	return !n.unlinked && (n.wrote || n.pending || n.creating)
}

// liveLocked reports whether p may still publish: the node was neither
// unlinked nor created anew since p was opened.
func (n *fileNode) liveLocked(p *private) bool {
	return !n.unlinked && p.epoch == n.epoch
}

// privUnpublishedLocked reports whether an open private writer holds
// changes that no version has yet.
func (n *fileNode) privUnpublishedLocked() bool {
	for p := range n.privs {
		if p.unpublished() && n.liveLocked(p) {
			return true
		}
	}
	return false
}

// changingLocked reports whether a writer of the node (shared or private)
// holds changes that no version has yet: attribute changes then wait for
// the version those changes make.
func (n *fileNode) changingLocked() bool {
	return n.unpublishedLocked() || n.privUnpublishedLocked()
}

// publishCreatedLocked publishes a file created here that has no version
// yet: the private writer the attributes show, else the shared writer.
func (n *fileNode) publishCreatedLocked(c caller) error {
	if p := n.show; p != nil && p.unpublished() && n.liveLocked(p) {
		return n.publishLocked(c, false, p)
	}
	return n.publishLocked(c, false, nil)
}

// publishTruncatesLocked publishes the private writers that hold an
// O_TRUNC or ftruncate and no data and whose handle was closed: their empty
// version is due at their RELEASE, which the kernel sends asynchronously,
// after the close has returned. Before anything else is written to the
// file, that version must be published, so that it is ordered before the
// later change and does not replace it. (A private writer still open keeps
// its content to itself until its close, as close-to-open says.)
func (n *fileNode) publishTruncatesLocked(c caller) error {
	for p := range n.privs {
		if p.pending && !p.wrote && p.flushed && n.liveLocked(p) {
			if err := n.publishLocked(c, false, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// liveContentLocked is the writer whose unpublished content the file
// shows now (to stat and to read-only handles), or nil when it shows its
// current version: of the writers holding unpublished changes, the one
// changed last, as attrLocked shows it.
func (n *fileNode) liveContentLocked() *meta.Writer {
	shared := n.w != nil && n.unpublishedLocked()
	if p := n.show; p != nil && p.w != nil && p.unpublished() && n.liveLocked(p) && (!shared || !p.mtime.Before(n.mtime)) {
		return p.w
	}
	if shared {
		return n.w
	}
	return nil
}

// liveBaseLocked is the Seq of the version the live content started from
// (0: none), and whether there is live content.
func (n *fileNode) liveBaseLocked() (uint64, bool) {
	w := n.liveContentLocked()
	switch {
	case w == nil:
		return 0, false
	case w == n.w:
		return n.wbase, true
	}
	return n.show.base, true
}

// newestPrivLocked is the live private writer with unpublished changes
// that changed last, other than skip (nil if none).
func (n *fileNode) newestPrivLocked(skip *private) *private {
	var best *private
	for p := range n.privs {
		if p != skip && p.w != nil && p.unpublished() && n.liveLocked(p) && (best == nil || p.mtime.After(best.mtime)) {
			best = p
		}
	}
	return best
}

// invalidateLocked drops the kernel's cached pages of [off, off+size)
// (size 0: the whole file) when read-only handles that use the page cache
// are open, so that they read what was just written. Asynchronous: never
// while holding our locks.
func (n *fileNode) invalidateLocked(off, size int64) {
	if n.cachedOpen > 0 {
		go n.NotifyContent(off, size)
	}
}

// ensurePrivLocked restarts a private writer that a rename dropped, from
// the current version of the new key.
func (n *fileNode) ensurePrivLocked(p *private) error {
	if p.w != nil {
		return nil
	}
	w, err := n.fsys.store.NewFileWriter(n.bucket, n.key, n.cur)
	if err != nil {
		return err
	}
	p.w = w
	return nil
}

// unlink makes the node an orphan: nothing it holds is published.
func (n *fileNode) unlink() {
	n.mu.Lock()
	n.unlinkLocked()
	bucket, key := n.bucket, n.key
	n.mu.Unlock()
	n.fsys.dropPending(n, bucket, key)
}

func (n *fileNode) unlinkLocked() {
	n.unlinked, n.pending, n.creating, n.wrote, n.show = true, false, false, false, nil
	n.epoch++
	if n.w != nil && n.writers == 0 {
		n.w.Abort()
		n.w = nil
	}
}

// deleteKey writes the delete marker of the node's key (del) and makes the
// node an orphan in one step under its lock, so that no publish of the
// node (a RELEASE of a handle that created or truncated the file, a flush)
// can land between the two and bring the file back after its delete.
func (n *fileNode) deleteKey(bucket, key string, del func() error) error {
	n.mu.Lock()
	if n.bucket != bucket || n.key != key {
		n.mu.Unlock()
		return del() // renamed meanwhile: not this name's node
	}
	if err := del(); err != nil {
		n.mu.Unlock()
		return err
	}
	n.unlinkLocked()
	n.mu.Unlock()
	n.fsys.dropPending(n, bucket, key)
	return nil
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
	for p := range n.privs {
		if p.w != nil {
			p.w.Abort() // bound to the old key; restarted at the next use
			p.w = nil
		}
	}
	n.cur, n.rd, n.pubv = nil, nil, nil
	n.refreshLocked()
	n.mu.Unlock()
}

// settle publishes what the node has not published yet and drops its
// writer (before a rename, whose new version must hold everything).
func (n *fileNode) settle(c caller) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.unpublishedLocked() {
		if err := n.publishLocked(c, false, nil); err != nil {
			return err
		}
	}
	for p := range n.privs {
		if p.unpublished() && n.liveLocked(p) {
			if err := n.publishLocked(c, false, p); err != nil {
				return err
			}
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
	if n.w != nil && !n.wrote && !n.pending && !n.creating {
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
	if !n.creating || n.cur != nil {
		if _, err := n.refreshLocked(); err != nil {
			return err
		}
		base = n.cur
	}
	w, err := n.fsys.store.NewFileWriter(n.bucket, n.key, base)
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

// publishLocked commits the content of a writer as a new version: of the
// private writer p, or of the shared writer when p is nil. It keeps the
// POSIX attributes and user metadata of the current version (or the
// attributes given at create), with the pending chmod/chown/utimes applied.
func (n *fileNode) publishLocked(c caller, sync bool, p *private) error {
	var w *meta.Writer
	var wrote bool
	if p == nil {
		if err := n.ensureWriterLocked(); err != nil {
			return err
		}
		w, wrote = n.w, n.wrote
	} else {
		if err := n.ensurePrivLocked(p); err != nil {
			return err
		}
		w, wrote = p.w, p.wrote
	}
	po := meta.PublishOptions{Actor: n.fsys.actor(c, false), Sync: sync, ModeSet: true, Carry: n.carry}
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
	if !wrote {
		w.MarkDirty()
	}
	v, err := w.Publish(po)
	if err != nil {
		return err
	}
	if p == nil {
		n.wbase, n.wrote, n.pending = v.Seq, false, false
	} else {
		p.wrote, p.pending = false, false
	}
	n.show = n.newestPrivLocked(p) // what another private writer wrote shows next
	n.cur, n.rd, n.keepSeq, n.curSince = v, nil, 0, time.Now()
	n.pubv = v
	n.invalidateLocked(0, 0) // cached readers read the published content
	n.creating, n.over = false, overrides{}
	if !n.changingLocked() {
		n.carry = lockctl.Lock{}
	}
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
	shared := n.w != nil && n.unpublishedLocked()
	if shared {
		size = n.w.Size()
		if !n.mtime.IsZero() {
			mtime, ctime = n.mtime, n.mtime
		}
	}
	if p := n.show; p != nil && p.w != nil && p.unpublished() && n.liveLocked(p) && (!shared || !p.mtime.Before(n.mtime)) {
		size, mtime, ctime = p.w.Size(), p.mtime, p.mtime
	}
	n.attrSize = size
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
	if n.unlinked {
		a.Nlink = 0 // unlinked while open (SPEC §3)
	}
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
// handle of a create) counts towards the last-close publish. O_TRUNC gives
// the handle a private writer, starting empty; other write handles share
// the node's writer. A read-only handle reads the version current now.
func (n *fileNode) open(c caller, flags uint32, create bool) (*handle, syscall.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.creating && !n.unlinked {
		v, err := n.fsys.store.Get(n.bucket, n.key, "")
		switch {
		case err == nil:
			n.observeLocked(v)
		case n.writers == 0 || !errors.Is(err, meta.ErrNoSuchKey):
			return nil, toErrno(err) // gone (deleted over S3)
		}
	}
	if n.cur != nil && n.cur.Link {
		return nil, syscall.ELOOP
	}
	h := &handle{n: n, append: flags&syscall.O_APPEND != 0}
	trunc := flags&syscall.O_TRUNC != 0
	h.write = create || flags&syscall.O_ACCMODE != syscall.O_RDONLY || trunc
	if h.write {
		// A truncate whose handle was closed but not yet released (RELEASE
		// is asynchronous) happened before this open: publish it now, or
		// its empty version would land after what this handle writes.
		if err := n.publishTruncatesLocked(c); err != nil {
			return nil, toErrno(err)
		}
	}
	if trunc {
		w, err := n.fsys.store.NewFileWriter(n.bucket, n.key, nil)
		if err != nil {
			return nil, toErrno(err)
		}
		h.priv = &private{w: w, pending: true, mtime: time.Now(), epoch: n.epoch}
		if n.cur != nil {
			h.priv.base = n.cur.Seq
		}
		n.invalidateLocked(0, 0)
		if n.privs == nil {
			n.privs = map[*private]struct{}{}
		}
		n.privs[h.priv] = struct{}{}
		n.show = h.priv
	}
	// Different handles may see different contents now, so the page cache
	// is used only where it cannot mix them: by a write handle that is the
	// only handle and shares the node's writer, and by read-only handles
	// while no write handle is open, all reading one version. The cache is
	// kept (FOPEN_KEEP_CACHE) only by a read-only open of the very version
	// the previous read-only open saw, with no writer in between.
	switch {
	case h.write:
		h.direct = h.priv != nil || n.handles > 0
		n.keepSeq = 0
	case n.writers > 0 || n.cur == nil || n.cachedOpen > 0 && n.cachedSeq != n.cur.Seq ||
		n.attrSize != n.cur.Size || time.Since(n.curSince) < n.fsys.timeout:
		// The kernel cuts page-cache reads at the size it was last
		// shown, which may be another version's until the attribute
		// timeout; direct reads end where the version ends. So a file
		// that is being written, or changed within the attribute
		// timeout, is read with direct I/O.
		h.direct = true
		n.keepSeq = 0
	default:
		h.cached = true
		h.keep = n.keepSeq == n.cur.Seq
		n.keepSeq = n.cur.Seq
		n.cachedOpen++
		n.cachedSeq = n.cur.Seq
	}
	if !h.write {
		h.snap = n.cur
		if base, ok := n.liveBaseLocked(); ok && n.cur != nil && (n.pubv == nil || n.cur.Seq != n.pubv.Seq) && n.cur.Seq > base {
			// Committed over S3 after the mount's writer began: that
			// version replaced the file (as a rename over it would), and
			// a new open reads it; the writer's close publishes after it.
			h.fixed = true
		}
		if h.snap == nil && n.creating {
			// Created here and not published yet: the handle reads the
			// version committed meanwhile by someone else (over S3), or
			// nothing (stat shows what the writer wrote so far); an open
			// after the writer's close reads its version.
			v, err := n.fsys.store.Get(n.bucket, n.key, "")
			switch {
			case err == nil && !v.Link:
				h.snap, h.fixed = v, true
			case err != nil && !errors.Is(err, meta.ErrNoSuchKey) && !errors.Is(err, meta.ErrDeleteMarker):
				return nil, toErrno(err)
			}
		}
	}
	if h.write {
		n.writers++
	}
	n.handles++
	return h, 0
}

// Open opens the file. With CAP_ATOMIC_O_TRUNC, O_TRUNC arrives here and
// starts the handle's own, empty content, published at its first flush
// with data or at its close. See open for the page cache.
func (n *fileNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	h, errno := n.open(callerOf(ctx), flags, false)
	if errno != 0 {
		return nil, 0, errno
	}
	return h, h.openFlags(), 0
}

// Read reads what the handle sees: a read-only handle the version that
// was current when it was opened, an O_TRUNC handle its own content, a
// shared write handle the shared writer's content (or the current version
// while nothing is written).
func (n *fileNode) Read(ctx context.Context, f gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h, _ := f.(*handle)
	for try := 0; ; try++ {
		nr, rd, err := n.readSource(h, dest, off)
		if err == nil && rd != nil {
			nr, err = rd.ReadAt(dest, off) // outside the lock: a Reader is immutable
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, meta.ErrStale) && try == 0 {
				n.dropReader(h)
				continue // the version was permanently deleted; read the current one
			}
			return nil, toErrno(err)
		}
		return fuse.ReadResultData(dest[:nr]), 0
	}
}

// readSource reads from a writer (nr bytes into dest), or returns the
// reader of the version the handle reads.
func (n *fileNode) readSource(h *handle, dest []byte, off int64) (int, *meta.Reader, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seen = true
	switch {
	case h != nil && h.priv != nil:
		if err := n.ensurePrivLocked(h.priv); err != nil {
			return 0, nil, err
		}
		nr, err := h.priv.w.ReadAt(dest, off)
		return nr, nil, err
	case h != nil && !h.write:
		// A read-only handle reads what a local file system would show:
		// the bytes written so far by a writer that has not published
		// them, else the current version.
		if w := n.liveContentLocked(); w != nil && !h.fixed {
			nr, err := w.ReadAt(dest, off)
			return nr, nil, err
		}
		v := h.snap
		if pv := n.pubv; pv != nil && (v == nil || pv.Seq > v.Seq) {
			v = pv
		}
		if v == nil {
			return 0, nil, nil
		}
		if h.rd == nil || h.snap != v {
			rd, err := n.fsys.store.NewReader(v)
			if err != nil {
				return 0, nil, err
			}
			h.rd, h.snap = rd, v
		}
		return 0, h.rd, nil
	}
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

// dropReader forgets the reader of a version that is gone and rereads the
// current version.
func (n *fileNode) dropReader(h *handle) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rd = nil
	n.refreshLocked()
	if h != nil && !h.write {
		h.rd, h.snap = nil, n.cur
	}
}

// Write stages data into the handle's private writer, or into the shared
// writer (copy-on-write from the current version; O_APPEND writes at the
// end, costing only the appended bytes).
func (n *fileNode) Write(ctx context.Context, f gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	h, _ := f.(*handle)
	n.mu.Lock()
	defer n.mu.Unlock()
	if h != nil && h.priv != nil {
		p := h.priv
		if err := n.ensurePrivLocked(p); err != nil {
			return 0, toErrno(err)
		}
		if h.append {
			off = p.w.Size()
		}
		nw, err := p.w.WriteAt(data, off)
		if err != nil {
			return uint32(nw), toErrno(err)
		}
		p.wrote, p.mtime = true, time.Now()
		n.show, n.keepSeq, n.over.mtime = p, 0, nil
		n.invalidateLocked(off, int64(nw))
		return uint32(nw), 0
	}
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
	n.invalidateLocked(off, int64(nw))
	return uint32(nw), 0
}

// Flush (each close) publishes a version when new data was written
// through the handle's writer since its last publish, and nothing
// otherwise: shells flush a duplicated descriptor before they write.
func (n *fileNode) Flush(ctx context.Context, f gofs.FileHandle) syscall.Errno {
	h, _ := f.(*handle)
	if h == nil || !h.write {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if p := h.priv; p != nil {
		if p.wrote && n.liveLocked(p) {
			return toErrno(n.publishLocked(callerOf(ctx), false, p))
		}
		p.flushed = true
		return 0
	}
	if n.wrote && !n.unlinked {
		return toErrno(n.publishLocked(callerOf(ctx), false, nil))
	}
	return 0
}

// Fsync publishes every unpublished change of the handle's writer (data,
// truncate, create) and puts it on disk before it returns.
func (n *fileNode) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno {
	h, _ := f.(*handle)
	n.mu.Lock()
	defer n.mu.Unlock()
	if h != nil && h.priv != nil {
		if h.priv.unpublished() && n.liveLocked(h.priv) {
			return toErrno(n.publishLocked(callerOf(ctx), true, h.priv))
		}
		return toErrno(n.fsys.store.Sync())
	}
	if n.unpublishedLocked() {
		return toErrno(n.publishLocked(callerOf(ctx), true, nil))
	}
	return toErrno(n.fsys.store.Sync())
}

// Release (asynchronous, after the last close of a handle) publishes what
// no flush published: the O_TRUNC of a private handle that was never
// written (an empty version), and, once the last writing handle is gone,
// a create or ftruncate of the shared writer (a file created and never
// written becomes a 0-byte version).
func (n *fileNode) Release(ctx context.Context, f gofs.FileHandle) syscall.Errno {
	h, _ := f.(*handle)
	if h == nil {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.handles--
	if h.cached {
		n.cachedOpen--
	}
	if !h.write {
		return 0
	}
	var err error
	if p := h.priv; p != nil {
		delete(n.privs, p)
		if p.unpublished() && n.liveLocked(p) {
			if err = n.publishLocked(callerOf(ctx), false, p); err != nil {
				logf("publish %s/%s at close: %v", n.bucket, n.key, err)
			}
		}
		if n.show == p {
			n.show = nil
		}
		if p.w != nil {
			p.w.Abort()
			p.w = nil
		}
	}
	n.writers--
	if n.writers > 0 {
		return toErrno(err)
	}
	if n.unpublishedLocked() {
		if err = n.publishLocked(callerOf(ctx), false, nil); err != nil {
			logf("publish %s/%s at close: %v", n.bucket, n.key, err)
		}
	}
	if n.w != nil {
		n.w.Abort()
		n.w = nil
	}
	if n.creating || n.pending || n.unlinked {
		n.creating, n.pending = false, false
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
	u := meta.AttrUpdate{Actor: n.fsys.actor(c, false)}
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
		mtime = meta.ClampTime(mtime)
		u.Mtime = &mtime
	}
	if u.Mode != nil || u.UID != nil || u.GID != nil || u.Mtime != nil {
		n.mu.Lock()
		if n.changingLocked() || n.cur == nil {
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
	if size > meta.MaxSize {
		return syscall.EFBIG
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cur != nil && n.cur.Link {
		return syscall.EINVAL
	}
	if h != nil && h.priv != nil {
		// ftruncate of an O_TRUNC handle: its own content, published with
		// its next flush or its close.
		p := h.priv
		if err := n.ensurePrivLocked(p); err != nil {
			return toErrno(err)
		}
		if err := p.w.Truncate(size); err != nil {
			return toErrno(err)
		}
		p.pending, p.flushed, p.mtime = true, false, time.Now()
		n.show, n.keepSeq, n.over.mtime = p, 0, nil
		n.invalidateLocked(0, 0)
		return 0
	}
	if err := n.ensureWriterLocked(); err != nil {
		return toErrno(err)
	}
	if err := n.w.Truncate(size); err != nil {
		return toErrno(err)
	}
	n.mtime = time.Now()
	n.over.mtime = nil
	n.invalidateLocked(0, 0)
	if h != nil && h.write {
		n.pending = true // ftruncate: published with the handle's next flush or last close
		return 0
	}
	if n.unlinked {
		return 0
	}
	// truncate(2): a complete operation, published now.
	if err := n.publishLocked(c, false, nil); err != nil {
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
