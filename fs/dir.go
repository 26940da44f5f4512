package fs

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/wormfs/wormfs/meta"
)

// dirNode is a directory: the list of buckets (bucket ""), a bucket's root
// (prefix ""), or a directory inside a bucket (prefix "x/y/").
type dirNode struct {
	gofs.Inode

	fsys      *wormFS
	mountRoot bool // the mount root, where .wormfs names are reserved

	mu     sync.Mutex
	bucket string
	prefix string
}

// loc returns the node's bucket and key prefix.
func (n *dirNode) loc() (bucket, prefix string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.bucket, n.prefix
}

func (n *dirNode) setLoc(bucket, prefix string) {
	n.mu.Lock()
	n.bucket, n.prefix = bucket, prefix
	n.mu.Unlock()
}

// isBuckets reports whether n is the list of buckets.
func (n *dirNode) isBuckets() bool {
	b, _ := n.loc()
	return b == ""
}

// childKey checks a name used in this directory and returns its key.
func (n *dirNode) childKey(name string) (bucket, key string, errno syscall.Errno) {
	bucket, prefix := n.loc()
	if len(name) > meta.MaxNameLen {
		return "", "", syscall.ENAMETOOLONG
	}
	if name == "" || strings.ContainsAny(name, "/\x00") {
		return "", "", syscall.EINVAL
	}
	key = prefix + name
	if len(key)+1 > meta.MaxKeyLen { // +1: room for a directory marker's "/"
		if len(key) > meta.MaxKeyLen {
			return "", "", syscall.ENAMETOOLONG
		}
	}
	return bucket, key, 0
}

// reserved reports whether name is reserved in this directory.
func (n *dirNode) reserved(name string) bool {
	return n.mountRoot && strings.HasPrefix(name, reservedPrefix)
}

// newDir makes (or finds) the node of a directory.
func (n *dirNode) newDir(ctx context.Context, bucket, prefix string) *gofs.Inode {
	kind := byte(kindDir)
	if prefix == "" {
		kind = kindBucket
	}
	id := n.fsys.ident(kind, syscall.S_IFDIR, bucket, prefix)
	return n.NewInode(ctx, &dirNode{fsys: n.fsys, bucket: bucket, prefix: prefix}, id)
}

// newFile makes (or finds) the node of a file or symlink with version v.
func (n *dirNode) newFile(ctx context.Context, bucket, key string, v *meta.Version) *gofs.Inode {
	mode := uint32(syscall.S_IFREG)
	if v != nil && v.Link {
		mode = syscall.S_IFLNK
	}
	id := n.fsys.ident(kindFile, mode, bucket, key)
	ch := n.NewInode(ctx, &fileNode{fsys: n.fsys, bucket: bucket, key: key, cur: v}, id)
	if fn, ok := ch.Operations().(*fileNode); ok && v != nil {
		fn.observe(v)
	}
	return ch
}

// dirAttr fills the attributes of a directory.
func (n *dirNode) dirAttr(a *fuse.Attr) {
	bucket, prefix := n.loc()
	a.Mode = syscall.S_IFDIR | 0o755
	a.Nlink = 2
	a.Blksize = blockSize
	t := n.fsys.started
	if prefix == "" {
		if rec, err := n.fsys.bucketAttrs(bucket); err == nil {
			a.Mode = syscall.S_IFDIR | rec.Mode&0o7777
			a.Uid, a.Gid = rec.UID, rec.GID
			setTimes(a, rec.Mtime, rec.Ctime)
			return
		}
	} else if v, err := n.fsys.store.Get(bucket, prefix, ""); err == nil {
		a.Mode = syscall.S_IFDIR | v.Mode&0o7777
		a.Uid, a.Gid = v.UID, v.GID
		setTimes(a, v.Mtime, v.Ctime)
		return
	}
	setTimes(a, t, t)
}

// Getattr reports a directory's attributes: an explicit directory's come
// from its marker object, a bucket's from its record (dirattr.go), an
// implicit one's are 0755 root.
func (n *dirNode) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.dirAttr(&out.Attr)
	return 0
}

