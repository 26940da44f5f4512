package meta

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/lockctl"
)

// Actor is who asks for a change: a name for the audit log and the
// governance bypass (requested and allowed). Permissions (read, write,
// lock) are checked by the edges; the lock rules are checked here.
type Actor struct {
	Name   string
	Bypass lockctl.Bypass
	// Rights, when set, is the principal's standing under the mount's
	// default rules (lockctl.Authority); the lock calls check it inside
	// their transaction against the state they change (lifting a hold that
	// is ON needs an administrator). Nil: the edge has decided (the S3
	// listener's grants).
	Rights *lockctl.Authority
}

// PublishOptions describe the version a publish creates.
type PublishOptions struct {
	Actor       Actor
	Retention   lockctl.Retention // explicit retention; zero: the bucket default
	LegalHold   bool
	ContentType string
	UserMeta    map[string]string
	Tags        map[string]string
	Checksums   map[string]string
	Mode        uint32 // permission bits; with ModeSet unset, 0 means the default
	// ModeSet says Mode is the mode as given, 0 included (the mount: chmod
	// 000, open(O_CREAT, 0)). Without it a Mode of 0 means the default:
	// 0644, and 0755 for a directory marker (a key ending in "/", as S3
	// consoles and s3fs make folders), so that every user may enter it.
	ModeSet  bool
	UID, GID uint32
	Mtime    time.Time // zero: the creation time
	Link     bool
	Headers  map[string]string // the standard headers stored with the version (Version.Headers)
	// Carry is a lock the new version must have at least (it holds bytes
	// or attributes of a version that had it): its retention combines with
	// the stamped one (lockctl.CarryRetention), its legal hold ON stays ON.
	Carry lockctl.Lock
	// Sync puts the commit on disk before Publish returns (S3 PUT,
	// fsync). Commits are always on disk within the sync interval.
	Sync bool
}

// Publish commits the writer's content as a new version of its key: the
// chunks it staged become referenced, the bucket's default retention (or
// the explicit one) is stamped, and the version becomes the latest, all in
// one small transaction. The writer stays usable: later writes start from
// the version just published.
func (w *Writer) Publish(o PublishOptions) (*Version, error) {
	if w.err != nil {
		return nil, w.err
	}
	if err := w.flush(); err != nil {
		return nil, err
	}
	etag, state, sums, err := w.finishHash()
	if err != nil {
		return nil, err
	}
	if err := w.s.checkSpace(0); err != nil {
		return nil, err
	}
	v := newVersion(w.key, w.size, o)
	v.ETag, v.HashState = etag, state
	ext := append([]extent(nil), w.ext...)
	err = w.s.update(func(txn *badger.Txn) error {
		if err := w.s.putVersion(txn, w.bucket, v, ext, w.staged, false, o); err != nil {
			return err
		}
		if sums == nil {
			return nil
		}
		return txn.Set(keyPartSums(v.Seq), sums)
	})
	if err != nil {
		return nil, err
	}
	w.staged = map[uint64]chunkRef{}
	w.dirty = false
	return v, w.s.syncIfNeeded(o.Sync)
}

func newVersion(key string, size int64, o PublishOptions) *Version {
	mode := o.Mode
	if mode == 0 && !o.ModeSet {
		mode = 0o644
		if strings.HasSuffix(key, "/") {
			mode = 0o755
		}
	}
	return &Version{
		Key: key, Size: size, Mode: mode, UID: o.UID, GID: o.GID, Mtime: o.Mtime, Link: o.Link,
		ContentType: o.ContentType, UserMeta: cloneMap(o.UserMeta), Tags: cloneMap(o.Tags),
		Checksums: cloneMap(o.Checksums), LegalHold: o.LegalHold, HoldSet: o.LegalHold,
		Headers: cloneMap(o.Headers),
	}
}

