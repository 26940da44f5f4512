package meta

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/lockctl"
)

// getVersion resolves versionID ("" for the latest) of key inside txn.
// For the latest version of a key whose newest entry is a delete marker it
// returns the marker and ErrNoSuchKey; for an explicit version id naming a
// delete marker, the marker and ErrDeleteMarker.
func getVersion(txn *badger.Txn, bucket, key, versionID string) (*Version, error) {
	if _, err := getBucket(txn, bucket); err != nil {
		return nil, err
	}
	if versionID == "" {
		item, err := txn.Get(keyCurrent(bucket, key))
		if err == nil {
			var v *Version
			err = item.Value(func(b []byte) (err error) {
				v, err = decodeVersion(bucket, b)
				return err
			})
			return v, err
		}
		if !errors.Is(err, badger.ErrKeyNotFound) {
			return nil, err
		}
		latest, err := latestVersion(txn, bucket, key)
		if err != nil {
			return nil, err
		}
		return latest, fmt.Errorf("%w: %s/%s (deleted)", ErrNoSuchKey, bucket, key)
	}
	var v *Version
	var err error
	if versionID == NullVersionID {
		v, err = getNull(txn, bucket, key)
	} else {
		var seq uint64
		if seq, err = parseVersionID(versionID); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoSuchVersion, err)
		}
		v, err = getVersionSeq(txn, bucket, key, seq)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s version %s", err, bucket, key, versionID)
	}
	if v.DeleteMarker {
		return v, fmt.Errorf("%w: %s/%s version %s", ErrDeleteMarker, bucket, key, versionID)
	}
	return v, nil
}

// Get returns a version of key: versionID "" is the latest. See getVersion
// for the delete-marker cases (the marker is returned with the error).
func (s *Store) Get(bucket, key, versionID string) (*Version, error) {
	var v *Version
	err := s.view(func(txn *badger.Txn) (err error) {
		v, err = getVersion(txn, bucket, key, versionID)
		return err
	})
	return v, err
}