// Setattr changes the POSIX attributes of an explicit directory's marker in
// place. On an implicit directory, chmod and chown write a marker (which
// makes the directory explicit); times alone are accepted and not kept.
// A bucket's directory (and the bucket list) keeps them in a store
// configuration record (dirattr.go), so cp -a and tar x into a bucket work.
func (n *dirNode) Setattr(ctx context.Context, f gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	bucket, prefix := n.loc()
	mode, hasMode := in.GetMode()
	uid, hasUID := in.GetUID()
	gid, hasGID := in.GetGID()
	mtime, hasMtime := in.GetMTime()
	if _, ok := in.GetSize(); ok {
		return syscall.EISDIR
	}
	u := meta.AttrUpdate{Actor: n.fsys.actor(callerOf(ctx), false)}
	if hasMode {
		m := mode & 0o7777
		u.Mode = &m
	}
	if hasUID {
		u.UID = &uid
	}
	if hasGID {
		u.GID = &gid
	}
	if hasMtime {
		mtime = meta.ClampTime(mtime)
		u.Mtime = &mtime
	}
	if prefix == "" {
		if u.Mode != nil || u.UID != nil || u.GID != nil || u.Mtime != nil {
			if err := n.fsys.setBucketAttrs(bucket, u); err != nil {
				return toErrno(err)
			}
		}
		n.dirAttr(&out.Attr)
		return 0
	}
	if u.Mode != nil || u.UID != nil || u.GID != nil || u.Mtime != nil {
		_, err := n.fsys.store.UpdateAttrs(bucket, prefix, "", u)
		if errors.Is(err, meta.ErrNoSuchKey) {
			err = nil
			if hasMode || hasUID || hasGID {
				err = n.writeMarker(ctx, bucket, prefix, u)
			}
		}
		if err != nil {
			return toErrno(err)
		}
	}
	n.dirAttr(&out.Attr)
	return 0
}

// writeMarker publishes the zero-byte marker object of a directory.
func (n *dirNode) writeMarker(ctx context.Context, bucket, key string, u meta.AttrUpdate) error {
	c := callerOf(ctx)
	po := meta.PublishOptions{Actor: n.fsys.actor(c, false), Mode: 0o755, ModeSet: true, UID: c.uid, GID: c.gid}
	if u.Mode != nil {
		po.Mode = *u.Mode
	}
	if u.UID != nil {
		po.UID = *u.UID
	}
	if u.GID != nil {
		po.GID = *u.GID
	}
	if u.Mtime != nil {
		po.Mtime = *u.Mtime
	}
	w, err := n.fsys.store.NewWriter(bucket, key, nil)
	if err != nil {
		return err
	}
	defer w.Abort()
	w.MarkDirty()
	_, err = w.Publish(po)
	return err
}

// Lookup finds a bucket, a directory (which shadows an object of the same
// name), a file created here and not yet published, or an object.
func (n *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if n.reserved(name) {
		if name == reservedPrefix {
			return n.lookupViews(ctx, out) // views.go
		}
		return nil, syscall.ENOENT
	}
	if n.isBuckets() {
		if _, err := n.fsys.store.GetBucket(name); err != nil {
			return nil, toErrno(err)
		}
		ch := n.newDir(ctx, name, "")
		ch.Operations().(*dirNode).dirAttr(&out.Attr)
		return ch, 0
	}
	bucket, key, errno := n.childKey(name)
	if errno != 0 {
		return nil, errno
	}
	if p := n.fsys.getPending(bucket, key); p != nil {
		p.fileAttr(&out.Attr)
		return p.EmbeddedInode(), 0
	}
	isDir, v, err := n.fsys.store.Lookup(bucket, key)
	if err != nil {
		return nil, toErrno(err)
	}
	if isDir {
		ch := n.newDir(ctx, bucket, key+"/")
		ch.Operations().(*dirNode).dirAttr(&out.Attr)
		return ch, 0
	}
	ch := n.newFile(ctx, bucket, key, v)
	fn, ok := ch.Operations().(*fileNode)
	if !ok {
		return nil, syscall.EIO
	}
	fn.fileAttr(&out.Attr)
	return ch, 0
}

