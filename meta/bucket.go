package meta

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/lockctl"
)

// MaxKeyLen and MaxNameLen bound object keys and their path components.
const (
	MaxKeyLen  = 1024
	MaxNameLen = 255
)

// ValidBucketName checks the S3 bucket naming rules: 3–63 characters of
// lowercase letters, digits, '.' and '-', starting and ending with a letter
// or digit, no "..", not an IP address.
func ValidBucketName(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("%w: %q must be 3 to 63 characters", ErrInvalidBucketName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("%w: %q has a character other than a-z, 0-9, '.', '-'", ErrInvalidBucketName, name)
		}
	}
	first, last := name[0], name[len(name)-1]
	if first == '.' || first == '-' || last == '.' || last == '-' {
		return fmt.Errorf("%w: %q must start and end with a letter or digit", ErrInvalidBucketName, name)
	}
	if strings.Contains(name, "..") || net.ParseIP(name) != nil {
		return fmt.Errorf("%w: %q", ErrInvalidBucketName, name)
	}
	return nil
}

// ValidKey checks an object key: non-empty UTF-8, at most 1024 bytes, no
// NUL, no path component over 255 bytes, and no "." or ".." component
// (which would escape the bucket in the mount and in path-style URLs).
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: key of %d bytes (at most %d)", ErrKeyTooLong, len(key), MaxKeyLen)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: key is not UTF-8", ErrInvalidKey)
	}
	if strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("%w: key contains NUL", ErrInvalidKey)
	}
	for _, c := range strings.Split(key, "/") {
		if len(c) > MaxNameLen {
			return fmt.Errorf("%w: path component of %d bytes (at most %d)", ErrKeyTooLong, len(c), MaxNameLen)
		}
		if c == "." || c == ".." {
			return fmt.Errorf("%w: key has a %q segment", ErrInvalidKey, c)
		}
	}
	return nil
}

// BucketOptions are the settings of a new bucket.
type BucketOptions struct {
	Versioning string // VersioningOff, VersioningEnabled or VersioningSuspended
	ObjectLock bool   // implies VersioningEnabled
}

// CreateBucket creates a bucket.
func (s *Store) CreateBucket(name string, o BucketOptions, actor Actor) (*Bucket, error) {
	if err := ValidBucketName(name); err != nil {
		return nil, err
	}
	if err := s.checkSpace(0); err != nil {
		return nil, err
	}
	if o.ObjectLock {
		o.Versioning = VersioningEnabled
	}
	b := &Bucket{Name: name, Versioning: o.Versioning, ObjectLock: o.ObjectLock}
	err := s.update(func(txn *badger.Txn) error {
		if _, err := txn.Get(keyBucket(name)); err == nil {
			return fmt.Errorf("%w: %s", ErrBucketExists, name)
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		b.Created = s.SysNow()
		if err := txn.Set(keyBucket(name), encode(b)); err != nil {
			return err
		}
		if o.ObjectLock {
			return s.audit(txn, AuditRecord{Action: "bucket-create-locked", Bucket: name, Actor: actor.Name})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, s.syncIfNeeded(true)
}

func (s *Store) syncIfNeeded(want bool) error {
	if want && !s.opts.SyncWrites {
		return s.db.Sync()
	}
	return nil
}

func getBucket(txn *badger.Txn, name string) (*Bucket, error) {
	item, err := txn.Get(keyBucket(name))
	if err != nil {
		if err = notFound(err, ErrNoSuchBucket); errors.Is(err, ErrNoSuchBucket) {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchBucket, name)
		}
		return nil, err
	}
	var b *Bucket
	err = item.Value(func(v []byte) (err error) {
		b, err = decodeBucket(v)
		return err
	})
	return b, err
}

// GetBucket returns a bucket's record.
func (s *Store) GetBucket(name string) (*Bucket, error) {
	var b *Bucket
	err := s.view(func(txn *badger.Txn) (err error) {
		b, err = getBucket(txn, name)
		return err
	})
	return b, err
}

// ListBuckets returns every bucket in name order.
func (s *Store) ListBuckets() ([]*Bucket, error) {
	var out []*Bucket
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pBucket}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			b := new(Bucket)
			if err := it.Item().Value(func(v []byte) error { return jsonUnmarshal(v, b) }); err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	return out, err
}

// DeleteBucket removes an empty bucket: one that holds no version and no
// delete marker. Multipart uploads still in progress are aborted with it,
// as in S3.
func (s *Store) DeleteBucket(name string, actor Actor) error {
	// Exclusive: the emptiness check is a scan, which conflict detection
	// does not protect against concurrent inserts (see bucketGate).
	return s.updateExclusive(func(txn *badger.Txn) error {
		b, err := getBucket(txn, name)
		if err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: keyBucketVersions(name)})
		it.Rewind()
		any := it.Valid()
		it.Close()
		if any {
			return fmt.Errorf("%w: %s", ErrBucketNotEmpty, name)
		}
		// As S3 does, the bucket's unfinished uploads go with it (no
		// other commit interleaves, so no part lands meanwhile).
		if err := abortBucketUploads(s, txn, name); err != nil {
			return err
		}
		if err := txn.Delete(keyBucket(name)); err != nil {
			return err
		}
		if b.ObjectLock {
			return s.audit(txn, AuditRecord{Action: "bucket-delete", Bucket: name, Actor: actor.Name})
		}
		return nil
	})
}

// SetVersioning changes a bucket's versioning state as S3 allows: to
// Enabled or Suspended (never back to unversioned); a bucket with Object
// Lock stays Enabled.
func (s *Store) SetVersioning(name, state string) error {
	if state != VersioningEnabled && state != VersioningSuspended {
		return fmt.Errorf("%w: versioning state %q", ErrInvalidBucketState, state)
	}
	return s.update(func(txn *badger.Txn) error {
		b, err := getBucket(txn, name)
		if err != nil {
			return err
		}
		if b.ObjectLock && state != VersioningEnabled {
			return fmt.Errorf("%w: versioning cannot be suspended on a bucket with Object Lock", ErrInvalidBucketState)
		}
		b.Versioning = state
		return txn.Set(keyBucket(name), encode(b))
	})
}

// SetLockConfig enables Object Lock on a bucket (which must have
// versioning Enabled) and sets or clears its default retention rule.
// Existing versions are never touched.
func (s *Store) SetLockConfig(name string, rule lockctl.DefaultRule, actor Actor) error {
	if !rule.IsZero() {
		if err := rule.Validate(s.opts.MaxRetention); err != nil {
			return err
		}
	}
	err := s.update(func(txn *badger.Txn) error {
		b, err := getBucket(txn, name)
		if err != nil {
			return err
		}
		if b.Versioning != VersioningEnabled {
			return fmt.Errorf("%w: Object Lock needs versioning Enabled", ErrInvalidBucketState)
		}
		b.ObjectLock = true
		b.Rule = rule
		if err := txn.Set(keyBucket(name), encode(b)); err != nil {
			return err
		}
		detail := "default retention: none"
		if !rule.IsZero() {
			detail = "default retention: " + rule.String()
		}
		return s.audit(txn, AuditRecord{Action: "bucket-lock-config", Bucket: name, Actor: actor.Name, Detail: detail})
	})
	if err != nil {
		return err
	}
	return s.syncIfNeeded(true)
}
