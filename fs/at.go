package fs

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/wormfs/wormfs/meta"
	"github.com/wormfs/wormfs/xattr"
)

// parseInstant reads the name of an at-view directory: RFC 3339, with or
// without fractional seconds, "Z" or an offset ("t" and "z" in lower case
// too, as RFC 3339 allows).
func parseInstant(name string) (time.Time, bool) {
	up := strings.ToUpper(name)
	t, err := time.Parse(time.RFC3339Nano, up)
	if err != nil {
		return time.Time{}, false
	}
	// time.Parse accepts offsets RFC 3339 does not (+24:00, +23:60): the
	// hours must stay under 24 and the minutes' tens digit under 6, or the
	// instant would not survive formatting back.
	if !strings.HasSuffix(up, "Z") {
		if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 || up[len(up)-2] > '5' {
			return time.Time{}, false
		}
	}
	return t, true
}

// atRoot is .wormfs/at: any RFC 3339 instant may be looked up; nothing is
// listed (there are as many instants as one likes). A malformed instant is
// ENOENT.
type atRoot struct {
	gofs.Inode
	roDir

	fsys *wormFS
}

func (n *atRoot) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	viewDirAttr(&out.Attr, 0o555, n.fsys.started)
	return 0
}

func (n *atRoot) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	t, ok := parseInstant(name)
	if !ok {
		return nil, syscall.ENOENT
	}
	viewDirAttr(&out.Attr, 0o555, t)
	return n.NewInode(ctx, &atInstant{fsys: n.fsys, at: t, inst: name}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino(kindAtInstant, name, "")}), 0
}

func (n *atRoot) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	return gofs.NewListDirStream(nil), 0
}

// atInstant is .wormfs/at/<instant>: the buckets that existed then (that
// exist now and were created at or before the instant).
type atInstant struct {
	gofs.Inode
	roDir

	fsys *wormFS
	at   time.Time
	inst string // the name as looked up, for inode numbers
}

func (n *atInstant) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	viewDirAttr(&out.Attr, 0o555, n.at)
	return 0
}

func (n *atInstant) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	b, errno := n.fsys.viewBucket(name)
	if errno != 0 {
		return nil, errno
	}
	if b.Created.After(n.at) {
		return nil, syscall.ENOENT
	}
	d := &atDir{fsys: n.fsys, at: n.at, inst: n.inst, bucket: name}
	d.attr(&out.Attr)
	return n.NewInode(ctx, d, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino(kindAtDir, n.inst+"\x00"+name, "")}), 0
}

func (n *atInstant) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	bs, errno := n.fsys.viewBuckets()
	if errno != 0 {
		return nil, errno
	}
	var out []fuse.DirEntry
	for _, b := range bs {
		if !b.Created.After(n.at) {
			out = append(out, fuse.DirEntry{Name: b.Name, Mode: syscall.S_IFDIR, Ino: ino(kindAtDir, n.inst+"\x00"+b.Name, "")})
		}
	}
	return gofs.NewListDirStream(out), 0
}

// atDir is a bucket or a directory of the tree as it was at an instant
// (store.ListAsOf, store.GetAsOf): as in the main tree, a directory
// shadows an object of the same name.
type atDir struct {
	gofs.Inode
	roDir

	fsys   *wormFS
	at     time.Time
	inst   string
	bucket string
	prefix string // "" for the bucket, else "x/y/"
}

// attr fills a directory's attributes: an explicit directory's from its
// marker object as it was at the instant, an implicit one's are 0755 root.
func (n *atDir) attr(a *fuse.Attr) {
	viewDirAttr(a, 0o755, n.at)
	if n.prefix == "" {
		if b, err := n.fsys.store.GetBucket(n.bucket); err == nil {
			setTimes(a, b.Created, b.Created)
		}
		return
	}
	if v, err := n.fsys.store.GetAsOf(n.bucket, n.prefix, n.at); err == nil {
		a.Mode = syscall.S_IFDIR | v.Mode&0o7777
		a.Uid, a.Gid = v.UID, v.GID
		setTimes(a, v.Mtime, v.Ctime)
	}
}

func (n *atDir) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.attr(&out.Attr)
	return 0
}

