package fs

import (
	"context"
	"errors"
	"strings"
	"syscall"

	"github.com/wormfs/wormfs/meta"
)

// Confidential history (SPEC §5): the versions view and the at view show
// a key's past only to a caller who may read the key as it is now. The
// kernel checks each view node's own mode (a version keeps its own), but
// the views are reached by another path than the key, so the daemon
// checks the main tree's path on every access that shows content,
// attributes or names: every directory from the bucket down must be
// searchable, and the current file readable (for a deleted key, its
// directory readable). Root passes, as it passes the kernel's check.

// dirPerm returns the permission bits and owner of the main tree's
// directory prefix of bucket ("" is the bucket's directory, else "a/b/"),
// as the main tree shows them now: the bucket's stored attributes, an
// explicit directory's marker, or 0755 root for an implicit directory.
func (f *wormFS) dirPerm(bucket, prefix string) (perm, uid, gid uint32, err error) {
	if prefix == "" {
		rec, err := f.bucketAttrs(bucket)
		if err != nil {
			return 0, 0, 0, err
		}
		return rec.Mode & 0o7777, rec.UID, rec.GID, nil
	}
	v, err := f.store.Get(bucket, prefix, "")
	switch {
	case err == nil:
		return v.Mode & 0o7777, v.UID, v.GID, nil
	case errors.Is(err, meta.ErrNoSuchKey), errors.Is(err, meta.ErrKeyTooLong), errors.Is(err, meta.ErrInvalidKey):
		return 0o755, 0, 0, nil
	}
	return 0, 0, 0, err
}

// searchPath checks that c may search every directory of the main tree on
// the way to key (the bucket's directory and each parent of key).
func (f *wormFS) searchPath(c *caller, bucket, key string) syscall.Errno {
	prefix := ""
	parts := strings.Split(key, "/")
	for i := 0; ; i++ {
		perm, uid, gid, err := f.dirPerm(bucket, prefix)
		if err != nil {
			return toErrno(err)
		}
		if !c.permits(perm, uid, gid, 1) {
			return syscall.EACCES
		}
		if i >= len(parts)-1 {
			return 0
		}
		prefix += parts[i] + "/"
	}
}

// parentPrefix is the directory prefix key is in ("" for the bucket).
func parentPrefix(key string) string {
	if i := strings.LastIndexByte(strings.TrimSuffix(key, "/"), '/'); i >= 0 {
		return key[:i+1]
	}
	return ""
}

// historyAccess checks that c may see the history of bucket/key (key ""
// is the bucket itself): the path searchable and the key readable as the
// main tree has it now: the current file readable; a key that is a
// directory now readable and searchable as that directory; a deleted key's
// directory readable.
func (f *wormFS) historyAccess(c *caller, bucket, key string) syscall.Errno {
	if c.uid == 0 {
		return 0
	}
	if key == "" {
		perm, uid, gid, err := f.dirPerm(bucket, "")
		if err != nil {
			return toErrno(err)
		}
		if !c.permits(perm, uid, gid, 5) {
			return syscall.EACCES
		}
		return 0
	}
	if errno := f.searchPath(c, bucket, key); errno != 0 {
		return errno
	}
	v, err := f.store.Get(bucket, key, "")
	switch {
	case err == nil:
		if !c.permits(v.Mode&0o7777, v.UID, v.GID, 4) {
			return syscall.EACCES
		}
		return 0
	case !errors.Is(err, meta.ErrNoSuchKey):
		return toErrno(err)
	}
	if !strings.HasSuffix(key, "/") {
		// A directory now (explicit or implicit)?
		res, err := f.store.List(bucket, meta.ListOptions{Prefix: key + "/", Max: 1})
		if err == nil && len(res.Objects)+len(res.Prefixes) > 0 {
			perm, uid, gid, err := f.dirPerm(bucket, key+"/")
			if err != nil {
				return toErrno(err)
			}
			if !c.permits(perm, uid, gid, 5) {
				return syscall.EACCES
			}
			return 0
		}
	}
	perm, uid, gid, err := f.dirPerm(bucket, parentPrefix(key))
	if err != nil {
		return toErrno(err)
	}
	if !c.permits(perm, uid, gid, 4) {
		return syscall.EACCES
	}
	return 0
}

// listAccess checks that c may list the main tree's directory prefix of
// bucket ("" the bucket, else "a/b/") as it is now: searchable on the way
// and readable and searchable itself.
func (f *wormFS) listAccess(c *caller, bucket, prefix string) syscall.Errno {
	if c.uid == 0 {
		return 0
	}
	if prefix != "" {
		if errno := f.searchPath(c, bucket, strings.TrimSuffix(prefix, "/")); errno != 0 {
			return errno
		}
	}
	perm, uid, gid, err := f.dirPerm(bucket, prefix)
	if err != nil {
		return toErrno(err)
	}
	if !c.permits(perm, uid, gid, 5) {
		return syscall.EACCES
	}
	return 0
}

// viewAccess is historyAccess for the caller of a request.
func (f *wormFS) viewAccess(ctx context.Context, bucket, key string) syscall.Errno {
	c := callerOf(ctx)
	return f.historyAccess(&c, bucket, key)
}
