package fs

import (
	"context"
	"errors"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
	"github.com/wormfs/wormfs/xattr"
)

// maxUserMetaValue bounds the value of one stored user.* attribute (S3
// allows 2 KiB of user metadata in all).
const maxUserMetaValue = 2048

// Flags of setxattr(2).
const (
	xattrCreate  = 1
	xattrReplace = 2
)

// copyXattr answers a getxattr or listxattr: the size for an empty buffer,
// ERANGE for a short one.
func copyXattr(dest, val []byte) (uint32, syscall.Errno) {
	if len(dest) == 0 {
		return uint32(len(val)), 0
	}
	if len(dest) < len(val) {
		return 0, syscall.ERANGE
	}
	return uint32(copy(dest, val)), 0
}

// listNames encodes names for listxattr.
func listNames(dest []byte, names []string) (uint32, syscall.Errno) {
	sort.Strings(names)
	var b []byte
	for _, n := range names {
		b = append(b, n...)
		b = append(b, 0)
	}
	return copyXattr(dest, b)
}

// checkUserValue checks a value stored as user metadata: UTF-8 text
// without control characters, at most maxUserMetaValue bytes.
func checkUserValue(data []byte) syscall.Errno {
	if len(data) > maxUserMetaValue {
		return syscall.E2BIG
	}
	if !utf8.Valid(data) {
		return syscall.EINVAL
	}
	for _, c := range data {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return syscall.EINVAL
		}
	}
	return 0
}

// checkUserMetaTotal checks that user metadata m with k set to val stays
// within S3's cap of 2 KiB in all, names and values counted as the S3
// listener counts them (no PUT could make more).
func checkUserMetaTotal(m map[string]string, k, val string) syscall.Errno {
	size := len(k) + len(val)
	for mk, mv := range m {
		if mk != k {
			size += len(mk) + len(mv)
		}
	}
	if size > maxUserMetaValue {
		return syscall.E2BIG
	}
	return 0
}

// userKey maps a user.* attribute name to its user-metadata key; names that
// cannot be S3 metadata are not supported.
func userKey(name string) (string, syscall.Errno) {
	k, ok := xattr.UserMetaKey(name)
	if !ok {
		return "", syscall.ENOTSUP
	}
	return k, 0
}

// setErrno is the answer to a setxattr of a name that is not settable on a
// node of this kind.
func setErrno(kind xattr.Kind) syscall.Errno {
	switch kind {
	case xattr.KindReserved:
		return syscall.ENOTSUP
	case xattr.KindVersionID, xattr.KindLockStatus:
		return syscall.EPERM // read-only
	default:
		return syscall.EINVAL
	}
}

// lockTargetLocked returns the current version, for the lock attributes:
// a file created here and not yet published is published first.
func (n *fileNode) lockTargetLocked(c caller) (*meta.Version, syscall.Errno) {
	if n.unlinked {
		return nil, syscall.ENOENT
	}
	if _, err := n.refreshLocked(); err != nil {
		return nil, toErrno(err)
	}
	if n.cur == nil && n.creating {
		if err := n.publishCreatedLocked(c); err != nil {
			return nil, toErrno(err)
		}
	}
	if n.cur == nil {
		return nil, syscall.ENODATA
	}
	return n.cur, 0
}

// lockChange is a lock attribute change of a file: retention (ret, with an
// explicit bypass request) or legal hold (on).
type lockChange struct {
	retention bool
	remove    bool // removexattr: the attribute must be set
	ret       lockctl.Retention
	bypass    bool
	on        bool
}

// changeLock applies a lock change to the current version, under the lock
// rules, checked by the store in its transaction against c's rights. It
// holds the node's lock throughout, so that a write cannot slip between
// the change and its record: when the node has unpublished changes, the
// lock is also kept for the version they publish (SPEC §4: locks follow
// the bytes).
func (n *fileNode) changeLock(c caller, ch lockChange) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, errno := n.lockTargetLocked(c)
	if errno != 0 {
		return errno
	}
	if ch.remove && (ch.retention && !v.RetMode.Valid() || !ch.retention && !v.HoldSet) {
		return syscall.ENODATA
	}
	var nv *meta.Version
	var err error
	if ch.retention {
		nv, err = n.fsys.store.SetRetention(v.Bucket, v.Key, v.ID, ch.ret, n.fsys.lockActor(c, v, ch.bypass))
	} else {
		nv, err = n.fsys.store.SetLegalHold(v.Bucket, v.Key, v.ID, ch.on, n.fsys.lockActor(c, v, false))
	}
	if err != nil {
		return err
	}
	n.observeLocked(nv)
	if n.changingLocked() {
		if ch.retention {
			n.carry.Retention = nv.Lock().Retention
		} else {
			n.carry.LegalHold = ch.on
		}
	}
	return nil
}

