package meta

import (
	"bytes"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Point-in-time reads for the mount's at view (SPEC §5): what the latest
// version of a key was at an instant. A version belongs to an instant t when
// it was created at or before t (Version.Created, the compliance time of its
// commit); the newest such version is the one that was current then, unless
// it is a delete marker. Versions permanently deleted since t are gone from
// history, as are null versions replaced in unversioned buckets.

// GetAsOf returns the version of key that was current at t: the newest
// version created at or before t. When there is none, or it is a delete
// marker, the error wraps ErrNoSuchKey (the marker is returned with it, as
// Get does for a deleted key).
func (s *Store) GetAsOf(bucket, key string, t time.Time) (*Version, error) {
	if key == "" || bytes.IndexByte([]byte(key), 0) >= 0 {
		return nil, fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	var found *Version
	err := s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: keyObjectPrefix(bucket, key), PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := itemVersion(bucket, it.Item())
			if err != nil {
				return err
			}
			if !v.Created.After(t) {
				found = v
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s/%s at %s", ErrNoSuchKey, bucket, key, t.UTC().Format(time.RFC3339Nano))
	}
	if found.DeleteMarker {
		return found, fmt.Errorf("%w: %s/%s at %s (deleted)", ErrNoSuchKey, bucket, key, t.UTC().Format(time.RFC3339Nano))
	}
	return found, nil
}

// ListAsOf is List as the bucket was at t: the keys whose newest version
// created at or before t is not a delete marker, with the same prefix,
// delimiter, After and Max semantics as List. It scans the version records
// of the keys under the prefix; per key it reads the versions newer than t
// and one more, then seeks to the next key, and a common prefix is skipped
// with one seek as soon as one key under it is found visible, so the cost
// is the versions written after t plus the keys not visible at t, not the
// whole history.
func (s *Store) ListAsOf(bucket string, t time.Time, o ListOptions) (*ListResult, error) {
	res := &ListResult{}
	max := o.max()
	err := s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		base := keyBucketVersions(bucket)
		prefix := join(base, []byte(o.Prefix))
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		start := prefix
		if o.After != "" && o.After >= o.Prefix {
			start = successor(keyObjectPrefix(bucket, o.After)) // after every version of After
			if cp := commonPrefix(o.After, o.Prefix, o.Delimiter); cp != "" && o.After == cp {
				start = successor(join(base, []byte(cp)))
			}
		}
		for it.Seek(start); it.Valid(); {
			res.Scanned++
			k := it.Item().Key()[len(base):]
			sep := bytes.IndexByte(k, 0)
			if sep < 0 || len(k) != sep+1+8 {
				it.Next()
				continue
			}
			key := string(k[:sep])
			cp := commonPrefix(key, o.Prefix, o.Delimiter)
			if cp != "" && cp <= o.After {
				// Returned on an earlier page.
				next := successor(join(base, []byte(cp)))
				if next == nil {
					return nil
				}
				it.Seek(next)
				continue
			}
			v, err := itemVersion(bucket, it.Item())
			if err != nil {
				return err
			}
			if v.Created.After(t) {
				it.Next() // an older version of the same key may be the one
				continue
			}
			if !v.DeleteMarker {
				if len(res.Objects)+len(res.Prefixes) == max {
					res.Truncated = true
					return nil
				}
				if cp != "" {
					res.Prefixes = append(res.Prefixes, cp)
					res.Next = cp
					next := successor(join(base, []byte(cp)))
					if next == nil {
						return nil
					}
					it.Seek(next)
					continue
				}
				res.Objects = append(res.Objects, v)
				res.Next = key
			}
			it.Seek(successor(keyObjectPrefix(bucket, key))) // the key's older versions do not matter
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !res.Truncated {
		res.Next = ""
	}
	return res, nil
}
