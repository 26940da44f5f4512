package fs

import (
	"context"
	"errors"
	"sort"
	"strings"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
	"github.com/wormfs/wormfs/xattr"
)

// versionsRoot is .wormfs/versions: one directory per bucket (only the
// mounted bucket with Options.Bucket, still by name).
type versionsRoot struct {
	gofs.Inode
	roDir

	fsys *wormFS
}

func (n *versionsRoot) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	viewDirAttr(&out.Attr, 0o555, n.fsys.started)
	return 0
}

// viewBucket checks that bucket may be shown in a view of this mount.
func (f *wormFS) viewBucket(bucket string) (*meta.Bucket, syscall.Errno) {
	if errno := checkName(bucket); errno != 0 {
		return nil, errno
	}
	if f.opts.Bucket != "" && bucket != f.opts.Bucket {
		return nil, syscall.ENOENT
	}
	b, err := f.store.GetBucket(bucket)
	if err != nil {
		return nil, toErrno(err)
	}
	return b, 0
}

// viewBuckets lists the buckets a view of this mount shows.
func (f *wormFS) viewBuckets() ([]*meta.Bucket, syscall.Errno) {
	bs, err := f.store.ListBuckets()
	if err != nil {
		return nil, toErrno(err)
	}
	out := bs[:0]
	for _, b := range bs {
		if f.opts.Bucket == "" || b.Name == f.opts.Bucket {
			out = append(out, b)
		}
	}
	return out, 0
}

func (n *versionsRoot) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	b, errno := n.fsys.viewBucket(name)
	if errno != 0 {
		return nil, errno
	}
	viewDirAttr(&out.Attr, 0o555, b.Created)
	return n.NewInode(ctx, &versionsDir{fsys: n.fsys, bucket: name}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino(kindVersionDir, name, "")}), 0
}

func (n *versionsRoot) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	bs, errno := n.fsys.viewBuckets()
	if errno != 0 {
		return nil, errno
	}
	out := make([]fuse.DirEntry, 0, len(bs))
	for _, b := range bs {
		out = append(out, fuse.DirEntry{Name: b.Name, Mode: syscall.S_IFDIR, Ino: ino(kindVersionDir, b.Name, "")})
	}
	return gofs.NewListDirStream(out), 0
}

// versionsDir is .wormfs/versions/<bucket>/<key>: the versions and delete
// markers of key (none at the bucket level, key ""), newest first, as
// files named by their version ids, followed by the directories of the
// keys under key + "/" (every key that has a version or delete marker,
// deleted keys included). A version id shadows a key component of the
// same name. Directory markers (keys ending in "/") are not shown.
//
// The directory is writable for everyone (0777) so that the kernel lets an
// unlink reach the daemon, which decides: a permanent delete is for root,
// lock administrators (Options.BypassGID) and the version's owner (lock
// rules apply to all of them, and an unlink is never a bypass); everything
// else is EROFS. Who may see the history of a key is historyAccess.
type versionsDir struct {
	gofs.Inode
	roDir

	fsys   *wormFS
	bucket string
	key    string // "" at the bucket level
}

func (n *versionsDir) perm() uint32 {
	if n.key == "" {
		return 0o555
	}
	return 0o777
}

func (n *versionsDir) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	viewDirAttr(&out.Attr, n.perm(), n.fsys.started)
	return 0
}

// child is the key of a component under this directory.
func (n *versionsDir) child(name string) string {
	if n.key == "" {
		return name
	}
	return n.key + "/" + name
}

// version returns the version (or delete marker) of n.key named id.
func (n *versionsDir) version(id string) (*meta.Version, syscall.Errno) {
	if n.key == "" {
		return nil, syscall.ENOENT
	}
	v, err := n.fsys.store.Get(n.bucket, n.key, id)
	if errors.Is(err, meta.ErrDeleteMarker) && v != nil {
		err = nil
	}
	if err != nil {
		return nil, toErrno(err)
	}
	if v.ID != id {
		return nil, syscall.ENOENT // another spelling of the id
	}
	return v, 0
}