// Readdir lists buckets, or the directories and files directly under the
// prefix (a directory shadows a file of the same name; the marker object
// of the directory itself is not listed), plus files created here and not
// yet published.
func (n *dirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	bucket, prefix := n.loc()
	if bucket == "" {
		bs, err := n.fsys.store.ListBuckets()
		if err != nil {
			return nil, toErrno(err)
		}
		out := make([]fuse.DirEntry, 0, len(bs))
		for _, b := range bs {
			out = append(out, fuse.DirEntry{Name: b.Name, Mode: syscall.S_IFDIR, Ino: n.fsys.inoOf(kindBucket, b.Name, "")})
		}
		return gofs.NewListDirStream(out), 0
	}
	entries := map[string]fuse.DirEntry{}
	after := ""
	for {
		res, err := n.fsys.store.List(bucket, meta.ListOptions{Prefix: prefix, Delimiter: "/", After: after})
		if err != nil {
			return nil, toErrno(err)
		}
		for _, p := range res.Prefixes {
			name := strings.TrimSuffix(p[len(prefix):], "/")
			if name == "" || name == "." || name == ".." || n.reserved(name) {
				continue
			}
			entries[name] = fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: n.fsys.inoOf(kindDir, bucket, p)}
		}
		for _, v := range res.Objects {
			name := v.Key[len(prefix):]
			if name == "" || n.reserved(name) {
				continue // the directory's own marker
			}
			if _, dir := entries[name]; dir {
				continue
			}
			mode := uint32(syscall.S_IFREG)
			if v.Link {
				mode = syscall.S_IFLNK
			}
			entries[name] = fuse.DirEntry{Name: name, Mode: mode, Ino: n.fsys.inoOf(kindFile, bucket, v.Key)}
		}
		if !res.Truncated {
			break
		}
		after = res.Next
	}
	for key := range n.fsys.pendingUnder(bucket, prefix) {
		name := key[len(prefix):]
		if strings.Contains(name, "/") {
			continue
		}
		if _, ok := entries[name]; !ok {
			entries[name] = fuse.DirEntry{Name: name, Mode: syscall.S_IFREG, Ino: n.fsys.inoOf(kindFile, bucket, key)}
		}
	}
	out := make([]fuse.DirEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return gofs.NewListDirStream(out), 0
}

// Mkdir creates a bucket (at the bucket list: versioning Enabled, Object
// Lock enabled, no default retention) or a directory marker object.
func (n *dirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if n.reserved(name) {
		return nil, syscall.EPERM
	}
	c := callerOf(ctx)
	if n.isBuckets() {
		if _, err := n.fsys.store.CreateBucket(name, meta.BucketOptions{ObjectLock: true}, n.fsys.actor(c, false)); err != nil {
			return nil, toErrno(err)
		}
		ch := n.newDir(ctx, name, "")
		ch.Operations().(*dirNode).dirAttr(&out.Attr)
		return ch, 0
	}
	bucket, key, errno := n.childKey(name)
	if errno != 0 {
		return nil, errno
	}
	if errno := n.checkFree(bucket, key); errno != 0 {
		return nil, errno
	}
	m := mode & 0o7777
	if err := n.writeMarker(ctx, bucket, key+"/", meta.AttrUpdate{Mode: &m, UID: &c.uid, GID: &c.gid}); err != nil {
		return nil, toErrno(err)
	}
	ch := n.newDir(ctx, bucket, key+"/")
	ch.Operations().(*dirNode).dirAttr(&out.Attr)
	return ch, 0
}

// checkFree returns EEXIST when key is a directory, an object or a pending
// file.
func (n *dirNode) checkFree(bucket, key string) syscall.Errno {
	if n.fsys.getPending(bucket, key) != nil {
		return syscall.EEXIST
	}
	isDir, _, err := n.fsys.store.Lookup(bucket, key)
	if isDir || err == nil {
		return syscall.EEXIST
	}
	if !errors.Is(err, meta.ErrNoSuchKey) {
		return toErrno(err)
	}
	return 0
}

