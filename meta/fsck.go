package meta

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// OpenReadOnly opens a stopped store without changing anything (no
// reclaim, no clock, no background work): for fsck and for reading the
// audit log. Only read methods may be used on it.
func OpenReadOnly(dir string) (*Store, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("meta: data directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("meta: data directory %s is not a directory", dir)
	}
	// Before any Badger open: the crash recovery below opens read-write,
	// and Badger would start an empty store over files with no manifest.
	if err := checkWholeDir(dir); err != nil {
		return nil, err
	}
	opts := BadgerOptions(dir)
	opts.ReadOnly = true
	db, err := badger.Open(opts)
	if err != nil && strings.Contains(err.Error(), "Log truncate required") {
		// A daemon killed with -9 leaves Badger's write-ahead log with a
		// torn, never-acknowledged tail that a read-only open refuses to
		// cut. Let Badger do its own crash recovery (a read-write open and
		// close of the database alone: no wormfs reclaim, no record of ours
		// changes), then open read-only again.
		if rerr := recoverBadger(dir); rerr != nil {
			return nil, fmt.Errorf("meta: recovering %s after an unclean stop: %w", dir, rerr)
		}
		db, err = badger.Open(opts)
	}
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") || strings.Contains(err.Error(), "resource temporarily unavailable") {
			return nil, fmt.Errorf("%w: %s (stop the daemon first)", ErrLocked, dir)
		}
		if empty, e := emptyValueLogs(dir); e == nil && len(empty) > 0 {
			return nil, fmt.Errorf("%w: empty value-log file %s left by a crash; open the store read-write once (that removes it) before checking it", ErrCorrupt, empty[0])
		}
		return nil, err
	}
	return &Store{db: db, readOnly: true}, nil
}

// Problem is one inconsistency fsck found, with the key it concerns.
type Problem struct {
	Key    string // printable form of the Badger key
	Reason string
}

func (p Problem) String() string { return p.Key + ": " + p.Reason }

// FsckStats counts what fsck read.
type FsckStats struct {
	Buckets, Versions, DeleteMarkers, Chunks, StagedChunks, Uploads, Parts, AuditRecords int
	Bytes                                                                                int64
}

// printable renders a Badger key for a report: the prefix letter, then the
// readable parts, with binary fields in hex.
func printable(k []byte) string {
	if len(k) == 0 {
		return "<empty>"
	}
	switch k[0] {
	case pExtents, pData, pRef, pStaged, pAudit:
		if len(k) == 9 {
			return fmt.Sprintf("%c/%d", k[0], binary.BigEndian.Uint64(k[1:]))
		}
	case pVersion:
		if len(k) > 9 {
			body := k[1 : len(k)-8]
			return fmt.Sprintf("O/%s@%016x", strings.ReplaceAll(strings.TrimSuffix(string(body), "\x00"), "\x00", "/"), ^binary.BigEndian.Uint64(k[len(k)-8:]))
		}
	}
	return fmt.Sprintf("%c/%q", k[0], k[1:])
}

// Fsck checks a stopped store in dir without changing anything: the format
// record, every bucket, version, current-index and null-version record
// against the key schema, every extent against its chunk, every chunk's
// reference count against the references that exist, every chunk's CRC32C,
// the MD5 of every single-part version against its ETag, multipart parts,
// the audit chain, and every version's lock against its audit records
// (checkLocks). report is called for every problem found.
func Fsck(dir string, report func(Problem)) (FsckStats, error) {
	rs, err := OpenReadOnly(dir)
	if err != nil {
		return FsckStats{}, err
	}
	defer rs.Close()
	db := rs.db
	f := &fsck{db: db, report: report, refs: map[uint64]uint32{}, buckets: map[string]bool{}}
	err = db.View(f.run)
	if err != nil {
		return f.st, err
	}
	n, err := rs.VerifyAudit()
	f.st.AuditRecords = n
	var brk *AuditBreak
	if errors.As(err, &brk) {
		report(Problem{Key: printable(keyAudit(brk.Seq)), Reason: "audit chain broken: " + brk.Reason})
	} else if err != nil {
		return f.st, err
	}
	if err := checkLocks(db, report); err != nil {
		return f.st, err
	}
	return f.st, nil
}

type fsck struct {
	db      *badger.DB
	report  func(Problem)
	st      FsckStats
	refs    map[uint64]uint32 // references found, by chunk
	buckets map[string]bool
}

func (f *fsck) bad(k []byte, format string, args ...any) {
	f.report(Problem{Key: printable(k), Reason: fmt.Sprintf(format, args...)})
}