// hasHistory reports whether key has a version or delete marker, or keys
// under key + "/" do.
func (n *versionsDir) hasHistory(key string) (bool, syscall.Errno) {
	// The latest version or delete marker, without reading the others.
	v, err := n.fsys.store.Get(n.bucket, key, "")
	switch {
	case err == nil, v != nil && errors.Is(err, meta.ErrNoSuchKey):
		return true, 0
	case !errors.Is(err, meta.ErrNoSuchKey) && !errors.Is(err, meta.ErrInvalidKey) && !errors.Is(err, meta.ErrKeyTooLong):
		return false, toErrno(err)
	}
	res, err := n.fsys.store.ListVersions(n.bucket, meta.VersionListOptions{Prefix: key + "/", Max: 1})
	if err != nil {
		return false, toErrno(err)
	}
	return len(res.Versions)+len(res.Prefixes) > 0, 0
}

func (n *versionsDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if errno := checkName(name); errno != 0 {
		return nil, errno
	}
	if v, errno := n.version(name); errno == 0 {
		if errno := n.fsys.viewAccess(ctx, n.bucket, n.key); errno != 0 {
			return nil, errno
		}
		versionAttr(&out.Attr, v, false)
		return n.newVersionFile(ctx, v), 0
	}
	key := n.child(name)
	c := callerOf(ctx)
	if errno := n.fsys.searchPath(&c, n.bucket, key); errno != 0 && c.uid != 0 {
		return nil, errno
	}
	if len(key) > meta.MaxKeyLen {
		return nil, syscall.ENAMETOOLONG
	}
	ok, errno := n.hasHistory(key)
	if errno != 0 {
		return nil, errno
	}
	if !ok {
		return nil, syscall.ENOENT
	}
	viewDirAttr(&out.Attr, 0o777, n.fsys.started)
	return n.NewInode(ctx, &versionsDir{fsys: n.fsys, bucket: n.bucket, key: key}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino(kindVersionDir, n.bucket, key)}), 0
}

func (n *versionsDir) newVersionFile(ctx context.Context, v *meta.Version) *gofs.Inode {
	return n.NewInode(ctx, &versionFile{fsys: n.fsys, bucket: n.bucket, key: n.key, id: v.ID},
		gofs.StableAttr{Mode: syscall.S_IFREG, Ino: ino(kindVersionFile, n.bucket, n.key+"\x00"+v.ID)})
}

// Readdir lists the versions of the key newest first (the order of
// store.Versions, which `wormfs versions` relies on), then the names of
// the keys below in name order.
func (n *versionsDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	if errno := n.fsys.viewAccess(ctx, n.bucket, n.key); errno != 0 {
		return nil, errno
	}
	var out []fuse.DirEntry
	ids := map[string]bool{}
	if n.key != "" {
		vs, err := n.fsys.store.Versions(n.bucket, n.key)
		if err != nil {
			return nil, toErrno(err)
		}
		for _, v := range vs {
			ids[v.ID] = true
			out = append(out, fuse.DirEntry{Name: v.ID, Mode: syscall.S_IFREG, Ino: ino(kindVersionFile, n.bucket, n.key+"\x00"+v.ID)})
		}
	}
	prefix := ""
	if n.key != "" {
		prefix = n.key + "/"
	}
	names := map[string]bool{}
	o := meta.VersionListOptions{Prefix: prefix, Delimiter: "/"}
	for {
		res, err := n.fsys.store.ListVersions(n.bucket, o)
		if err != nil {
			return nil, toErrno(err)
		}
		for _, p := range res.Prefixes {
			names[strings.TrimSuffix(p[len(prefix):], "/")] = true
		}
		for _, v := range res.Versions {
			names[v.Key[len(prefix):]] = true
		}
		if !res.Truncated {
			break
		}
		o.KeyMarker, o.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
	}
	var dirs []string
	for name := range names {
		if name != "" && len(name) <= meta.MaxNameLen && !ids[name] {
			dirs = append(dirs, name)
		}
	}
	sort.Strings(dirs)
	for _, name := range dirs {
		out = append(out, fuse.DirEntry{Name: name, Mode: syscall.S_IFDIR, Ino: ino(kindVersionDir, n.bucket, prefix+name)})
	}
	return gofs.NewListDirStream(out), 0
}

// mayDeleteVersion reports whether the caller may ask for the permanent
// delete of v: root, a lock administrator, or the owner of the version (of
// a delete marker: the user who made it, so a user can undo their own
// delete). The lock rules still apply to all of them.
func (f *wormFS) mayDeleteVersion(c caller, v *meta.Version) bool {
	return c.uid == 0 || f.isAdmin(c) || c.uid == v.UID
}

