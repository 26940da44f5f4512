package meta

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/lockctl"
)

// MinPartSize is the smallest size of a multipart part other than the last.
const MinPartSize = 5 << 20

// MaxPartNumber is the largest multipart part number.
const MaxPartNumber = 10000

// Errors of multipart uploads.
var (
	ErrEntityTooSmall = errors.New("a part other than the last is smaller than the minimum allowed size")
)

// Upload is a multipart upload in progress, with the options its version
// will be published with.
type Upload struct {
	ID          string            `json:"id"`
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	Initiated   time.Time         `json:"initiated"`
	ContentType string            `json:"ctype,omitempty"`
	UserMeta    map[string]string `json:"meta,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	RetMode     lockctl.Mode      `json:"retMode,omitempty"`
	RetUntil    time.Time         `json:"retUntil,omitempty"`
	LegalHold   bool              `json:"hold,omitempty"`
	ChecksumAlg string            `json:"sumAlg,omitempty"`
	Actor       string            `json:"actor,omitempty"`
	Headers     map[string]string `json:"hdrs,omitempty"` // standard headers for the version (Version.Headers)
}

// Part is one uploaded part.
type Part struct {
	Number       int               `json:"n"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"`
	LastModified time.Time         `json:"mtime"`
	Checksums    map[string]string `json:"sums,omitempty"`
	Extents      []byte            `json:"ext,omitempty"`
}

