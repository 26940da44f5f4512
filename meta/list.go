package meta

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// ListOptions select current objects: keys starting with Prefix, after the
// key After (exclusive), rolled up at the first Delimiter after the prefix
// into common prefixes, at most Max entries (objects plus prefixes; ≤ 0
// means 1000).
type ListOptions struct {
	Prefix    string
	Delimiter string
	After     string
	Max       int
}

// ListResult is one page of a listing. Next is the last key or common
// prefix returned: pass it as After for the next page.
type ListResult struct {
	Objects   []*Version
	Prefixes  []string
	Truncated bool
	Next      string
	// Scanned counts the index entries the listing read (benchmarks check
	// that a delimiter listing reads O(children), not O(keys)).
	Scanned int
}

func (o *ListOptions) max() int {
	if o.Max <= 0 {
		return 1000
	}
	return o.Max
}

// commonPrefix returns the rolled-up prefix of key, or "".
func commonPrefix(key, prefix, delim string) string {
	if delim == "" || !strings.HasPrefix(key, prefix) {
		return ""
	}
	if i := strings.Index(key[len(prefix):], delim); i >= 0 {
		return key[:len(prefix)+i+len(delim)]
	}
	return ""
}

// List lists current objects (latest version not a delete marker). A
// common prefix is skipped over with one seek instead of being scanned, so
// a delimiter listing reads O(children) index entries.
func (s *Store) List(bucket string, o ListOptions) (*ListResult, error) {
	res := &ListResult{}
	max := o.max()
	err := s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		base := keyBucketCurrent(bucket)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: join(base, []byte(o.Prefix)), PrefetchValues: false})
		defer it.Close()
		start := join(base, []byte(o.Prefix))
		if o.After != "" && o.After >= o.Prefix {
			start = join(base, []byte(o.After), []byte{0})
			if cp := commonPrefix(o.After, o.Prefix, o.Delimiter); cp != "" && strings.HasPrefix(o.After, cp) && o.After == cp {
				start = successor(join(base, []byte(cp)))
			}
		}
		for it.Seek(start); it.Valid(); {
			res.Scanned++
			key := string(it.Item().Key()[len(base):])
			if cp := commonPrefix(key, o.Prefix, o.Delimiter); cp != "" {
				if cp > o.After {
					if len(res.Objects)+len(res.Prefixes) == max {
						res.Truncated = true
						return nil
					}
					res.Prefixes = append(res.Prefixes, cp)
					res.Next = cp
				}
				next := successor(join(base, []byte(cp)))
				if next == nil {
					return nil
				}
				it.Seek(next)
				continue
			}
			if len(res.Objects)+len(res.Prefixes) == max {
				res.Truncated = true
				return nil
			}
			v, err := itemVersion(bucket, it.Item())
			if err != nil {
				return err
			}
			res.Objects = append(res.Objects, v)
			res.Next = key
			it.Next()
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

// VersionListOptions select versions: keys starting with Prefix, starting
// after KeyMarker (all its versions) or, with VersionIDMarker, after that
// version of KeyMarker; rolled up at Delimiter; at most Max entries.
type VersionListOptions struct {
	Prefix          string
	Delimiter       string
	KeyMarker       string
	VersionIDMarker string
	Max             int
}

// VersionListResult is one page of ListObjectVersions. Versions holds
// versions and delete markers in key order, newest first within a key;
// IsLatest tells which is the latest of its key.
type VersionListResult struct {
	Versions            []*Version
	IsLatest            []bool
	Prefixes            []string
	Truncated           bool
	NextKeyMarker       string
	NextVersionIDMarker string
	Scanned             int
}

// ListVersions lists versions and delete markers.
func (s *Store) ListVersions(bucket string, o VersionListOptions) (*VersionListResult, error) {
	res := &VersionListResult{}
	max := o.Max
	if max <= 0 {
		max = 1000
	}
	err := s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		base := keyBucketVersions(bucket)
		prefix := join(base, []byte(o.Prefix))
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		start := prefix
		lastKey := "\x00" // no key is NUL
		if o.KeyMarker != "" && o.KeyMarker >= o.Prefix {
			start = successor(keyObjectPrefix(bucket, o.KeyMarker)) // after every version of the marker
			if o.VersionIDMarker != "" {
				s, err := versionMarkerStart(txn, bucket, o.KeyMarker, o.VersionIDMarker)
				if err != nil {
					return err
				}
				start = s
				if newerVersionExists(txn, bucket, o.KeyMarker, start) {
					lastKey = o.KeyMarker
				}
			}
			if cp := commonPrefix(o.KeyMarker, o.Prefix, o.Delimiter); cp != "" && o.KeyMarker == cp && o.VersionIDMarker == "" {
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
			if cp := commonPrefix(key, o.Prefix, o.Delimiter); cp != "" {
				if cp > o.KeyMarker || o.KeyMarker == "" {
					if len(res.Versions)+len(res.Prefixes) == max {
						res.Truncated = true
						return nil
					}
					res.Prefixes = append(res.Prefixes, cp)
					res.NextKeyMarker, res.NextVersionIDMarker = cp, ""
				}
				next := successor(join(base, []byte(cp)))
				if next == nil {
					return nil
				}
				it.Seek(next)
				continue
			}
			if len(res.Versions)+len(res.Prefixes) == max {
				res.Truncated = true
				return nil
			}
			v, err := itemVersion(bucket, it.Item())
			if err != nil {
				return err
			}
			if binary.BigEndian.Uint64(k[sep+1:]) != ^v.Seq {
				return ErrCorrupt
			}
			res.Versions = append(res.Versions, v)
			res.IsLatest = append(res.IsLatest, key != lastKey)
			lastKey = key
			res.NextKeyMarker, res.NextVersionIDMarker = key, v.ID
			it.Next()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !res.Truncated {
		res.NextKeyMarker, res.NextVersionIDMarker = "", ""
	}
	return res, nil
}

// versionMarkerStart returns where a listing after version id of key
// starts. Markers are positions, as in S3: a version id that is no longer
// there (a "list a page, delete it, list the next" loop) still names the
// place where its version was, because a wormfs version id is its
// sequence number. The null version alone has no position once it is
// gone; the listing then restarts at the key's first version, which can
// repeat versions but never skips one.
func versionMarkerStart(txn *badger.Txn, bucket, key, id string) ([]byte, error) {
	if id == NullVersionID {
		v, err := getNull(txn, bucket, key)
		switch {
		case err == nil:
			return successor(keyVersion(bucket, key, v.Seq)), nil
		case errors.Is(err, ErrNoSuchVersion):
			return keyObjectPrefix(bucket, key), nil
		default:
			return nil, err
		}
	}
	seq, err := parseVersionID(id)
	if err != nil {
		return nil, err
	}
	return successor(keyVersion(bucket, key, seq)), nil
}

// newerVersionExists reports whether key has a version whose index key
// sorts before start (one newer than the listing's starting point): then
// the first version listed of key is not its latest.
func newerVersionExists(txn *badger.Txn, bucket, key string, start []byte) bool {
	p := keyObjectPrefix(bucket, key)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: false})
	defer it.Close()
	it.Rewind()
	return it.Valid() && bytes.Compare(it.Item().Key(), start) < 0
}

// IsDir reports whether any current object has the key prefix dir + "/"
// (an implicit or explicit directory).
func (s *Store) IsDir(bucket, dir string) (bool, error) {
	found := false
	err := s.view(func(txn *badger.Txn) error {
		found = isDir(txn, bucket, dir)
		return nil
	})
	return found, err
}

func isDir(txn *badger.Txn, bucket, dir string) bool {
	p := join(keyBucketCurrent(bucket), []byte(dir+"/"))
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: false})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

// Lookup resolves a name of the mount in one read transaction: dir is true
// when current objects exist under key + "/" (a directory, which shadows an
// object of the same name); otherwise v and err are Get's for the latest
// version of key.
func (s *Store) Lookup(bucket, key string) (dir bool, v *Version, err error) {
	err = s.view(func(txn *badger.Txn) (err error) {
		if dir = isDir(txn, bucket, key); dir {
			return nil
		}
		v, err = getVersion(txn, bucket, key, "")
		return err
	})
	return dir, v, err
}