// userMeta returns the user metadata the file shows now: the current
// version's, with the changes waiting for the next publish.
func (n *fileNode) userMeta() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := map[string]string{}
	if n.cur != nil {
		for k, v := range n.cur.UserMeta {
			m[k] = v
		}
	}
	for k, v := range n.over.meta {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = *v
		}
	}
	return m
}

// Getxattr reads user.s3.* from the current version, and other user.*
// attributes from its user metadata. security.*, system.* and trusted.*
// are ENODATA without touching the store.
// lockXattr is the value of a user.s3.* lock attribute of version v (the
// current version of a file, or any version in the versions view); false
// when v has none.
func (f *wormFS) lockXattr(v *meta.Version, kind xattr.Kind) ([]byte, bool) {
	switch kind {
	case xattr.KindRetention:
		if !v.RetMode.Valid() {
			return nil, false
		}
		return xattr.FormatRetention(v.Lock().Retention), true
	case xattr.KindLegalHold:
		if !v.HoldSet {
			return nil, false
		}
		return xattr.FormatLegalHold(v.LegalHold), true
	case xattr.KindVersionID:
		return []byte(v.ID), true
	case xattr.KindLockStatus:
		return []byte(v.Lock().Status(f.store.Now())), true
	}
	return nil, false
}

func (n *fileNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	kind := xattr.ClassifyName(attr)
	switch kind {
	case xattr.KindReserved, xattr.KindInvalid, xattr.KindUnknownS3:
		return 0, syscall.ENODATA
	case xattr.KindUser:
		k, errno := userKey(attr)
		if errno != 0 {
			return 0, syscall.ENODATA
		}
		n.mu.Lock()
		n.refreshLocked()
		n.mu.Unlock()
		val, ok := n.userMeta()[k]
		if !ok {
			return 0, syscall.ENODATA
		}
		return copyXattr(dest, []byte(val))
	}
	n.mu.Lock()
	if _, err := n.refreshLocked(); err != nil {
		n.mu.Unlock()
		return 0, toErrno(err)
	}
	v := n.cur
	n.mu.Unlock()
	if v == nil {
		return 0, syscall.ENODATA
	}
	val, ok := n.fsys.lockXattr(v, kind)
	if !ok {
		return 0, syscall.ENODATA
	}
	return copyXattr(dest, val)
}

// Setxattr sets retention or legal hold of the current version (under
// the lock rules, in the store's transaction), or stores a user.*
// attribute as user metadata. Malformed: EINVAL; a rule violation: EPERM;
// either way nothing changes.
func (n *fileNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	c := callerOf(ctx)
	kind := xattr.ClassifyName(attr)
	switch kind {
	case xattr.KindRetention:
		req, err := xattr.ParseRetention(data, n.fsys.store.LockFloor())
		if err != nil {
			return toErrno(err)
		}
		return toErrno(n.changeLock(c, lockChange{retention: true, ret: req.Retention, bypass: req.Bypass}))
	case xattr.KindLegalHold:
		on, err := xattr.ParseLegalHold(data)
		if err != nil {
			return toErrno(err)
		}
		return toErrno(n.changeLock(c, lockChange{on: on}))
	case xattr.KindUser:
		k, errno := userKey(attr)
		if errno != 0 {
			return errno
		}
		if errno := checkUserValue(data); errno != 0 {
			return errno
		}
		m := n.userMeta()
		_, exists := m[k]
		if flags&xattrCreate != 0 && exists {
			return syscall.EEXIST
		}
		if flags&xattrReplace != 0 && !exists {
			return syscall.ENODATA
		}
		if errno := checkUserMetaTotal(m, k, string(data)); errno != 0 {
			return errno
		}
		return n.changeMeta(c, k, string(data), true)
	}
	return setErrno(kind)
}