// Unlink permanently deletes a version (store.DeleteVersion), refused with
// EPERM while it is protected. An unlink is never a governance bypass, by
// anyone, root included (SPEC §4, §5): a cleanup script is not an explicit
// request; `wormfs rm-version --bypass` is. Removing a delete marker
// un-deletes the key, and the main tree shows the previous version at
// once.
func (n *versionsDir) Unlink(ctx context.Context, name string) syscall.Errno {
	v, errno := n.version(name)
	if errno != 0 {
		if errno == syscall.ENOENT {
			if ok, _ := n.hasHistory(n.child(name)); ok {
				return syscall.EISDIR
			}
		}
		return errno
	}
	c := callerOf(ctx)
	if errno := n.fsys.historyAccess(&c, n.bucket, n.key); errno != 0 {
		return errno
	}
	if !n.fsys.mayDeleteVersion(c, v) {
		return syscall.EPERM
	}
	if _, err := n.fsys.store.DeleteVersion(n.bucket, n.key, v.ID, n.fsys.actor(c, false)); err != nil {
		return toErrno(err)
	}
	n.fsys.invalidateMain(n.Root(), n.bucket, n.key)
	return 0
}

// Rename in the versions view is refused: EPERM when the source or the
// target is a protected version (the answer that says "the lock forbids
// it"), EROFS otherwise.
func (n *versionsDir) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	now := n.fsys.store.Now()
	if v, errno := n.version(name); errno == 0 && v.Lock().Protected(now) {
		return syscall.EPERM
	}
	if np, ok := newParent.(*versionsDir); ok {
		if v, errno := np.version(newName); errno == 0 && v.Lock().Protected(now) {
			return syscall.EPERM
		}
	}
	return syscall.EROFS
}

// versionFile is one version or delete marker in the versions view: a
// read-only file with the version's exact bytes (a delete marker is
// empty) and its own user.s3.* attributes, settable under the lock rules.
type versionFile struct {
	gofs.Inode
	roFile

	fsys   *wormFS
	bucket string
	key    string
	id     string
}

// get rereads the version (its lock may have changed).
func (n *versionFile) get() (*meta.Version, syscall.Errno) {
	v, err := n.fsys.store.Get(n.bucket, n.key, n.id)
	if errors.Is(err, meta.ErrDeleteMarker) && v != nil {
		err = nil
	}
	if err != nil {
		return nil, toErrno(err)
	}
	return v, 0
}

func (n *versionFile) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if errno := n.fsys.viewAccess(ctx, n.bucket, n.key); errno != 0 {
		return errno
	}
	v, errno := n.get()
	if errno != 0 {
		return errno
	}
	versionAttr(&out.Attr, v, false)
	return 0
}

func (n *versionFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if writeFlags(flags) {
		return nil, 0, syscall.EROFS
	}
	if errno := n.fsys.viewAccess(ctx, n.bucket, n.key); errno != 0 {
		return nil, 0, errno
	}
	v, errno := n.get()
	if errno != 0 {
		return nil, 0, errno
	}
	return n.fsys.openVersion(v, flags)
}

func (n *versionFile) Read(ctx context.Context, f gofs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return readVersion(f, dest, off)
}

func (n *versionFile) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if xattr.IsReservedNamespace(attr) {
		return 0, syscall.ENODATA
	}
	if errno := n.fsys.viewAccess(ctx, n.bucket, n.key); errno != 0 {
		return 0, errno
	}
	v, errno := n.get()
	if errno != 0 {
		return 0, errno
	}
	return n.fsys.versionXattr(v, attr, dest)
}

func (n *versionFile) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	if errno := n.fsys.viewAccess(ctx, n.bucket, n.key); errno != 0 {
		return 0, errno
	}
	v, errno := n.get()
	if errno != 0 {
		return 0, errno
	}
	return listNames(dest, versionXattrNames(v))
}