// CreateUpload starts a multipart upload. The lock options are validated
// now and again at completion.
func (s *Store) CreateUpload(bucket, key string, o PublishOptions, checksumAlg string) (*Upload, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	u := &Upload{Bucket: bucket, Key: key, ContentType: o.ContentType, UserMeta: cloneMap(o.UserMeta), Tags: cloneMap(o.Tags),
		RetMode: o.Retention.Mode, RetUntil: o.Retention.Until, LegalHold: o.LegalHold, ChecksumAlg: checksumAlg, Actor: o.Actor.Name,
		Headers: cloneMap(o.Headers)}
	err := s.update(func(txn *badger.Txn) error {
		b, err := getBucket(txn, bucket)
		if err != nil {
			return err
		}
		now := s.SysNow()
		if _, err := lockctl.NewVersionRetention(b.ObjectLock, b.Rule, o.Retention, lockctl.Latest(now, s.Now()), s.opts.MaxRetention); err != nil {
			return err
		}
		if o.LegalHold && !b.ObjectLock {
			return lockctl.ErrNotLockedBucket
		}
		n, err := s.uploadSeq.Next()
		if err != nil {
			return err
		}
		sum := md5.Sum([]byte(fmt.Sprintf("%s/%s/%d/%d", bucket, key, n, now.UnixNano())))
		u.ID = fmt.Sprintf("%x%s", n, hex.EncodeToString(sum[:8]))
		u.Initiated = now
		return txn.Set(keyUpload(u.ID), encode(u))
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func getUpload(txn *badger.Txn, id string) (*Upload, error) {
	if id == "" || strings.IndexByte(id, 0) >= 0 {
		return nil, ErrNoSuchUpload
	}
	u := new(Upload)
	if err := getJSON(txn, keyUpload(id), u, ErrNoSuchUpload); err != nil {
		return nil, err
	}
	return u, nil
}

// GetUpload returns an upload in progress.
func (s *Store) GetUpload(id string) (*Upload, error) {
	var u *Upload
	err := s.view(func(txn *badger.Txn) (err error) {
		u, err = getUpload(txn, id)
		return err
	})
	return u, err
}

func putPart(s *Store, txn *badger.Txn, uploadID string, p *Part, ext []extent, staged map[uint64]chunkRef) error {
	if _, err := getUpload(txn, uploadID); err != nil {
		return err
	}
	// The new part's references first, so chunks it shares with the part
	// it replaces are not freed on the way.
	if err := s.refExtents(txn, ext, staged, false); err != nil {
		return err
	}
	old := new(Part)
	err := getJSON(txn, keyPart(uploadID, p.Number), old, ErrInvalidPart)
	switch {
	case err == nil:
		oldExt, err := decodeExtents(old.Extents)
		if err != nil {
			return err
		}
		if err := s.unrefExtents(txn, oldExt); err != nil {
			return err
		}
	case !errors.Is(err, ErrInvalidPart):
		return err
	}
	p.Extents = encodeExtents(ext)
	p.LastModified = s.SysNow()
	return txn.Set(keyPart(uploadID, p.Number), encode(p))
}

// CommitPart stores the writer's content as part n of an upload (replacing
// an earlier part n). The writer cannot publish afterwards.
func (w *Writer) CommitPart(uploadID string, n int, checksums map[string]string) (*Part, error) {
	if n < 1 || n > MaxPartNumber {
		return nil, fmt.Errorf("%w: part number %d", ErrInvalidPart, n)
	}
	if w.err != nil {
		return nil, w.err
	}
	if err := w.flush(); err != nil {
		return nil, err
	}
	etag, _, _, err := w.finishHash()
	if err != nil {
		return nil, err
	}
	p := &Part{Number: n, Size: w.size, ETag: etag, Checksums: cloneMap(checksums)}
	ext := append([]extent(nil), w.ext...)
	if err := w.s.update(func(txn *badger.Txn) error { return putPart(w.s, txn, uploadID, p, ext, w.staged) }); err != nil {
		return nil, err
	}
	w.staged = map[uint64]chunkRef{}
	w.err = errors.New("writer committed as a part")
	return p, nil
}

// CopyPart makes bytes [off, off+n) of src part number num of an upload,
// sharing src's chunks.
func (s *Store) CopyPart(uploadID string, num int, src *Version, off, n int64) (*Part, error) {
	if num < 1 || num > MaxPartNumber {
		return nil, fmt.Errorf("%w: part number %d", ErrInvalidPart, num)
	}
	if off < 0 || n < 0 || off+n > src.Size {
		return nil, ErrInvalidRange
	}
	if err := s.checkSpace(0); err != nil {
		return nil, err
	}
	ext, err := s.extents(src.Seq)
	if err != nil {
		return nil, err
	}
	sub := sliceExtents(ext, off, n)
	r, err := s.NewReader(src)
	if err != nil {
		return nil, err
	}
	h := md5.New()
	buf := make([]byte, 1<<20)
	for pos := off; pos < off+n; {
		m := int64(len(buf))
		if m > off+n-pos {
			m = off + n - pos
		}
		if _, err := r.ReadAt(buf[:m], pos); err != nil {
			return nil, err
		}
		h.Write(buf[:m])
		pos += m
	}
	p := &Part{Number: num, Size: n, ETag: hex.EncodeToString(h.Sum(nil))}
	err = s.update(func(txn *badger.Txn) error {
		if _, err := getVersionSeq(txn, src.Bucket, src.Key, src.Seq); err != nil {
			return fmt.Errorf("%w: copy source", ErrStale)
		}
		return putPart(s, txn, uploadID, p, sub, nil)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// sliceExtents returns the extents covering [off, off+n).
func sliceExtents(ext []extent, off, n int64) []extent {
	var out []extent
	var pos int64
	end := off + n
	for _, e := range ext {
		eEnd := pos + int64(e.n)
		if eEnd > off && pos < end {
			from := max(off, pos)
			to := min(end, eEnd)
			out = append(out, extent{id: e.id, off: e.off + uint32(from-pos), n: uint32(to - from)})
		}
		pos = eEnd
	}
	return out
}

func listPartsTxn(txn *badger.Txn, uploadID string) ([]*Part, error) {
	var out []*Part
	it := txn.NewIterator(badger.IteratorOptions{Prefix: keyPartPrefix(uploadID), PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		p := new(Part)
		if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, p) }); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ListParts returns the parts of an upload with numbers above marker, at
// most max (≤ 0: 1000), and whether more follow.
func (s *Store) ListParts(uploadID string, marker, max int) ([]*Part, bool, error) {
	if max <= 0 {
		max = 1000
	}
	var out []*Part
	truncated := false
	err := s.view(func(txn *badger.Txn) error {
		if _, err := getUpload(txn, uploadID); err != nil {
			return err
		}
		all, err := listPartsTxn(txn, uploadID)
		if err != nil {
			return err
		}
		for _, p := range all {
			if p.Number <= marker {
				continue
			}
			if len(out) == max {
				truncated = true
				break
			}
			p.Extents = nil
			out = append(out, p)
		}
		return nil
	})
	return out, truncated, err
}

// CompletePart names a part in CompleteMultipartUpload.
type CompletePart struct {
	Number int
	ETag   string
}

// CompleteUpload publishes the named parts, in order, as one new version;
// parts not named are freed. The ETag is the MD5 of the parts' MD5s with
// "-N".
func (s *Store) CompleteUpload(uploadID string, parts []CompletePart, sync bool, actor Actor) (*Version, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no parts", ErrInvalidPart)
	}
	if err := s.checkSpace(0); err != nil {
		return nil, err
	}
	for i := 1; i < len(parts); i++ {
		if parts[i].Number <= parts[i-1].Number {
			return nil, ErrInvalidPartOrder
		}
	}
	var v *Version
	err := s.update(func(txn *badger.Txn) error {
		u, err := getUpload(txn, uploadID)
		if err != nil {
			return err
		}
		stored, err := listPartsTxn(txn, uploadID)
		if err != nil {
			return err
		}
		byNum := map[int]*Part{}
		for _, p := range stored {
			byNum[p.Number] = p
		}
		var ext []extent
		var size int64
		used := map[int]bool{}
		sizes := make([]int64, 0, len(parts))
		for i, cp := range parts {
			p, ok := byNum[cp.Number]
			if !ok || strings.Trim(cp.ETag, `"`) != p.ETag {
				return fmt.Errorf("%w: part %d", ErrInvalidPart, cp.Number)
			}
			if i < len(parts)-1 && p.Size < MinPartSize {
				return fmt.Errorf("%w: part %d is %d bytes", ErrEntityTooSmall, p.Number, p.Size)
			}
			pe, err := decodeExtents(p.Extents)
			if err != nil {
				return err
			}
			ext = append(ext, pe...)
			size += p.Size
			sizes = append(sizes, p.Size)
			used[p.Number] = true
		}
		for _, p := range stored {
			if !used[p.Number] {
				pe, err := decodeExtents(p.Extents)
				if err != nil {
					return err
				}
				if err := s.unrefExtents(txn, pe); err != nil {
					return err
				}
			}
			if err := txn.Delete(keyPart(uploadID, p.Number)); err != nil {
				return err
			}
		}
		if err := txn.Delete(keyUpload(uploadID)); err != nil {
			return err
		}
		o := PublishOptions{Actor: actor, ContentType: u.ContentType, UserMeta: u.UserMeta, Tags: u.Tags,
			Retention: lockctl.Retention{Mode: u.RetMode, Until: u.RetUntil}, LegalHold: u.LegalHold, Headers: u.Headers}
		v = newVersion(u.Key, size, o)
		v.ETag = MultipartETag(parts)
		v.setPartSizes(sizes)
		v.UploadID = uploadID
		return s.putVersion(txn, u.Bucket, v, ext, nil, true, o)
	})
	if err != nil {
		return nil, err
	}
	return v, s.syncIfNeeded(sync)
}

// MultipartETag is the ETag of a version completed from parts: the MD5 of
// the parts' MD5s, with "-N".
func MultipartETag(parts []CompletePart) string {
	h := md5.New()
	for _, cp := range parts {
		sum, _ := hex.DecodeString(strings.Trim(cp.ETag, `"`))
		h.Write(sum)
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(parts))
}

// CompletedVersion finds the version of key in bucket that upload
// uploadID was completed as, for a CompleteMultipartUpload repeated after
// the upload is gone (S3 answers it again). Only versions of the key
// newest first are read, at most limit of them.
func (s *Store) CompletedVersion(bucket, key, uploadID string, limit int) (*Version, error) {
	var found *Version
	err := s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: keyObjectPrefix(bucket, key), PrefetchValues: true})
		defer it.Close()
		n := 0
		for it.Rewind(); it.Valid() && n < limit; it.Next() {
			n++
			v, err := itemVersion(bucket, it.Item())
			if err != nil {
				return err
			}
			if v.UploadID == uploadID && !v.DeleteMarker {
				found = v
				return nil
			}
		}
		return ErrNoSuchUpload
	})
	return found, err
}

// AbortUpload discards an upload and frees its parts.
func (s *Store) AbortUpload(uploadID string) error {
	return s.update(func(txn *badger.Txn) error {
		if _, err := getUpload(txn, uploadID); err != nil {
			return err
		}
		return abortUploadTxn(s, txn, uploadID)
	})
}

// abortUploadTxn frees the parts of an upload and removes it.
func abortUploadTxn(s *Store, txn *badger.Txn, uploadID string) error {
	parts, err := listPartsTxn(txn, uploadID)
	if err != nil {
		return err
	}
	for _, p := range parts {
		pe, err := decodeExtents(p.Extents)
		if err != nil {
			return err
		}
		if err := s.unrefExtents(txn, pe); err != nil {
			return err
		}
		if err := txn.Delete(keyPart(uploadID, p.Number)); err != nil {
			return err
		}
	}
	return txn.Delete(keyUpload(uploadID))
}

// abortBucketUploads aborts every upload in progress in bucket.
func abortBucketUploads(s *Store, txn *badger.Txn, bucket string) error {
	var ids []string
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pUpload}, PrefetchValues: true})
	for it.Rewind(); it.Valid(); it.Next() {
		u := new(Upload)
		if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, u) }); err != nil {
			it.Close()
			return err
		}
		if u.Bucket == bucket {
			ids = append(ids, u.ID)
		}
	}
	it.Close()
	for _, id := range ids {
		if err := abortUploadTxn(s, txn, id); err != nil {
			return err
		}
	}
	return nil
}