// Rmdir deletes an empty bucket, or writes a delete marker on an empty
// directory's marker object.
func (n *dirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	if n.reserved(name) {
		return syscall.EPERM
	}
	c := callerOf(ctx)
	if n.isBuckets() {
		if err := n.fsys.store.DeleteBucket(name, n.fsys.actor(c, false)); err != nil {
			return toErrno(err)
		}
		n.retireChild(name)
		return 0
	}
	bucket, key, errno := n.childKey(name)
	if errno != 0 {
		return errno
	}
	dirKey := key + "/"
	res, err := n.fsys.store.List(bucket, meta.ListOptions{Prefix: dirKey, Max: 2})
	if err != nil {
		return toErrno(err)
	}
	marker := false
	for _, v := range res.Objects {
		if v.Key != dirKey {
			return syscall.ENOTEMPTY
		}
		marker = true
	}
	if len(n.fsys.pendingUnder(bucket, dirKey)) > 0 {
		return syscall.ENOTEMPTY
	}
	if !marker {
		if _, err := n.fsys.store.Get(bucket, key, ""); err == nil {
			return syscall.ENOTDIR
		}
		n.retireChild(name)
		return 0 // an implicit directory that is already gone
	}
	if _, err := n.fsys.store.Delete(bucket, dirKey, meta.PublishOptions{Actor: n.fsys.actor(c, false), UID: c.uid, GID: c.gid}); err != nil {
		return toErrno(err)
	}
	n.retireChild(name)
	return 0
}

// retireChild gives the identity of the child name a new generation.
func (n *dirNode) retireChild(name string) {
	if ch := n.GetChild(name); ch != nil {
		n.fsys.retire(ch.StableAttr())
		if fn, ok := ch.Operations().(*fileNode); ok {
			fn.unlink()
		}
	}
}

// Create makes a new file: shown as empty at once, published by the first
// flush with data, or as a 0-byte version when its last handle closes.
func (n *dirNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	if n.reserved(name) || n.isBuckets() {
		return nil, nil, 0, syscall.EPERM
	}
	bucket, key, errno := n.childKey(name)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	if err := meta.ValidKey(key); err != nil {
		return nil, nil, 0, toErrno(err)
	}
	c := callerOf(ctx)
	// The kernel sends CREATE for a name it believes absent; the store
	// may know better (a change over S3).
	if p := n.fsys.getPending(bucket, key); p != nil {
		if flags&syscall.O_EXCL != 0 {
			return nil, nil, 0, syscall.EEXIST
		}
		h, errno := p.open(c, flags, false)
		if errno != 0 {
			return nil, nil, 0, errno
		}
		p.fileAttr(&out.Attr)
		return p.EmbeddedInode(), h, h.openFlags(), 0
	}
	isDir, v, err := n.fsys.store.Lookup(bucket, key)
	if isDir {
		return nil, nil, 0, syscall.EISDIR
	}
	if err == nil {
		if flags&syscall.O_EXCL != 0 {
			return nil, nil, 0, syscall.EEXIST
		}
		ch := n.newFile(ctx, bucket, key, v)
		fn := ch.Operations().(*fileNode)
		h, errno := fn.open(c, flags, false)
		if errno != 0 {
			return nil, nil, 0, errno
		}
		fn.fileAttr(&out.Attr)
		return ch, h, h.openFlags(), 0
	}
	if !errors.Is(err, meta.ErrNoSuchKey) {
		return nil, nil, 0, toErrno(err)
	}
	n.retireChild(name) // an old node under this name is an orphan
	id := n.fsys.ident(kindFile, syscall.S_IFREG, bucket, key)
	ch := n.NewInode(ctx, &fileNode{fsys: n.fsys, bucket: bucket, key: key}, id)
	fn, ok := ch.Operations().(*fileNode)
	if !ok {
		return nil, nil, 0, syscall.EIO
	}
	fn.startCreate(attrs{mode: mode & 0o7777, uid: c.uid, gid: c.gid})
	h, errno := fn.open(c, flags, true)
	if errno != 0 {
		fn.unlink()
		return nil, nil, 0, errno
	}
	fn.fileAttr(&out.Attr)
	return ch, h, h.openFlags(), 0
}