func (n *atDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if errno := checkName(name); errno != 0 {
		return nil, errno
	}
	key := n.prefix + name
	if len(key) > meta.MaxKeyLen {
		return nil, syscall.ENAMETOOLONG
	}
	c := callerOf(ctx)
	if errno := n.fsys.searchPath(&c, n.bucket, key); errno != 0 && c.uid != 0 {
		return nil, errno
	}
	res, err := n.fsys.store.ListAsOf(n.bucket, n.at, meta.ListOptions{Prefix: key + "/", Max: 1})
	if err != nil {
		return nil, toErrno(err)
	}
	if len(res.Objects)+len(res.Prefixes) > 0 {
		d := &atDir{fsys: n.fsys, at: n.at, inst: n.inst, bucket: n.bucket, prefix: key + "/"}
		d.attr(&out.Attr)
		return n.NewInode(ctx, d, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino(kindAtDir, n.inst+"\x00"+n.bucket, key+"/")}), 0
	}
	v, err := n.fsys.store.GetAsOf(n.bucket, key, n.at)
	if err != nil {
		return nil, toErrno(err)
	}
	versionAttr(&out.Attr, v, true)
	mode := uint32(syscall.S_IFREG)
	if v.Link {
		mode = syscall.S_IFLNK
	}
	return n.NewInode(ctx, &atFile{fsys: n.fsys, v: v}, gofs.StableAttr{Mode: mode, Ino: atFileIno(n.inst, n.bucket, v)}), 0
}

func (n *atDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	c := callerOf(ctx)
	if errno := n.fsys.listAccess(&c, n.bucket, n.prefix); errno != 0 {
		return nil, errno
	}
	entries := map[string]fuse.DirEntry{}
	o := meta.ListOptions{Prefix: n.prefix, Delimiter: "/"}
	base := n.inst + "\x00" + n.bucket
	for {
		res, err := n.fsys.store.ListAsOf(n.bucket, n.at, o)
		if err != nil {
			return nil, toErrno(err)
		}
		for _, p := range res.Prefixes {
			name := strings.TrimSuffix(p[len(n.prefix):], "/")
			if name == "" || len(name) > meta.MaxNameLen {
				continue
			}
			entries[name] = fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: ino(kindAtDir, base, p)}
		}
		for _, v := range res.Objects {
			name := v.Key[len(n.prefix):]
			if name == "" {
				continue // the directory's own marker
			}
			if _, dir := entries[name]; dir {
				continue
			}
			mode := uint32(syscall.S_IFREG)
			if v.Link {
				mode = syscall.S_IFLNK
			}
			entries[name] = fuse.DirEntry{Name: name, Mode: mode, Ino: atFileIno(n.inst, n.bucket, v)}
		}
		if !res.Truncated {
			break
		}
		o.After = res.Next
	}
	out := make([]fuse.DirEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return gofs.NewListDirStream(out), 0
}

// atFileIno is the inode number of version v in the at view of instant
// inst. It names the version, not just the key: an instant in the future
// may show another version of the key at a later lookup, and that is
// another file.
func atFileIno(inst, bucket string, v *meta.Version) uint64 {
	return ino(kindAtFile, inst+"\x00"+bucket, v.Key+"\x00"+v.ID)
}

// atFile is a file or symlink of the tree at an instant: the version that
// was current then. Its content never changes; its lock attributes are
// read as the version has them now, read-only.
type atFile struct {
	gofs.Inode
	roFile

	fsys *wormFS
	v    *meta.Version
}

func (n *atFile) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if errno := n.fsys.viewAccess(ctx, n.v.Bucket, n.v.Key); errno != 0 {
		return errno
	}
	versionAttr(&out.Attr, n.v, true)
	return 0
}

func (n *atFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if n.v.Link {
		return nil, 0, syscall.ELOOP
	}
	if errno := n.fsys.viewAccess(ctx, n.v.Bucket, n.v.Key); errno != 0 {
		return nil, 0, errno
	}
	return n.fsys.openVersion(n.v, flags)
}

func (n *atFile) Read(ctx context.Context, f gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return readVersion(f, dest, off)
}

func (n *atFile) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	if !n.v.Link {
		return nil, syscall.EINVAL
	}
	if errno := n.fsys.viewAccess(ctx, n.v.Bucket, n.v.Key); errno != 0 {
		return nil, errno
	}
	if n.v.Size > maxSymlinkTarget {
		return nil, syscall.ENAMETOOLONG
	}
	rd, err := n.fsys.store.NewReader(n.v)
	if err != nil {
		return nil, toErrno(err)
	}
	buf := make([]byte, n.v.Size)
	if _, err := rd.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, toErrno(err)
	}
	return buf, 0
}

// current is the version's record as it is now (for its lock), or the
// record seen at lookup when it has been permanently deleted since.
func (n *atFile) current() *meta.Version {
	if v, err := n.fsys.store.Get(n.v.Bucket, n.v.Key, n.v.ID); err == nil {
		return v
	}
	return n.v
}

func (n *atFile) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if xattr.IsReservedNamespace(attr) {
		return 0, syscall.ENODATA
	}
	if errno := n.fsys.viewAccess(ctx, n.v.Bucket, n.v.Key); errno != 0 {
		return 0, errno
	}
	return n.fsys.versionXattr(n.current(), attr, dest)
}

func (n *atFile) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	if errno := n.fsys.viewAccess(ctx, n.v.Bucket, n.v.Key); errno != 0 {
		return 0, errno
	}
	return listNames(dest, versionXattrNames(n.current()))
}