func scan(txn *badger.Txn, prefix byte, fn func(k, v []byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefix}, PrefetchValues: false})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().KeyCopy(nil)
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("read %s: %w", printable(k), err)
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (f *fsck) run(txn *badger.Txn) error {
	item, err := txn.Get(keyFormat())
	if err != nil {
		f.bad(keyFormat(), "format record missing: %v", err)
	} else if b, _ := item.ValueCopy(nil); len(b) != 4 || binary.BigEndian.Uint32(b) != formatVersion {
		f.bad(keyFormat(), "format record %x, expected version %d", b, formatVersion)
	}
	if err := scan(txn, pBucket, func(k, v []byte) error {
		f.st.Buckets++
		var b Bucket
		if err := jsonUnmarshal(v, &b); err != nil {
			f.bad(k, "%v", err)
			return nil
		}
		if b.Name != string(k[1:]) {
			f.bad(k, "record names bucket %q", b.Name)
		}
		if err := ValidBucketName(b.Name); err != nil {
			f.bad(k, "%v", err)
		}
		if b.ObjectLock && b.Versioning != VersioningEnabled {
			f.bad(k, "Object Lock bucket with versioning %q", b.Versioning)
		}
		f.buckets[b.Name] = true
		return nil
	}); err != nil {
		return err
	}
	latest := map[string]*Version{} // bucket\x00key → newest version
	if err := scan(txn, pVersion, func(k, v []byte) error {
		f.checkVersion(txn, k, v, latest)
		return nil
	}); err != nil {
		return err
	}
	if err := f.checkCurrent(txn, latest); err != nil {
		return err
	}
	if err := scan(txn, pNull, func(k, v []byte) error {
		body := string(k[1:])
		i := strings.IndexByte(body, 0)
		if i < 0 || len(v) != 8 {
			f.bad(k, "malformed null-version pointer")
			return nil
		}
		bucket, key := body[:i], body[i+1:]
		nv, err := getVersionSeq(txn, bucket, key, binary.BigEndian.Uint64(v))
		if err != nil {
			f.bad(k, "points at a missing version: %v", err)
		} else if nv.ID != NullVersionID {
			f.bad(k, "points at version %s, which is not the null version", nv.ID)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := f.checkUploads(txn); err != nil {
		return err
	}
	if err := scan(txn, pExtents, func(k, v []byte) error {
		if len(k) != 9 {
			f.bad(k, "malformed extents key")
		}
		return nil
	}); err != nil {
		return err
	}
	return f.checkChunks(txn)
}

func (f *fsck) checkVersion(txn *badger.Txn, k, val []byte, latest map[string]*Version) {
	body := k[1:]
	i := bytes.IndexByte(body, 0)
	if i < 0 || len(body) < i+1+8+1 || body[len(body)-9] != 0 {
		f.bad(k, "malformed version key")
		return
	}
	bucket := string(body[:i])
	key := string(body[i+1 : len(body)-9])
	seq := ^binary.BigEndian.Uint64(body[len(body)-8:])
	v, err := decodeVersion(bucket, val)
	if err != nil {
		f.bad(k, "%v", err)
		return
	}
	if !f.buckets[bucket] {
		f.bad(k, "version of a bucket that does not exist")
	}
	if err := ValidKey(key); err != nil {
		f.bad(k, "%v", err)
	}
	if v.Key != key || v.Seq != seq {
		f.bad(k, "record says key %q seq %d", v.Key, v.Seq)
	}
	if v.ID != NullVersionID && v.ID != versionID(seq) {
		f.bad(k, "version id %q does not match seq %d", v.ID, seq)
	}
	lk := bucket + "\x00" + key
	if _, seen := latest[lk]; !seen {
		latest[lk] = v
	}
	ext, err := getExtents(txn, seq)
	if err != nil {
		f.bad(keyExtents(seq), "%v", err)
		return
	}
	if v.DeleteMarker {
		f.st.DeleteMarkers++
		if len(ext) > 0 || v.Size != 0 {
			f.bad(k, "delete marker with content")
		}
		return
	}
	f.st.Versions++
	var size int64
	for _, e := range ext {
		size += int64(e.n)
		if e.id != 0 {
			f.refs[e.id]++
		}
	}
	if size != v.Size {
		f.bad(k, "extents cover %d bytes, record says %d", size, v.Size)
		return
	}
	f.st.Bytes += size
	// The version's stored checksum: its content must hash to its ETag.
	if v.Parts == 0 && v.ETag != "" {
		got, err := extentsETag(txn, ext, size, v.ETag)
		if err != nil {
			f.bad(k, "%v", err)
			return
		}
		if got != v.ETag {
			f.bad(k, "content MD5 %s does not match ETag %s", got, v.ETag)
		}
	}
}

func (f *fsck) checkCurrent(txn *badger.Txn, latest map[string]*Version) error {
	seen := map[string]bool{}
	if err := scan(txn, pCurrent, func(k, v []byte) error {
		body := string(k[1:])
		i := strings.IndexByte(body, 0)
		if i < 0 {
			f.bad(k, "malformed current-index key")
			return nil
		}
		lk := body
		seen[lk] = true
		cur, err := decodeVersion(body[:i], v)
		if err != nil {
			f.bad(k, "%v", err)
			return nil
		}
		l := latest[lk]
		switch {
		case l == nil:
			f.bad(k, "current-index entry for a key with no versions")
		case l.DeleteMarker:
			f.bad(k, "current-index entry while the latest version is a delete marker")
		case l.Seq != cur.Seq:
			f.bad(k, "current-index says version %s, the latest is %s", cur.ID, l.ID)
		}
		return nil
	}); err != nil {
		return err
	}
	for lk, l := range latest {
		if !l.DeleteMarker && !seen[lk] {
			i := strings.IndexByte(lk, 0)
			f.bad(keyCurrent(lk[:i], lk[i+1:]), "missing current-index entry for version %s", l.ID)
		}
	}
	return nil
}

func (f *fsck) checkUploads(txn *badger.Txn) error {
	uploads := map[string]bool{}
	if err := scan(txn, pUpload, func(k, v []byte) error {
		f.st.Uploads++
		var u Upload
		if err := jsonUnmarshal(v, &u); err != nil {
			f.bad(k, "%v", err)
			return nil
		}
		uploads[u.ID] = true
		if !f.buckets[u.Bucket] {
			f.bad(k, "upload into a bucket that does not exist")
		}
		return nil
	}); err != nil {
		return err
	}
	return scan(txn, pPart, func(k, v []byte) error {
		f.st.Parts++
		i := bytes.IndexByte(k[1:], 0)
		if i < 0 || !uploads[string(k[1:1+i])] {
			f.bad(k, "part of an upload that does not exist")
		}
		var p Part
		if err := jsonUnmarshal(v, &p); err != nil {
			f.bad(k, "%v", err)
			return nil
		}
		ext, err := decodeExtents(p.Extents)
		if err != nil {
			f.bad(k, "%v", err)
			return nil
		}
		for _, e := range ext {
			if e.id != 0 {
				f.refs[e.id]++
			}
		}
		return nil
	})
}

func (f *fsck) checkChunks(txn *badger.Txn) error {
	counted := map[uint64]bool{}
	if err := scan(txn, pRef, func(k, v []byte) error {
		f.st.Chunks++
		id := binary.BigEndian.Uint64(k[1:])
		counted[id] = true
		ref, err := decodeChunkRef(v)
		if err != nil {
			f.bad(k, "%v", err)
			return nil
		}
		if found := f.refs[id]; found != ref.Refs {
			f.bad(k, "reference count %d, but %d references exist", ref.Refs, found)
		}
		item, err := txn.Get(keyData(id))
		if err != nil {
			f.bad(k, "chunk data missing")
			return nil
		}
		return item.Value(func(b []byte) error { f.checkChunkData(id, ref, b); return nil })
	}); err != nil {
		return err
	}
	for id, n := range f.refs {
		if !counted[id] {
			f.bad(keyRef(id), "%d references to a chunk with no accounting record", n)
		}
	}
	staged := map[uint64]bool{}
	if err := scan(txn, pStaged, func(k, v []byte) error {
		f.st.StagedChunks++
		staged[binary.BigEndian.Uint64(k[1:])] = true
		return nil
	}); err != nil {
		return err
	}
	// Data keys: every chunk must be accounted for or staged. Key-only scan.
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pData}, PrefetchValues: false})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != 9 {
			f.bad(k, "malformed chunk key")
			continue
		}
		id := binary.BigEndian.Uint64(k[1:])
		if !counted[id] && !staged[id] {
			f.bad(k, "chunk data with no accounting record (leaked)")
		}
	}
	return nil
}

// checkChunkData is the check of one chunk's bytes, the one every read and
// Scrub make (checkChunk): size, CRC32C and block CRCs.
func (f *fsck) checkChunkData(id uint64, ref chunkRef, b []byte) {
	if why := checkChunk(ref, b); why != "" {
		f.bad(keyData(id), "chunk damaged: %s", why)
	}
}