// Setxattr sets the retention or legal hold of this version, with the same
// codecs and rules as the main tree (a value ending in " bypass" is the
// explicit governance bypass request). A delete marker has no lock:
// EINVAL. user.s3.version-id, user.s3.lockstatus and
// user.s3.delete-marker are read-only (EPERM); other user.* attributes
// belong to the version's record and are read-only here (EROFS).
func (n *versionFile) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	c := callerOf(ctx)
	if attr == nameDeleteMarker {
		return syscall.EPERM
	}
	kind := xattr.ClassifyName(attr)
	switch kind {
	case xattr.KindRetention:
		req, err := xattr.ParseRetention(data, n.fsys.store.LockFloor())
		if err != nil {
			return toErrno(err)
		}
		v, errno := n.lockable(c)
		if errno != 0 {
			return errno
		}
		_, err = n.fsys.store.SetRetention(n.bucket, n.key, v.ID, req.Retention, n.fsys.lockActor(c, v, req.Bypass))
		return toErrno(err)
	case xattr.KindLegalHold:
		on, err := xattr.ParseLegalHold(data)
		if err != nil {
			return toErrno(err)
		}
		v, errno := n.lockable(c)
		if errno != 0 {
			return errno
		}
		_, err = n.fsys.store.SetLegalHold(n.bucket, n.key, v.ID, on, n.fsys.lockActor(c, v, false))
		return toErrno(err)
	case xattr.KindUser:
		return syscall.EROFS
	}
	return setErrno(kind)
}

// lockable returns the version for a lock change by c (whose rights the
// store checks, in its transaction, with the lock rules).
func (n *versionFile) lockable(c caller) (*meta.Version, syscall.Errno) {
	if errno := n.fsys.historyAccess(&c, n.bucket, n.key); errno != 0 {
		return nil, errno
	}
	v, errno := n.get()
	if errno != 0 {
		return nil, errno
	}
	if v.DeleteMarker {
		return nil, syscall.EINVAL
	}
	return v, 0
}

// Removexattr removes the retention (never a bypass) or turns the legal
// hold off (lock administrators only).
func (n *versionFile) Removexattr(ctx context.Context, attr string) syscall.Errno {
	c := callerOf(ctx)
	if attr == nameDeleteMarker {
		return syscall.EPERM
	}
	kind := xattr.ClassifyName(attr)
	switch kind {
	case xattr.KindRetention, xattr.KindLegalHold:
		v, errno := n.get()
		if errno != 0 {
			return errno
		}
		if kind == xattr.KindRetention && !v.RetMode.Valid() || kind == xattr.KindLegalHold && !v.HoldSet {
			return syscall.ENODATA
		}
		if v, errno = n.lockable(c); errno != 0 {
			return errno
		}
		var err error
		if kind == xattr.KindRetention {
			_, err = n.fsys.store.SetRetention(n.bucket, n.key, v.ID, lockctl.Retention{}, n.fsys.lockActor(c, v, false))
		} else {
			_, err = n.fsys.store.SetLegalHold(n.bucket, n.key, v.ID, false, n.fsys.lockActor(c, v, false))
		}
		return toErrno(err)
	case xattr.KindVersionID, xattr.KindLockStatus:
		return syscall.EPERM
	case xattr.KindUser:
		return syscall.EROFS
	}
	return syscall.ENODATA
}

// versionXattr reads an attribute of version v as the views show it: the
// user.s3.* attributes of SPEC §5 (formatted by the xattr codecs),
// user.s3.delete-marker on a delete marker, and the version's user
// metadata.
func (f *wormFS) versionXattr(v *meta.Version, attr string, dest []byte) (uint32, syscall.Errno) {
	if attr == nameDeleteMarker {
		if !v.DeleteMarker {
			return 0, syscall.ENODATA
		}
		return copyXattr(dest, []byte("true"))
	}
	var val []byte
	switch kind := xattr.ClassifyName(attr); kind {
	case xattr.KindRetention, xattr.KindLegalHold, xattr.KindVersionID, xattr.KindLockStatus:
		var ok bool
		if val, ok = f.lockXattr(v, kind); !ok {
			return 0, syscall.ENODATA
		}
	case xattr.KindUser:
		k, errno := userKey(attr)
		if errno != 0 {
			return 0, syscall.ENODATA
		}
		s, ok := v.UserMeta[k]
		if !ok {
			return 0, syscall.ENODATA
		}
		val = []byte(s)
	default:
		return 0, syscall.ENODATA
	}
	return copyXattr(dest, val)
}

// versionXattrNames lists the attributes versionXattr answers for v.
func versionXattrNames(v *meta.Version) []string {
	names := []string{xattr.NameVersionID, xattr.NameLockStatus}
	if v.DeleteMarker {
		names = append(names, nameDeleteMarker)
	}
	if v.RetMode.Valid() {
		names = append(names, xattr.NameRetention)
	}
	if v.HoldSet {
		names = append(names, xattr.NameLegalHold)
	}
	for k := range v.UserMeta {
		names = append(names, "user."+k)
	}
	return names
}
