package fs

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/wormfs/wormfs/meta"
	"github.com/wormfs/wormfs/xattr"
)

// The lock administrators' path (SPEC §4): the kernel refuses a user.*
// setxattr to anyone who may not write the file, so an administrator
// could not place a hold on somebody else's read-only file through the
// mount. The daemon's control socket (cmd/wormfs) authenticates its peer
// and calls the methods below, which apply the very rules of the mount:
// the same rights (lockctl.Authority of the caller on the version), the
// same store calls, the same pending-write carry when the file is open
// with unpublished writes.

// Identity is a local principal as the control socket knows it from its
// peer's credentials.
type Identity struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups
	PID      int32
}

func (id Identity) caller() caller {
	pid := uint32(0)
	if id.PID > 0 {
		pid = uint32(id.PID)
	}
	return caller{uid: id.UID, gid: id.GID, pid: pid, groups: id.Groups, known: true, control: true}
}

// ControlError is a refusal with the errno the mount would answer.
type ControlError struct {
	Errno syscall.Errno
	Err   error
}

func (e *ControlError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Errno.Error()
}

func (e *ControlError) Unwrap() error { return e.Errno }

func ctlErr(errno syscall.Errno, err error) error {
	if errno == 0 {
		return nil
	}
	return &ControlError{Errno: errno, Err: err}
}

// fileFor returns the node of bucket/key as the mount has it (the live one
// when the kernel holds it, so that writes it has not published get the
// lock too), or a detached node reading the store.
func (m *Mounted) fileFor(bucket, key string) *fileNode {
	f := m.fsys
	if p := f.getPending(bucket, key); p != nil {
		return p
	}
	in := m.root.EmbeddedInode()
	switch {
	case f.opts.Bucket == "":
		in = in.GetChild(bucket)
	case bucket != f.opts.Bucket:
		in = nil
	}
	for _, p := range strings.Split(key, "/") {
		if in == nil {
			break
		}
		in = in.GetChild(p)
	}
	if in != nil {
		if fn, ok := in.Operations().(*fileNode); ok {
			if b, k := fn.loc(); b == bucket && k == key {
				return fn
			}
		}
	}
	return &fileNode{fsys: f, bucket: bucket, key: key}
}

// checkKey validates bucket and key of a control request and checks that
// the caller may reach the key through the main tree (every directory
// searchable; administrators pass).
func (m *Mounted) checkKey(c *caller, bucket, key string) error {
	if f := m.fsys.opts.Bucket; f != "" && bucket != f {
		return ctlErr(syscall.ENOENT, fmt.Errorf("bucket %q is not mounted here", bucket))
	}
	if err := meta.ValidBucketName(bucket); err != nil {
		return ctlErr(syscall.EINVAL, err)
	}
	if err := meta.ValidKey(key); err != nil {
		return ctlErr(toErrno(err), err)
	}
	if m.fsys.isAdmin(*c) {
		return nil
	}
	if errno := m.fsys.searchPath(c, bucket, key); errno != 0 {
		return ctlErr(errno, fmt.Errorf("%s/%s: %w", bucket, key, errno))
	}
	return nil
}

// SetLegalHold turns the legal hold of a version of bucket/key on or off
// for id (versionID "" is the current version, with the pending-write
// carry of the mount). It returns the version id changed.
func (m *Mounted) SetLegalHold(id Identity, bucket, key, versionID string, on bool) (string, error) {
	return m.lockRequest(id, bucket, key, versionID, lockChange{on: on})
}

// SetRetention sets the retention of a version of bucket/key for id, from
// a value in the user.s3.retention form (a trailing " bypass" is the
// explicit governance bypass request).
func (m *Mounted) SetRetention(id Identity, bucket, key, versionID, value string) (string, error) {
	req, err := xattr.ParseRetention([]byte(value), m.fsys.store.Now())
	if err != nil {
		return "", ctlErr(toErrno(err), err)
	}
	return m.lockRequest(id, bucket, key, versionID, lockChange{retention: true, ret: req.Retention, bypass: req.Bypass})
}

func (m *Mounted) lockRequest(id Identity, bucket, key, versionID string, ch lockChange) (string, error) {
	c := id.caller()
	if err := m.checkKey(&c, bucket, key); err != nil {
		return "", err
	}
	f := m.fsys
	if versionID == "" {
		n := m.fileFor(bucket, key)
		if err := n.changeLock(c, ch); err != nil {
			return "", ctlErr(toErrno(err), err)
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.cur.ID, nil
	}
	v, err := f.store.Get(bucket, key, versionID)
	if err != nil {
		return "", ctlErr(toErrno(err), err)
	}
	if ch.retention {
		_, err = f.store.SetRetention(bucket, key, v.ID, ch.ret, f.lockActor(c, v, ch.bypass))
	} else {
		_, err = f.store.SetLegalHold(bucket, key, v.ID, ch.on, f.lockActor(c, v, false))
	}
	if err != nil {
		return "", ctlErr(toErrno(err), err)
	}
	return v.ID, nil
}

// DeleteVersion permanently deletes one version (or delete marker) of
// bucket/key for id: as an unlink in the versions view (root,
// administrators and the version's owner may ask; the lock rules decide),
// and with bypass an explicit governance bypass request, effective only
// for an administrator. It never lifts COMPLIANCE or a legal hold.
func (m *Mounted) DeleteVersion(id Identity, bucket, key, versionID string, bypass bool) error {
	c := id.caller()
	if err := m.checkKey(&c, bucket, key); err != nil {
		return err
	}
	f := m.fsys
	if !f.isAdmin(c) {
		if errno := f.historyAccess(&c, bucket, key); errno != 0 {
			return ctlErr(errno, fmt.Errorf("%s/%s: %w", bucket, key, errno))
		}
	}
	v, err := f.store.Get(bucket, key, versionID)
	if err != nil && !(errors.Is(err, meta.ErrDeleteMarker) && v != nil) {
		return ctlErr(toErrno(err), err)
	}
	if !f.mayDeleteVersion(c, v) {
		return ctlErr(syscall.EPERM, fmt.Errorf("%s/%s version %s: only its owner or a lock administrator may delete it", bucket, key, v.ID))
	}
	if _, err := f.store.DeleteVersion(bucket, key, v.ID, f.actor(c, bypass)); err != nil {
		return ctlErr(toErrno(err), err)
	}
	f.invalidateMain(m.root.EmbeddedInode(), bucket, key)
	return nil
}