// Versions returns every version and delete marker of key, newest first.
func (s *Store) Versions(bucket, key string) ([]*Version, error) {
	var out []*Version
	err := s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: keyObjectPrefix(bucket, key), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := itemVersion(bucket, it.Item())
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

func itemVersion(bucket string, item *badger.Item) (*Version, error) {
	var v *Version
	err := item.Value(func(b []byte) (err error) {
		v, err = decodeVersion(bucket, b)
		return err
	})
	return v, err
}

// Delete is S3 DeleteObject without a version id: in a versioning-enabled
// bucket it adds a delete marker (also for a key that does not exist, as
// S3 does); in a suspended bucket the marker becomes the null version; in
// an unversioned bucket the null version is permanently deleted and nil is
// returned.
func (s *Store) Delete(bucket, key string, o PublishOptions) (*Version, error) {
	return s.delete(bucket, key, o, false)
}

// DeleteExisting is Delete of a key that must have a current version
// (unlink in the mount): the check and the delete are one transaction;
// a key without one gives ErrNoSuchKey and changes nothing.
func (s *Store) DeleteExisting(bucket, key string, o PublishOptions) (*Version, error) {
	return s.delete(bucket, key, o, true)
}

func (s *Store) delete(bucket, key string, o PublishOptions, mustExist bool) (*Version, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	var marker *Version
	err := s.update(func(txn *badger.Txn) error {
		marker = nil
		b, err := getBucket(txn, bucket)
		if err != nil {
			return err
		}
		if mustExist {
			if _, err := txn.Get(keyCurrent(bucket, key)); err != nil {
				if errors.Is(err, badger.ErrKeyNotFound) {
					return fmt.Errorf("%w: %s/%s", ErrNoSuchKey, bucket, key)
				}
				return err
			}
		}
		if b.Versioning == VersioningOff {
			old, err := getNull(txn, bucket, key)
			if errors.Is(err, ErrNoSuchVersion) {
				return nil
			}
			if err != nil {
				return err
			}
			return s.removeVersion(txn, old, o.Actor, false)
		}
		// A delete marker belongs to whoever made it (o.UID, o.GID).
		marker = &Version{Key: key, DeleteMarker: true, UID: o.UID, GID: o.GID}
		return s.putVersion(txn, bucket, marker, nil, nil, false, o)
	})
	if err != nil {
		return nil, err
	}
	return marker, s.syncIfNeeded(o.Sync)
}

// DeleteVersion permanently deletes one version (or delete marker) of key,
// refused with lockctl.ErrProtected (wrapped) while the version is
// protected; actor.Bypass may lift an active GOVERNANCE retention. Removing
// the latest delete marker makes the previous version current again.
func (s *Store) DeleteVersion(bucket, key, versionID string, actor Actor) (*Version, error) {
	var v *Version
	err := s.update(func(txn *badger.Txn) (err error) {
		v, err = getVersion(txn, bucket, key, versionID)
		if err != nil && !(errors.Is(err, ErrDeleteMarker) && v != nil) {
			return err
		}
		return s.removeVersion(txn, v, actor, true)
	})
	if err != nil {
		return nil, err
	}
	return v, s.syncIfNeeded(true)
}

// lockedVersion fetches the version for a lock change: the bucket must
// have Object Lock and the version must not be a delete marker.
func lockedVersion(txn *badger.Txn, bucket, key, versionID string) (*Version, error) {
	b, err := getBucket(txn, bucket)
	if err != nil {
		return nil, err
	}
	v, err := getVersion(txn, bucket, key, versionID)
	if err != nil {
		if v != nil && v.DeleteMarker {
			return nil, fmt.Errorf("%w: %s/%s", ErrDeleteMarker, bucket, key)
		}
		return nil, err
	}
	if !b.ObjectLock {
		return nil, fmt.Errorf("%w: %s", lockctl.ErrNotLockedBucket, bucket)
	}
	return v, nil
}

// saveInPlace rewrites a version's record (and the current copy when it is
// the current version).
func saveInPlace(txn *badger.Txn, v *Version) error {
	if err := txn.Set(keyVersion(v.Bucket, v.Key, v.Seq), encode(v)); err != nil {
		return err
	}
	item, err := txn.Get(keyCurrent(v.Bucket, v.Key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cur, err := itemVersion(v.Bucket, item)
	if err != nil {
		return err
	}
	if cur.Seq == v.Seq {
		return txn.Set(keyCurrent(v.Bucket, v.Key), encode(v))
	}
	return nil
}

// SetRetention sets (or, with a zero r, removes) the retention of a
// version under the rules of lockctl, judged by the compliance clock.
func (s *Store) SetRetention(bucket, key, versionID string, r lockctl.Retention, actor Actor) (*Version, error) {
	var v *Version
	err := s.update(func(txn *badger.Txn) (err error) {
		v, err = lockedVersion(txn, bucket, key, versionID)
		if err != nil {
			return err
		}
		now := s.Now()
		if actor.Rights != nil {
			if err := lockctl.CheckRetentionRequest(*actor.Rights); err != nil {
				return fmt.Errorf("%s/%s version %s: %w", bucket, key, v.ID, err)
			}
		}
		if !r.IsZero() {
			if err := lockctl.ValidateRetention(r, lockctl.Latest(now, s.SysNow()), s.opts.MaxRetention); err != nil {
				return err
			}
			r.Until = lockctl.CeilMilli(r.Until)
		}
		cur := v.Lock().Retention
		if err := lockctl.CheckRetentionChange(cur, r, now, actor.Bypass); err != nil {
			return fmt.Errorf("%s/%s version %s: %w", bucket, key, v.ID, err)
		}
		bypassed := lockctl.CheckRetentionChange(cur, r, now, lockctl.Bypass{}) != nil
		action := "retention-set"
		switch {
		case r.IsZero():
			action = "retention-remove"
		case cur.Active(now) && r.Mode == cur.Mode && !r.Until.Before(cur.Until):
			action = "retention-extend"
		case cur.Active(now) && r.Mode == cur.Mode:
			action = "retention-shorten"
		case cur.Active(now):
			action = "retention-mode-change"
		}
		v.RetMode, v.RetUntil = r.Mode, r.Until
		if err := saveInPlace(txn, v); err != nil {
			return err
		}
		return s.audit(txn, AuditRecord{Action: action, Bucket: bucket, Key: key, VersionID: v.ID, Actor: actor.Name, Bypass: bypassed,
			Detail: fmt.Sprintf("%s -> %s", orNone(cur.String()), orNone(r.String()))})
	})
	if err != nil {
		return nil, err
	}
	return v, s.syncIfNeeded(true)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// SetLegalHold turns the legal hold of a version on or off.
func (s *Store) SetLegalHold(bucket, key, versionID string, on bool, actor Actor) (*Version, error) {
	var v *Version
	err := s.update(func(txn *badger.Txn) (err error) {
		v, err = lockedVersion(txn, bucket, key, versionID)
		if err != nil {
			return err
		}
		if actor.Rights != nil {
			if err := lockctl.CheckHoldRequest(*actor.Rights, v.LegalHold, on); err != nil {
				return fmt.Errorf("%s/%s version %s: %w", bucket, key, v.ID, err)
			}
		}
		v.LegalHold, v.HoldSet = on, true
		if err := saveInPlace(txn, v); err != nil {
			return err
		}
		action := "legal-hold-off"
		if on {
			action = "legal-hold-on"
		}
		return s.audit(txn, AuditRecord{Action: action, Bucket: bucket, Key: key, VersionID: v.ID, Actor: actor.Name})
	})
	if err != nil {
		return nil, err
	}
	return v, s.syncIfNeeded(true)
}

// AttrUpdate changes attributes of a version: in place (no new version,
// no data copy) while the version is unprotected. Nil fields are left
// alone.
type AttrUpdate struct {
	Mode        *uint32
	UID, GID    *uint32
	Mtime       *time.Time
	ContentType *string
	SetMeta     map[string]string // user metadata entries to set
	DelMeta     []string          // user metadata entries to remove
	Tags        *map[string]string
	// Actor names who asks, for the audit record of a version made
	// because the current one is protected.
	Actor Actor
}

// apply applies u to v and reports whether anything but the tags changed.
func (u AttrUpdate) apply(v *Version) (changed bool, err error) {
	if u.Mode != nil && v.Mode != *u.Mode&0o7777 {
		v.Mode, changed = *u.Mode&0o7777, true
	}
	if u.UID != nil && v.UID != *u.UID {
		v.UID, changed = *u.UID, true
	}
	if u.GID != nil && v.GID != *u.GID {
		v.GID, changed = *u.GID, true
	}
	if u.Mtime != nil && !v.Mtime.Equal(ClampTime(*u.Mtime)) {
		v.Mtime, changed = ClampTime(*u.Mtime), true
	}
	if u.ContentType != nil && v.ContentType != *u.ContentType {
		v.ContentType, changed = *u.ContentType, true
	}
	for _, k := range u.DelMeta {
		if _, ok := v.UserMeta[k]; !ok {
			return false, fmt.Errorf("%w: metadata %q", ErrNoSuchKey, k)
		}
		delete(v.UserMeta, k)
		changed = true
	}
	for k, val := range u.SetMeta {
		if old, ok := v.UserMeta[k]; ok && old == val {
			continue
		}
		if v.UserMeta == nil {
			v.UserMeta = map[string]string{}
		}
		v.UserMeta[k], changed = val, true
	}
	if u.Tags != nil {
		v.Tags = cloneMap(*u.Tags)
	}
	return changed, nil
}

// UpdateAttrs applies u to a version ("" = the current one). Removing a
// user-metadata entry that does not exist fails with ErrNoSuchKey.
//
// A protected version never changes (SPEC §4): a change of its POSIX
// attributes, content type or user metadata publishes a new version
// instead, sharing its chunks and keeping its lock (PublishOptions.Carry),
// and that version is returned; the protected one stays byte for byte as
// it was. Object tags stay mutable in place, as on AWS. A change that
// changes nothing publishes nothing. A protected version that is not the
// current one cannot be changed (ErrProtected).
func (s *Store) UpdateAttrs(bucket, key, versionID string, u AttrUpdate) (*Version, error) {
	var v *Version
	err := s.update(func(txn *badger.Txn) (err error) {
		v, err = getVersion(txn, bucket, key, versionID)
		if err != nil {
			return err
		}
		now := s.Now()
		if v.Lock().Protected(now) {
			old := v.clone()
			changed, err := u.apply(v)
			if err != nil {
				return err
			}
			if !changed {
				v = old
				if u.Tags != nil {
					v.Tags = cloneMap(*u.Tags)
					return saveInPlace(txn, v)
				}
				return nil
			}
			return s.copyForward(txn, old, v, u)
		}
		if _, err := u.apply(v); err != nil {
			return err
		}
		v.Ctime = s.SysNow()
		return saveInPlace(txn, v)
	})
	return v, err
}

// copyForward publishes next (old with changed attributes) as a new
// version of old's key sharing old's chunks and carrying its lock, inside
// txn; old must be the current version. next becomes the new version.
func (s *Store) copyForward(txn *badger.Txn, old, next *Version, u AttrUpdate) error {
	cur, err := getVersion(txn, old.Bucket, old.Key, "")
	if err != nil || cur.Seq != old.Seq {
		return fmt.Errorf("%w: %s/%s version %s is not the current version", lockctl.ErrProtected, old.Bucket, old.Key, old.ID)
	}
	ext, err := getExtents(txn, old.Seq)
	if err != nil {
		return err
	}
	if u.Tags != nil {
		// Tags belong to the version they were put on, which may change
		// them in place; the new version gets them too.
		old.Tags = cloneMap(*u.Tags)
		if err := saveInPlace(txn, old); err != nil {
			return err
		}
	}
	o := PublishOptions{
		Actor: u.Actor, Mode: next.Mode, UID: next.UID, GID: next.GID, Mtime: next.Mtime, Link: next.Link,
		ContentType: next.ContentType, UserMeta: next.UserMeta, Tags: next.Tags, Checksums: next.Checksums,
		Carry: old.Lock(),
	}
	nv := newVersion(old.Key, old.Size, o)
	nv.Mode = next.Mode // newVersion reads mode 0 as "the default"
	nv.ETag, nv.HashState, nv.Parts = old.ETag, old.HashState, old.Parts
	if err := s.putVersion(txn, old.Bucket, nv, ext, nil, false, o); err != nil {
		return err
	}
	*next = *nv
	return s.audit(txn, AuditRecord{Action: "version-copy-forward", Bucket: old.Bucket, Key: old.Key, VersionID: nv.ID, Actor: u.Actor.Name,
		Detail: fmt.Sprintf("attributes changed on protected version %s; it stays unchanged", old.ID)})
}

// Copy publishes a new version at dstBucket/dstKey whose content is src's,
// sharing its chunks (nothing is copied). The lock of src is not copied:
// the new version gets o.Retention or the destination bucket's default.
func (s *Store) Copy(src *Version, dstBucket, dstKey string, o PublishOptions) (*Version, error) {
	if err := ValidKey(dstKey); err != nil {
		return nil, err
	}
	if src.DeleteMarker {
		return nil, ErrDeleteMarker
	}
	if err := s.checkSpace(0); err != nil {
		return nil, err
	}
	var v *Version
	err := s.update(func(txn *badger.Txn) error {
		ext, err := getExtents(txn, src.Seq)
		if err != nil {
			return err
		}
		if _, err := getVersionSeq(txn, src.Bucket, src.Key, src.Seq); err != nil {
			return fmt.Errorf("%w: copy source", ErrStale)
		}
		v = newVersion(dstKey, src.Size, o)
		v.ETag, v.HashState = src.ETag, src.HashState
		v.copyParts(src)
		if len(v.Checksums) == 0 {
			v.Checksums = cloneMap(src.Checksums)
		}
		if err := s.putVersion(txn, dstBucket, v, ext, nil, false, o); err != nil {
			return err
		}
		return copyPartSums(txn, src.Seq, v.Seq)
	})
	if err != nil {
		return nil, err
	}
	return v, s.syncIfNeeded(o.Sync)
}

// Rename moves the current version of src to dst in one transaction: a new
// version at dst sharing src's chunks and keeping its attributes and user
// metadata, then a delete marker at src (in a versioned bucket; in an
// unversioned one the null version of src is removed, under the lock
// rules). Renaming a key onto itself changes nothing and returns its
// current version, as rename(2) does.
func (s *Store) Rename(bucket, src, dst string, o PublishOptions) (*Version, error) {
	if err := ValidKey(dst); err != nil {
		return nil, err
	}
	var v *Version
	err := s.update(func(txn *badger.Txn) error {
		cur, err := getVersion(txn, bucket, src, "")
		if err != nil {
			return err
		}
		if src == dst {
			v = cur // rename(2) onto itself changes nothing
			return nil
		}
		ext, err := getExtents(txn, cur.Seq)
		if err != nil {
			return err
		}
		po := o
		po.Mode, po.ModeSet, po.UID, po.GID, po.Mtime, po.Link = cur.Mode, true, cur.UID, cur.GID, cur.Mtime, cur.Link
		po.ContentType, po.UserMeta, po.Tags, po.Checksums = cur.ContentType, cur.UserMeta, cur.Tags, cur.Checksums
		// The lock follows the bytes: the new version at dst keeps the
		// retention still running and the legal hold of src's version
		// (rsync, cp and editors set attributes on a temporary file and
		// rename it into place). Carrying a lock only adds protection.
		// An explicit lock in o (none from the mount) is taken instead.
		if o.Retention.IsZero() && !o.LegalHold {
			po.LegalHold = cur.LegalHold
			if r := cur.Lock().Retention; r.Active(s.Now()) {
				po.Retention = r
			}
		}
		po.Headers = cur.Headers
		v = newVersion(dst, cur.Size, po)
		v.ETag, v.HashState = cur.ETag, cur.HashState
		v.copyParts(cur)
		if err := s.putVersion(txn, bucket, v, ext, nil, false, po); err != nil {
			return err
		}
		if err := copyPartSums(txn, cur.Seq, v.Seq); err != nil {
			return err
		}
		b, err := getBucket(txn, bucket)
		if err != nil {
			return err
		}
		if b.Versioning == VersioningOff {
			return s.removeVersion(txn, cur, o.Actor, false)
		}
		return s.putVersion(txn, bucket, &Version{Key: src, DeleteMarker: true, UID: o.UID, GID: o.GID}, nil, nil, false, PublishOptions{Actor: o.Actor})
	})
	if err != nil {
		return nil, err
	}
	return v, s.syncIfNeeded(o.Sync)
}

// Reader reads the content of one version.
type Reader struct {
	s      *Store
	ext    []extent
	starts []int64
	size   int64

	// The accounting record of the chunk read last (its CRCs never change),
	// so sequential reads of one chunk look it up once. Guarded by refMu:
	// a Reader is shared by concurrent reads.
	refMu  sync.Mutex
	refID  uint64
	refRec chunkRef
}

// NewReader opens v's content for reading.
func (s *Store) NewReader(v *Version) (*Reader, error) {
	if v.DeleteMarker {
		return nil, ErrDeleteMarker
	}
	ext, err := s.extents(v.Seq)
	if err != nil {
		return nil, err
	}
	r := &Reader{s: s, ext: ext, starts: make([]int64, len(ext))}
	for i, e := range ext {
		r.starts[i] = r.size
		r.size += int64(e.n)
	}
	if r.size != v.Size {
		return nil, fmt.Errorf("%w: %s/%s version %s: extents cover %d bytes, record says %d", ErrCorrupt, v.Bucket, v.Key, v.ID, r.size, v.Size)
	}
	return r, nil
}

// Size is the content size.
func (r *Reader) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset", ErrInvalidRange)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	i := sort.Search(len(r.starts), func(i int) bool { return r.starts[i] > off }) - 1
	n := 0
	for n < len(p) && i < len(r.ext) {
		e := r.ext[i]
		in := off + int64(n) - r.starts[i]
		m := int64(e.n) - in
		if m > int64(len(p)-n) {
			m = int64(len(p) - n)
		}
		if err := r.readExtent(e, uint32(in), p[n:n+int(m)]); err != nil {
			return n, err
		}
		n += int(m)
		i++
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readExtent is Store.readExtent with the Reader's record cache.
func (r *Reader) readExtent(e extent, in uint32, dst []byte) error {
	if e.id == 0 {
		clear(dst)
		return nil
	}
	r.refMu.Lock()
	id, rec := r.refID, r.refRec
	r.refMu.Unlock()
	return r.s.view(func(txn *badger.Txn) error {
		if id != e.id {
			var err error
			if rec, err = chunkRecord(txn, e.id); err != nil {
				return err
			}
			r.refMu.Lock()
			r.refID, r.refRec = e.id, rec
			r.refMu.Unlock()
		}
		return r.s.readChunk(txn, e.id, &rec, int(e.off+in), len(dst), dst)
	})
}

// Stats is the chunk accounting of the store.
type Stats struct {
	Chunks       int   // referenced chunks
	StoredBytes  int64 // bytes of referenced chunk data
	References   int64 // extent references on them
	StagedChunks int   // chunks written but not published
	StagedBytes  int64
}

// Stats scans the chunk accounting records.
func (s *Store) Stats() (Stats, error) {
	var st Stats
	err := s.view(func(txn *badger.Txn) error {
		for _, p := range []byte{pRef, pStaged} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{p}, PrefetchValues: true})
			for it.Rewind(); it.Valid(); it.Next() {
				var ref chunkRef
				if err := it.Item().Value(func(b []byte) (err error) {
					ref, err = decodeChunkRef(b)
					return err
				}); err != nil {
					it.Close()
					return err
				}
				if p == pRef {
					st.Chunks++
					st.StoredBytes += int64(ref.Size)
					st.References += int64(ref.Refs)
				} else {
					st.StagedChunks++
					st.StagedBytes += int64(ref.Size)
				}
			}
			it.Close()
		}
		return nil
	})
	return st, err
}