// Unlink writes a delete marker; every version stays.
func (n *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	if n.reserved(name) || n.isBuckets() {
		return syscall.EPERM
	}
	bucket, key, errno := n.childKey(name)
	if errno != 0 {
		return errno
	}
	c := callerOf(ctx)
	p := n.fsys.getPending(bucket, key)
	fn := p
	if fn == nil {
		if ch := n.GetChild(name); ch != nil {
			fn, _ = ch.Operations().(*fileNode)
		}
	}
	del := func() error {
		_, err := n.fsys.store.DeleteExisting(bucket, key, meta.PublishOptions{Actor: n.fsys.actor(c, false), UID: c.uid, GID: c.gid})
		if err != nil && !(errors.Is(err, meta.ErrNoSuchKey) && p != nil) {
			return err
		}
		return nil
	}
	var err error
	if fn != nil {
		// The marker and the node's end are one step: a publish of the
		// node that is due (an asynchronous RELEASE) lands before the
		// marker, never after it.
		err = fn.deleteKey(bucket, key, del)
	} else {
		err = del()
	}
	if err != nil {
		return toErrno(err)
	}
	if p != nil {
		n.fsys.retire(p.StableAttr())
	}
	n.retireChild(name)
	return 0
}

// Symlink publishes an object marked as a link whose content is the target.
func (n *dirNode) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if n.reserved(name) || n.isBuckets() {
		return nil, syscall.EPERM
	}
	if len(target) > maxSymlinkTarget {
		return nil, syscall.ENAMETOOLONG
	}
	bucket, key, errno := n.childKey(name)
	if errno != 0 {
		return nil, errno
	}
	if errno := n.checkFree(bucket, key); errno != 0 {
		return nil, errno
	}
	c := callerOf(ctx)
	w, err := n.fsys.store.NewWriter(bucket, key, nil)
	if err != nil {
		return nil, toErrno(err)
	}
	defer w.Abort()
	w.MarkDirty()
	if _, err := w.WriteAt([]byte(target), 0); err != nil {
		return nil, toErrno(err)
	}
	v, err := w.Publish(meta.PublishOptions{Actor: n.fsys.actor(c, false), Mode: 0o777, UID: c.uid, GID: c.gid, Link: true})
	if err != nil {
		return nil, toErrno(err)
	}
	n.retireChild(name)
	ch := n.newFile(ctx, bucket, key, v)
	ch.Operations().(*fileNode).fileAttr(&out.Attr)
	return ch, 0
}

// Link is refused: an object has one key.
func (n *dirNode) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Mknod is refused: an object holds bytes, not a device, fifo or socket.
func (n *dirNode) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Fsync of a directory puts every commit so far on disk (what a program
// that fsyncs a directory after a rename wants).
func (n *dirNode) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno {
	return toErrno(n.fsys.store.Sync())
}

// Statfs reports the file system that holds the data directory.
func (n *dirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	var st syscall.Statfs_t
	if err := syscall.Statfs(n.fsys.store.Dir(), &st); err != nil {
		return toErrno(err)
	}
	out.FromStatfsT(&st)
	out.NameLen = meta.MaxNameLen
	return 0
}

// Rename moves a file with meta.Rename (a new version at the destination
// sharing the chunks, a delete marker at the source), or a directory key by
// key. Across buckets it is EXDEV, so mv falls back to copy and delete.
func (n *dirNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*dirNode)
	if !ok {
		return syscall.EXDEV
	}
	if flags&^uint32(renameNoReplace) != 0 {
		return syscall.EINVAL // RENAME_EXCHANGE, RENAME_WHITEOUT
	}
	if n.reserved(name) || np.reserved(newName) || n.isBuckets() || np.isBuckets() {
		return syscall.EPERM
	}
	bucket, src, errno := n.childKey(name)
	if errno != 0 {
		return errno
	}
	dstBucket, dst, errno := np.childKey(newName)
	if errno != 0 {
		return errno
	}
	if bucket != dstBucket {
		return syscall.EXDEV
	}
	if src == dst {
		return 0
	}
	c := callerOf(ctx)
	store := n.fsys.store
	srcDir, err := store.IsDir(bucket, src)
	if err != nil {
		return toErrno(err)
	}
	dstDir, err := store.IsDir(bucket, dst)
	if err != nil {
		return toErrno(err)
	}
	_, dstErr := store.Get(bucket, dst, "")
	dstFile := dstErr == nil || n.fsys.getPending(bucket, dst) != nil
	if flags&renameNoReplace != 0 && (dstDir || dstFile) {
		return syscall.EEXIST
	}
	if !srcDir {
		if dstDir {
			return syscall.EISDIR
		}
		return n.renameFile(ctx, c, np, name, newName, bucket, src, dst)
	}
	if dstFile && !dstDir {
		return syscall.ENOTDIR
	}
	if strings.HasPrefix(dst+"/", src+"/") {
		return syscall.EINVAL
	}
	if dstDir {
		res, err := store.List(bucket, meta.ListOptions{Prefix: dst + "/", Max: 2})
		if err != nil {
			return toErrno(err)
		}
		for _, v := range res.Objects {
			if v.Key != dst+"/" {
				return syscall.ENOTEMPTY
			}
		}
	}
	return n.renameDir(ctx, c, np, name, newName, bucket, src, dst)
}