// changeMeta sets (or removes) one user-metadata entry: in place on the
// current version, or for the next version while changes are unpublished.
func (n *fileNode) changeMeta(c caller, k, val string, set bool) syscall.Errno {
	n.mu.Lock()
	if n.unlinked {
		n.mu.Unlock()
		return syscall.ENOENT
	}
	if n.changingLocked() || n.cur == nil {
		if n.over.meta == nil {
			n.over.meta = map[string]*string{}
		}
		if set {
			n.over.meta[k] = &val
		} else {
			n.over.meta[k] = nil
		}
		n.mu.Unlock()
		return 0
	}
	bucket, key, id := n.bucket, n.key, n.cur.ID
	n.mu.Unlock()
	u := meta.AttrUpdate{Actor: n.fsys.actor(c, false)}
	if set {
		u.SetMeta = map[string]string{k: val}
	} else {
		u.DelMeta = []string{k}
	}
	v, err := n.fsys.store.UpdateAttrs(bucket, key, id, u)
	if err != nil {
		if !set && errors.Is(err, meta.ErrNoSuchKey) {
			return syscall.ENODATA
		}
		return toErrno(err)
	}
	n.observe(v)
	return 0
}

// Removexattr removes retention (allowed while it does not protect; never
// a bypass), turns legal hold off (administrators only), or removes a
// user.* attribute.
func (n *fileNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	c := callerOf(ctx)
	kind := xattr.ClassifyName(attr)
	switch kind {
	case xattr.KindRetention, xattr.KindLegalHold:
		// Never a governance bypass (SPEC §5): removing an active
		// GOVERNANCE retention needs a value ending in " bypass"; turning
		// a hold off needs an administrator.
		return toErrno(n.changeLock(c, lockChange{retention: kind == xattr.KindRetention, remove: true}))
	case xattr.KindVersionID, xattr.KindLockStatus:
		return syscall.EPERM
	case xattr.KindUser:
		k, errno := userKey(attr)
		if errno != 0 {
			return syscall.ENODATA
		}
		if _, ok := n.userMeta()[k]; !ok {
			return syscall.ENODATA
		}
		return n.changeMeta(c, k, "", false)
	}
	return syscall.ENODATA
}

// Listxattr lists the settable user.s3.* names that apply to the current
// version and the stored user.* names. The read-only user.s3.version-id
// and user.s3.lockstatus are read by name only (SPEC §5): listed, they
// made cp --preserve=xattr, rsync -X and mv across buckets fail on setting
// them on the copy.
func (n *fileNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	n.mu.Lock()
	n.refreshLocked()
	v := n.cur
	n.mu.Unlock()
	var names []string
	if v != nil {
		if v.RetMode.Valid() {
			names = append(names, xattr.NameRetention)
		}
		if v.HoldSet {
			names = append(names, xattr.NameLegalHold)
		}
	}
	for k := range n.userMeta() {
		if listableMeta(k) {
			names = append(names, "user."+k)
		}
	}
	return listNames(dest, names)
}

// Directory attributes: a bucket's user.s3.retention is its default
// retention rule; an explicit directory keeps user.* attributes on its
// marker object.

// Getxattr reads a bucket's default rule or a directory marker's user
// metadata.
func (n *dirNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	bucket, prefix := n.loc()
	kind := xattr.ClassifyName(attr)
	switch {
	case bucket == "":
	case kind == xattr.KindRetention && prefix == "":
		b, err := n.fsys.store.GetBucket(bucket)
		if err != nil {
			return 0, toErrno(err)
		}
		if b.Rule.IsZero() {
			return 0, syscall.ENODATA
		}
		return copyXattr(dest, xattr.FormatDefaultRule(b.Rule))
	case kind == xattr.KindUser && prefix != "":
		k, errno := userKey(attr)
		if errno != 0 {
			return 0, syscall.ENODATA
		}
		v, err := n.fsys.store.Get(bucket, prefix, "")
		if err != nil {
			return 0, syscall.ENODATA
		}
		val, ok := v.UserMeta[k]
		if !ok {
			return 0, syscall.ENODATA
		}
		return copyXattr(dest, []byte(val))
	}
	return 0, syscall.ENODATA
}

