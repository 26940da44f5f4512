package fs

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/wormfs/wormfs/meta"
	"github.com/wormfs/wormfs/xattr"
)

// The history views of SPEC §5, under the reserved name .wormfs at the
// mount root (reachable by name, never listed):
//
//	.wormfs/versions/<bucket>/<key>/<version id>   every version and delete marker (versions.go)
//	.wormfs/at/<RFC 3339 instant>/<bucket>/…        the tree as it was at the instant (at.go)
//	.wormfs/audit                                   the audit log, one JSON record a line (audit.go)

// Names inside .wormfs.
const (
	viewVersions = "versions"
	viewAt       = "at"
	viewAudit    = "audit"
)

// nameDeleteMarker is the read-only attribute that marks a delete marker in
// the versions view ("true"); `wormfs versions` reads it.
const nameDeleteMarker = xattr.Prefix + "delete-marker"

// Node kinds of the views, hashed into inode numbers (distinct from the
// main tree's kindFile, kindDir and kindBucket).
const (
	kindViews       = 'w' // .wormfs
	kindVersionRoot = 'r' // .wormfs/versions
	kindVersionDir  = 'v' // .wormfs/versions/<bucket>[/<key>]
	kindVersionFile = 'V' // .wormfs/versions/<bucket>/<key>/<id>
	kindAtRoot      = 't' // .wormfs/at
	kindAtInstant   = 'i' // .wormfs/at/<instant>
	kindAtDir       = 'a' // .wormfs/at/<instant>/<bucket>[/<dir>]
	kindAtFile      = 'A' // .wormfs/at/<instant>/<bucket>/<key>
	kindAudit       = 'u' // .wormfs/audit
)

// viewsNode is .wormfs: a read-only directory of the three views. It holds
// the audit log's rendering, which grows with the log.
type viewsNode struct {
	gofs.Inode
	roDir

	fsys  *wormFS
	audit auditLog
}

// lookupViews answers the lookup of .wormfs at the mount root.
func (n *dirNode) lookupViews(ctx context.Context, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ch := n.NewInode(ctx, &viewsNode{fsys: n.fsys}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino(kindViews, "", "")})
	viewDirAttr(&out.Attr, 0o555, n.fsys.started)
	return ch, 0
}

func (n *viewsNode) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	viewDirAttr(&out.Attr, 0o555, n.fsys.started)
	return 0
}

func (n *viewsNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	switch name {
	case viewVersions:
		viewDirAttr(&out.Attr, 0o555, n.fsys.started)
		return n.NewInode(ctx, &versionsRoot{fsys: n.fsys}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino(kindVersionRoot, "", "")}), 0
	case viewAt:
		viewDirAttr(&out.Attr, 0o555, n.fsys.started)
		return n.NewInode(ctx, &atRoot{fsys: n.fsys}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino(kindAtRoot, "", "")}), 0
	case viewAudit:
		a := &auditFile{fsys: n.fsys, log: &n.audit}
		if errno := a.attr(&out.Attr); errno != 0 {
			return nil, errno
		}
		return n.NewInode(ctx, a, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: ino(kindAudit, "", "")}), 0
	}
	return nil, syscall.ENOENT
}

func (n *viewsNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	return gofs.NewListDirStream([]fuse.DirEntry{
		{Name: viewAt, Mode: syscall.S_IFDIR, Ino: ino(kindAtRoot, "", "")},
		{Name: viewAudit, Mode: syscall.S_IFREG, Ino: ino(kindAudit, "", "")},
		{Name: viewVersions, Mode: syscall.S_IFDIR, Ino: ino(kindVersionRoot, "", "")},
	}), 0
}

// viewDirAttr fills the attributes of a view directory.
func viewDirAttr(a *fuse.Attr, perm uint32, t time.Time) {
	a.Mode = syscall.S_IFDIR | perm
	a.Nlink = 2
	a.Blksize = blockSize
	setTimes(a, t, t)
}

// versionAttr fills the attributes of a file showing version v: its size,
// POSIX attributes, modification time and creation time (as ctime). A
// delete marker is an empty file.
func versionAttr(a *fuse.Attr, v *meta.Version, link bool) {
	typ := uint32(syscall.S_IFREG)
	if link && v.Link {
		typ = syscall.S_IFLNK
	}
	perm := v.Mode & 0o7777
	if v.DeleteMarker && perm == 0 {
		perm = 0o444
	}
	a.Mode = typ | perm
	a.Size = uint64(v.Size)
	a.Blocks = uint64(v.Size+511) / 512
	a.Blksize = blockSize
	a.Nlink = 1
	a.Uid, a.Gid = v.UID, v.GID
	setTimes(a, v.Mtime, v.Created)
}