func (n *dirNode) renameFile(ctx context.Context, c caller, np *dirNode, name, newName, bucket, src, dst string) syscall.Errno {
	var fn *fileNode
	if ch := n.GetChild(name); ch != nil {
		fn, _ = ch.Operations().(*fileNode)
	}
	if p := n.fsys.getPending(bucket, src); p != nil {
		fn = p
	}
	if fn != nil {
		if err := fn.settle(c); err != nil {
			return toErrno(err)
		}
	}
	if _, err := n.fsys.store.Rename(bucket, src, dst, meta.PublishOptions{Actor: n.fsys.actor(c, false), UID: c.uid, GID: c.gid}); err != nil {
		return toErrno(err)
	}
	np.retireChild(newName)
	if fn != nil {
		n.fsys.retire(fn.StableAttr())
		fn.moveTo(bucket, dst)
	}
	return 0
}

func (n *dirNode) renameDir(ctx context.Context, c caller, np *dirNode, name, newName, bucket, src, dst string) syscall.Errno {
	store := n.fsys.store
	// Everything written under the directory is published first, so the
	// renamed keys hold it.
	for _, p := range n.fsys.pendingUnder(bucket, src+"/") {
		if err := p.settle(c); err != nil {
			return toErrno(err)
		}
	}
	if ch := n.GetChild(name); ch != nil {
		if err := settleTree(ch, c); err != nil {
			return toErrno(err)
		}
	}
	var keys []string
	after := ""
	for {
		res, err := store.List(bucket, meta.ListOptions{Prefix: src + "/", After: after})
		if err != nil {
			return toErrno(err)
		}
		for _, v := range res.Objects {
			keys = append(keys, v.Key)
		}
		if !res.Truncated {
			break
		}
		after = res.Next
	}
	actor := n.fsys.actor(c, false)
	for _, k := range keys {
		nk := dst + "/" + k[len(src)+1:]
		if err := meta.ValidKey(nk); err != nil {
			return toErrno(err)
		}
	}
	for _, k := range keys {
		if _, err := store.Rename(bucket, k, dst+"/"+k[len(src)+1:], meta.PublishOptions{Actor: actor, UID: c.uid, GID: c.gid}); err != nil && !errors.Is(err, meta.ErrNoSuchKey) {
			return toErrno(err)
		}
	}
	np.retireChild(newName)
	if ch := n.GetChild(name); ch != nil {
		moveTree(n.fsys, ch, src+"/", dst+"/")
	}
	return 0
}

// settleTree publishes the unpublished changes of the files under in.
func settleTree(in *gofs.Inode, c caller) error {
	switch node := in.Operations().(type) {
	case *dirNode:
		for _, ch := range in.Children() {
			if err := settleTree(ch, c); err != nil {
				return err
			}
		}
	case *fileNode:
		return node.settle(c)
	}
	return nil
}

// moveTree rewrites the keys of the nodes under a renamed directory.
func moveTree(f *wormFS, in *gofs.Inode, from, to string) {
	f.retire(in.StableAttr())
	switch node := in.Operations().(type) {
	case *dirNode:
		b, p := node.loc()
		if strings.HasPrefix(p, from) {
			node.setLoc(b, to+p[len(from):])
		}
		for _, ch := range in.Children() {
			moveTree(f, ch, from, to)
		}
	case *fileNode:
		b, k := node.loc()
		if strings.HasPrefix(k, from) {
			node.moveTo(b, to+k[len(from):])
		}
	}
}

// renameNoReplace is RENAME_NOREPLACE of renameat2(2).
const renameNoReplace = 0x1