// putVersion writes v (and its extents) as the newest version of its key
// inside txn. staged are chunks written by a Writer and not yet referenced:
// they get their first reference; every other chunk of ext gets one more,
// unless owned says the references are already held (multipart parts).
func (s *Store) putVersion(txn *badger.Txn, bucket string, v *Version, ext []extent, staged map[uint64]chunkRef, owned bool, o PublishOptions) error {
	b, err := getBucket(txn, bucket)
	if err != nil {
		return err
	}
	now := s.SysNow() // timestamps from the system clock, stored as UTC (and so seedVersion can cache it)
	v.Bucket = bucket
	v.Created = now
	v.Ctime = now
	v.Mtime = ClampTime(v.Mtime)
	if o.Mtime.IsZero() {
		v.Mtime = now
	}
	if !v.DeleteMarker {
		if o.LegalHold && !b.ObjectLock {
			return fmt.Errorf("%w: legal hold", lockctl.ErrNotLockedBucket)
		}
		ret, err := lockctl.NewVersionRetention(b.ObjectLock, b.Rule, o.Retention, lockctl.Latest(now, s.Now()), s.opts.MaxRetention)
		if err != nil {
			return err
		}
		ret = lockctl.CarryRetention(ret, o.Carry.Retention, now)
		v.RetMode, v.RetUntil = ret.Mode, ret.Until
		if o.Carry.LegalHold {
			v.LegalHold, v.HoldSet = true, true
		}
	}
	seq, err := s.versionSeq.Next()
	if err != nil {
		return err
	}
	v.Seq = seq
	v.ID = versionID(seq)
	// Take the references of the new version before the null version it
	// replaces drops its own: chunks they share (a copy-on-write overwrite,
	// a copy onto itself) must not be freed on the way.
	if err := s.refExtents(txn, ext, staged, owned); err != nil {
		return err
	}
	if b.Versioning != VersioningEnabled {
		v.ID = NullVersionID
		if old, err := getNull(txn, bucket, v.Key); err == nil {
			if err := s.removeVersion(txn, old, o.Actor, false); err != nil {
				return err
			}
		} else if !errors.Is(err, ErrNoSuchVersion) {
			return err
		}
		if err := txn.Set(keyNull(bucket, v.Key), u64(seq)); err != nil {
			return err
		}
	}
	rec := encode(v)
	seedVersion(rec, v)
	if err := txn.Set(keyVersion(bucket, v.Key, seq), rec); err != nil {
		return err
	}
	if len(ext) > 0 {
		if err := txn.Set(keyExtents(seq), encodeExtents(ext)); err != nil {
			return err
		}
	}
	if v.DeleteMarker {
		if err := txn.Delete(keyCurrent(bucket, v.Key)); err != nil {
			return err
		}
	} else if err := txn.Set(keyCurrent(bucket, v.Key), rec); err != nil {
		return err
	}
	carried := o.Carry.LegalHold || o.Carry.Retention.Active(now)
	if !v.DeleteMarker && (!o.Retention.IsZero() || o.LegalHold || carried) {
		detail := ""
		if !o.Retention.IsZero() || carried && v.RetMode.Valid() {
			detail = "retention " + v.Lock().Retention.String()
		}
		if v.LegalHold {
			detail += " legal hold ON"
		}
		if carried {
			detail += " (carried: " + o.Carry.Status(now) + ")"
		}
		return s.audit(txn, AuditRecord{Action: "version-create-locked", Bucket: bucket, Key: v.Key, VersionID: v.ID, Actor: o.Actor.Name, Detail: detail})
	}
	return nil
}

// refExtents takes one reference per extent on its chunk.
func (s *Store) refExtents(txn *badger.Txn, ext []extent, staged map[uint64]chunkRef, owned bool) error {
	converted := map[uint64]bool{}
	for _, e := range ext {
		if e.id == 0 {
			continue
		}
		if ref, ok := staged[e.id]; ok && !converted[e.id] {
			converted[e.id] = true
			ref.Refs = 1
			if err := txn.Set(keyRef(e.id), ref.encode()); err != nil {
				return err
			}
			if err := txn.Delete(keyStaged(e.id)); err != nil {
				return err
			}
			continue
		}
		if owned {
			continue
		}
		if err := s.incRef(txn, e.id); err != nil {
			return err
		}
	}
	return nil
}

func getRef(txn *badger.Txn, id uint64) (chunkRef, error) {
	item, err := txn.Get(keyRef(id))
	if err != nil {
		if errors.Is(err, badger.ErrKeyNotFound) {
			return chunkRef{}, fmt.Errorf("%w: chunk %d", ErrStale, id)
		}
		return chunkRef{}, err
	}
	var ref chunkRef
	err = item.Value(func(b []byte) (err error) {
		ref, err = decodeChunkRef(b)
		return err
	})
	return ref, err
}

func (s *Store) incRef(txn *badger.Txn, id uint64) error {
	ref, err := getRef(txn, id)
	if err != nil {
		return err
	}
	ref.Refs++
	return txn.Set(keyRef(id), ref.encode())
}