// checkName refuses names the kernel should never send.
func checkName(name string) syscall.Errno {
	if len(name) > meta.MaxNameLen {
		return syscall.ENAMETOOLONG
	}
	if name == "" || strings.ContainsAny(name, "/\x00") {
		return syscall.EINVAL
	}
	return 0
}

// invalidateMain tells the kernel to forget what it caches of bucket/key
// in the main tree (after a permanent delete in the versions view changed
// what the key shows, or brought it back), so the change shows at once
// rather than after the entry timeout. It waits at most a second and is
// never called under a lock of ours.
func (f *wormFS) invalidateMain(root *gofs.Inode, bucket, key string) {
	in := root
	switch {
	case f.opts.Bucket == "":
		in = root.GetChild(bucket)
	case bucket != f.opts.Bucket:
		return
	}
	parts := strings.Split(key, "/")
	for _, p := range parts[:len(parts)-1] {
		if in == nil {
			return
		}
		in = in.GetChild(p)
	}
	name := parts[len(parts)-1]
	if in == nil || name == "" {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if ch := in.GetChild(name); ch != nil && ch.StableAttr().Mode&syscall.S_IFMT == syscall.S_IFREG {
			ch.NotifyContent(0, 0)
		}
		in.NotifyEntry(name)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}

// statfs answers statfs(2) anywhere in the views as at the mount root
// (the file system that holds the data directory).
func (f *wormFS) statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return (&dirNode{fsys: f}).Statfs(ctx, out)
}

func (n *viewsNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fsys.statfs(ctx, out)
}
func (n *versionsRoot) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fsys.statfs(ctx, out)
}
func (n *versionsDir) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fsys.statfs(ctx, out)
}
func (n *versionFile) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fsys.statfs(ctx, out)
}
func (n *atRoot) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fsys.statfs(ctx, out)
}
func (n *atInstant) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fsys.statfs(ctx, out)
}
func (n *atDir) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fsys.statfs(ctx, out)
}
func (n *atFile) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fsys.statfs(ctx, out)
}
func (n *auditFile) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fsys.statfs(ctx, out)
}

// roDir answers every change of a view directory with EROFS (SPEC §5: the
// views are read-only, but for the permanent delete of a version).
type roDir struct{}

func (roDir) Setattr(ctx context.Context, f gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}
func (roDir) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (roDir) Rmdir(ctx context.Context, name string) syscall.Errno { return syscall.EROFS }
func (roDir) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EROFS
}
func (roDir) Unlink(ctx context.Context, name string) syscall.Errno { return syscall.EROFS }
func (roDir) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return syscall.EROFS
}
func (roDir) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (roDir) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (roDir) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (roDir) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENODATA
}
func (roDir) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.EROFS
}
func (roDir) Removexattr(ctx context.Context, attr string) syscall.Errno { return syscall.EROFS }
func (roDir) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return listNames(dest, nil)
}

// roFile answers every change of a view file with EROFS.
type roFile struct{}

func (roFile) Setattr(ctx context.Context, f gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}
func (roFile) Write(ctx context.Context, f gofs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	return 0, syscall.EROFS
}
func (roFile) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.EROFS
}
func (roFile) Removexattr(ctx context.Context, attr string) syscall.Errno { return syscall.EROFS }

// writeFlags reports whether open flags ask to change the file.
func writeFlags(flags uint32) bool {
	return flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&(syscall.O_TRUNC|syscall.O_APPEND) != 0
}

// versionHandle reads one version's content.
type versionHandle struct {
	rd *meta.Reader // nil for a delete marker
}

// openVersion opens v read-only; the content of a version never changes,
// so the kernel may keep its pages.
func (f *wormFS) openVersion(v *meta.Version, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if writeFlags(flags) {
		return nil, 0, syscall.EROFS
	}
	if v.DeleteMarker {
		return &versionHandle{}, fuse.FOPEN_KEEP_CACHE, 0
	}
	rd, err := f.store.NewReader(v)
	if err != nil {
		return nil, 0, toErrno(err)
	}
	return &versionHandle{rd: rd}, fuse.FOPEN_KEEP_CACHE, 0
}

// readVersion reads from a versionHandle.
func readVersion(fh gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h, ok := fh.(*versionHandle)
	if !ok {
		return nil, syscall.EBADF
	}
	if h.rd == nil || off >= h.rd.Size() {
		return fuse.ReadResultData(nil), 0
	}
	nr, err := h.rd.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, toErrno(err)
	}
	return fuse.ReadResultData(dest[:nr]), 0
}