// Setxattr sets a bucket's default retention rule, or a user.* attribute
// of an explicit directory.
func (n *dirNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	bucket, prefix := n.loc()
	kind := xattr.ClassifyName(attr)
	c := callerOf(ctx)
	switch {
	case bucket == "":
		if kind == xattr.KindUser {
			return syscall.ENOTSUP
		}
	case kind == xattr.KindRetention && prefix == "":
		rule, err := xattr.ParseDefaultRule(data)
		if err != nil {
			return toErrno(err)
		}
		return n.setRule(bucket, rule, c)
	case kind == xattr.KindUser && prefix != "":
		k, errno := userKey(attr)
		if errno != 0 {
			return errno
		}
		if errno := checkUserValue(data); errno != 0 {
			return errno
		}
		v, err := n.fsys.store.Get(bucket, prefix, "")
		if err != nil {
			return syscall.ENOTSUP // an implicit directory has no object to hold it
		}
		_, exists := v.UserMeta[k]
		if flags&xattrCreate != 0 && exists {
			return syscall.EEXIST
		}
		if flags&xattrReplace != 0 && !exists {
			return syscall.ENODATA
		}
		if errno := checkUserMetaTotal(v.UserMeta, k, string(data)); errno != 0 {
			return errno
		}
		_, err = n.fsys.store.UpdateAttrs(bucket, prefix, v.ID, meta.AttrUpdate{SetMeta: map[string]string{k: string(data)}, Actor: n.fsys.actor(c, false)})
		return toErrno(err)
	case kind == xattr.KindUser:
		return syscall.ENOTSUP
	}
	return setErrno(kind)
}

func (n *dirNode) setRule(bucket string, rule lockctl.DefaultRule, c caller) syscall.Errno {
	b, err := n.fsys.store.GetBucket(bucket)
	if err != nil {
		return toErrno(err)
	}
	if !b.ObjectLock {
		return syscall.EINVAL // never turn Object Lock on as a side effect
	}
	// A bucket's default rule is for lock administrators (SPEC §4): owning
	// or writing the bucket directory is not enough.
	if err := lockctl.CheckDefaultRuleChange(lockctl.Authority{Admin: n.fsys.isAdmin(c)}); err != nil {
		return toErrno(err)
	}
	return toErrno(n.fsys.store.SetLockConfig(bucket, rule, n.fsys.actor(c, false)))
}

// Removexattr clears a bucket's default rule, or removes a directory
// marker's user.* attribute.
func (n *dirNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	bucket, prefix := n.loc()
	kind := xattr.ClassifyName(attr)
	c := callerOf(ctx)
	switch {
	case bucket == "":
	case kind == xattr.KindRetention && prefix == "":
		b, err := n.fsys.store.GetBucket(bucket)
		if err != nil {
			return toErrno(err)
		}
		if b.Rule.IsZero() {
			return syscall.ENODATA
		}
		return n.setRule(bucket, lockctl.DefaultRule{}, c)
	case kind == xattr.KindUser && prefix != "":
		k, errno := userKey(attr)
		if errno != 0 {
			return syscall.ENODATA
		}
		v, err := n.fsys.store.Get(bucket, prefix, "")
		if err != nil {
			return syscall.ENODATA
		}
		_, err = n.fsys.store.UpdateAttrs(bucket, prefix, v.ID, meta.AttrUpdate{DelMeta: []string{k}, Actor: n.fsys.actor(c, false)})
		if errors.Is(err, meta.ErrNoSuchKey) {
			return syscall.ENODATA
		}
		return toErrno(err)
	case kind == xattr.KindVersionID || kind == xattr.KindLockStatus:
		return syscall.ENODATA
	}
	return syscall.ENODATA
}

// Listxattr lists a bucket's user.s3.retention when it has a default rule,
// and an explicit directory's user.* names.
func (n *dirNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	bucket, prefix := n.loc()
	var names []string
	switch {
	case bucket == "":
	case prefix == "":
		if b, err := n.fsys.store.GetBucket(bucket); err == nil && !b.Rule.IsZero() {
			names = append(names, xattr.NameRetention)
		}
	default:
		if v, err := n.fsys.store.Get(bucket, prefix, ""); err == nil {
			for k := range v.UserMeta {
				if listableMeta(k) {
					names = append(names, "user."+k)
				}
			}
		}
	}
	return listNames(dest, names)
}

// listableMeta reports whether the user-metadata key k is listed as the
// attribute user.k: keys in the reserved s3. space (possible over S3 as
// x-amz-meta-s3.*) would list as user.s3.* names that mean something else,
// so they are only visible over S3.
func listableMeta(k string) bool { return !strings.HasPrefix(k, "s3.") }