// decRef drops one reference; the chunk's data is deleted with its last
// reference.
func (s *Store) decRef(txn *badger.Txn, id uint64) error {
	ref, err := getRef(txn, id)
	if err != nil {
		return err
	}
	if ref.Refs <= 1 {
		if err := txn.Delete(keyRef(id)); err != nil {
			return err
		}
		return txn.Delete(keyData(id))
	}
	ref.Refs--
	return txn.Set(keyRef(id), ref.encode())
}

func (s *Store) unrefExtents(txn *badger.Txn, ext []extent) error {
	for _, e := range ext {
		if e.id != 0 {
			if err := s.decRef(txn, e.id); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeVersion permanently deletes v inside txn after the lock check,
// frees its chunks and makes the next version current.
func (s *Store) removeVersion(txn *badger.Txn, v *Version, actor Actor, explicit bool) error {
	now := s.Now()
	if !v.DeleteMarker {
		if err := lockctl.CheckDelete(v.Lock(), now, actor.Bypass); err != nil {
			return fmt.Errorf("%s/%s version %s: %w", v.Bucket, v.Key, v.ID, err)
		}
	}
	ext, err := getExtents(txn, v.Seq)
	if err != nil {
		return err
	}
	if err := s.unrefExtents(txn, ext); err != nil {
		return err
	}
	if err := txn.Delete(keyExtents(v.Seq)); err != nil {
		return err
	}
	if err := txn.Delete(keyPartSums(v.Seq)); err != nil {
		return err
	}
	if err := txn.Delete(keyVersion(v.Bucket, v.Key, v.Seq)); err != nil {
		return err
	}
	if v.IsNull() {
		if err := txn.Delete(keyNull(v.Bucket, v.Key)); err != nil {
			return err
		}
	}
	if err := s.refreshCurrent(txn, v.Bucket, v.Key); err != nil {
		return err
	}
	if !explicit {
		return nil
	}
	bypassed := !v.DeleteMarker && v.Lock().Retention.Active(now)
	detail := ""
	if v.DeleteMarker {
		detail = "delete marker"
	} else if !v.RetMode.Valid() {
		detail = "unprotected"
	} else {
		detail = "retention " + v.Lock().Retention.String()
	}
	return s.audit(txn, AuditRecord{Action: "version-delete", Bucket: v.Bucket, Key: v.Key, VersionID: v.ID, Actor: actor.Name, Bypass: bypassed, Detail: detail})
}

// refreshCurrent makes the 'L' record of key agree with its newest
// remaining version.
func (s *Store) refreshCurrent(txn *badger.Txn, bucket, key string) error {
	latest, err := latestVersion(txn, bucket, key)
	if err != nil && !errors.Is(err, ErrNoSuchKey) {
		return err
	}
	if latest == nil || latest.DeleteMarker {
		return txn.Delete(keyCurrent(bucket, key))
	}
	return txn.Set(keyCurrent(bucket, key), encode(latest))
}

// latestVersion returns the newest version or delete marker of key.
func latestVersion(txn *badger.Txn, bucket, key string) (*Version, error) {
	prefix := keyObjectPrefix(bucket, key)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	it.Rewind()
	if !it.Valid() {
		return nil, fmt.Errorf("%w: %s/%s", ErrNoSuchKey, bucket, key)
	}
	var v *Version
	err := it.Item().Value(func(b []byte) (err error) {
		v, err = decodeVersion(bucket, b)
		return err
	})
	return v, err
}

func getNull(txn *badger.Txn, bucket, key string) (*Version, error) {
	item, err := txn.Get(keyNull(bucket, key))
	if err != nil {
		return nil, notFound(err, ErrNoSuchVersion)
	}
	b, err := item.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	if len(b) != 8 {
		return nil, fmt.Errorf("%w: null pointer of %s/%s", ErrCorrupt, bucket, key)
	}
	seq := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	return getVersionSeq(txn, bucket, key, seq)
}

func getVersionSeq(txn *badger.Txn, bucket, key string, seq uint64) (*Version, error) {
	item, err := txn.Get(keyVersion(bucket, key, seq))
	if err != nil {
		return nil, notFound(err, ErrNoSuchVersion)
	}
	var v *Version
	err = item.Value(func(b []byte) (err error) {
		v, err = decodeVersion(bucket, b)
		return err
	})
	return v, err
}