// ListUploads returns the uploads in progress in bucket whose key starts
// with prefix, ordered by key then initiation, after (keyMarker,
// uploadIDMarker), at most max (≤ 0: 1000).
func (s *Store) ListUploads(bucket, prefix, keyMarker, uploadIDMarker string, max int) ([]*Upload, bool, error) {
	if max <= 0 {
		max = 1000
	}
	var all []*Upload
	err := s.view(func(txn *badger.Txn) error {
		if _, err := getBucket(txn, bucket); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pUpload}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			u := new(Upload)
			if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, u) }); err != nil {
				return err
			}
			if u.Bucket == bucket && strings.HasPrefix(u.Key, prefix) {
				all = append(all, u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	sortUploads(all)
	var out []*Upload
	for _, u := range all {
		if keyMarker != "" && (u.Key < keyMarker || u.Key == keyMarker && (uploadIDMarker == "" || u.ID <= uploadIDMarker)) {
			continue
		}
		if len(out) == max {
			return out, true, nil
		}
		out = append(out, u)
	}
	return out, false, nil
}

func sortUploads(us []*Upload) {
	for i := 1; i < len(us); i++ {
		for j := i; j > 0; j-- {
			a, b := us[j-1], us[j]
			if a.Key < b.Key || a.Key == b.Key && !a.Initiated.After(b.Initiated) {
				break
			}
			us[j-1], us[j] = b, a
		}
	}
}
