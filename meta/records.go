package meta

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wormfs/wormfs/lockctl"
)

// Versioning states of a bucket, as S3 names them. The zero value is an
// unversioned bucket (possible only over S3).
const (
	VersioningOff       = ""
	VersioningEnabled   = "Enabled"
	VersioningSuspended = "Suspended"
)

// NullVersionID is the id of the version written while a bucket is
// unversioned or suspended.
const NullVersionID = "null"

// Bucket is a bucket's record. Stored records only grow by appended fields.
type Bucket struct {
	Name       string              `json:"name"`
	Created    time.Time           `json:"created"`
	Versioning string              `json:"versioning,omitempty"`
	ObjectLock bool                `json:"objectLock,omitempty"`
	Rule       lockctl.DefaultRule `json:"rule,omitempty"`
	Policy     string              `json:"policy,omitempty"` // bucket policy document (bucketpolicy.go); appended field
}

// Version is one version of an object, or a delete marker. A version is
// immutable once published except for its POSIX attributes, user metadata,
// tags and lock state, which are updated in place.
type Version struct {
	Bucket       string    `json:"-"`
	Key          string    `json:"key"`
	Seq          uint64    `json:"seq"`
	ID           string    `json:"id"`
	DeleteMarker bool      `json:"dm,omitempty"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag,omitempty"` // hex MD5, or "hex-N" for multipart
	Created      time.Time `json:"created"`

	// POSIX attributes shown by the mount.
	Mode  uint32    `json:"mode"` // permission bits only
	UID   uint32    `json:"uid"`
	GID   uint32    `json:"gid"`
	Mtime time.Time `json:"mtime"`
	Ctime time.Time `json:"ctime"`
	Link  bool      `json:"link,omitempty"` // a symbolic link; content is the target

	ContentType string            `json:"ctype,omitempty"`
	UserMeta    map[string]string `json:"meta,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Checksums   map[string]string `json:"sums,omitempty"` // S3 checksum name → base64 value
	Parts       int               `json:"parts,omitempty"`

	RetMode   lockctl.Mode `json:"retMode,omitempty"`
	RetUntil  time.Time    `json:"retUntil,omitempty"`
	LegalHold bool         `json:"hold,omitempty"`
	HoldSet   bool         `json:"holdSet,omitempty"` // legal hold was ever set (Get answers OFF, not 404)

	// HashState is the marshalled MD5 state after Size bytes, so an append
	// can extend the ETag without rereading the object.
	HashState []byte `json:"hash,omitempty"`

	// Headers are the standard HTTP headers S3 stores with a version
	// (Cache-Control, Content-Disposition, Content-Encoding,
	// Content-Language, Expires), by canonical name.
	Headers map[string]string `json:"hdrs,omitempty"`
	// UploadID is the multipart upload a version was completed from, so a
	// repeated CompleteMultipartUpload can be answered again.
	UploadID string `json:"upload,omitempty"`
	// The part boundaries of a multipart version: PartSize is the size of
	// every part but the last when they are all equal; otherwise
	// PartSizes lists every part's size.
	PartSize  int64   `json:"partSize,omitempty"`
	PartSizes []int64 `json:"partSizes,omitempty"`
}

// setPartSizes records the part boundaries of a multipart version.
func (v *Version) setPartSizes(sizes []int64) {
	v.Parts, v.PartSize, v.PartSizes = len(sizes), 0, nil
	if len(sizes) == 0 {
		return
	}
	for _, n := range sizes[:len(sizes)-1] {
		if n != sizes[0] {
			v.PartSizes = append([]int64(nil), sizes...)
			return
		}
	}
	v.PartSize = sizes[0]
	if len(sizes) == 1 {
		v.PartSize = v.Size
	}
}

// copyParts gives v the part layout of src.
func (v *Version) copyParts(src *Version) {
	v.Parts, v.PartSize, v.PartSizes = src.Parts, src.PartSize, append([]int64(nil), src.PartSizes...)
	if len(v.PartSizes) == 0 {
		v.PartSizes = nil
	}
}

// PartRange returns the byte range of part n (1-based) of a multipart
// version. ok is false when the version has no part n, or when it was
// completed before part boundaries were kept.
func (v *Version) PartRange(n int) (off, size int64, ok bool) {
	if n < 1 || n > v.Parts {
		return 0, 0, false
	}
	if len(v.PartSizes) == v.Parts {
		for _, s := range v.PartSizes[:n-1] {
			off += s
		}
		return off, v.PartSizes[n-1], true
	}
	if v.PartSize <= 0 {
		return 0, 0, false
	}
	off = int64(n-1) * v.PartSize
	if n == v.Parts {
		return off, v.Size - off, off <= v.Size
	}
	return off, v.PartSize, off+v.PartSize <= v.Size
}

// Lock returns the version's lock state.
func (v *Version) Lock() lockctl.Lock {
	return lockctl.Lock{Retention: lockctl.Retention{Mode: v.RetMode, Until: v.RetUntil}, LegalHold: v.LegalHold}
}

// IsLatestNull reports whether the version is the null version.
func (v *Version) IsNull() bool { return v.ID == NullVersionID }

func (v *Version) clone() *Version {
	c := *v
	c.UserMeta = cloneMap(v.UserMeta)
	c.Tags = cloneMap(v.Tags)
	c.Checksums = cloneMap(v.Checksums)
	c.HashState = append([]byte(nil), v.HashState...)
	c.Headers = cloneMap(v.Headers)
	if v.PartSizes != nil {
		c.PartSizes = append([]int64(nil), v.PartSizes...)
	}
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// versionID formats a version sequence number as an S3 VersionId.
func versionID(seq uint64) string { return fmt.Sprintf("%016x", seq) }

// parseVersionID is the inverse of versionID.
func parseVersionID(id string) (uint64, error) {
	if len(id) != 16 {
		return 0, fmt.Errorf("%w: %q", ErrInvalidVersionID, id)
	}
	seq, err := strconv.ParseUint(id, 16, 64)
	if err != nil || seq == 0 {
		return 0, fmt.Errorf("%w: %q", ErrInvalidVersionID, id)
	}
	return seq, nil
}

// decodeVersion decodes a version record of bucket (through the decode
// cache; the result is the caller's own).
func decodeVersion(bucket string, b []byte) (*Version, error) {
	if c := versionCache.get(b); c != nil {
		v := c.clone()
		v.Bucket = bucket
		return v, nil
	}
	v := new(Version)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("%w: version: %v", ErrCorrupt, err)
	}
	if len(b) <= maxCachedRecord {
		versionCache.put(b, v.clone())
	}
	v.Bucket = bucket
	return v, nil
}

// Stored times are limited to the years 0000–9999 (what the records'
// RFC 3339 form can hold). ClampTime brings a time given by a user (touch
// -d, utimensat) into that range, as Linux file systems clamp timestamps to
// the range their inodes hold.
var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// ClampTime returns t in UTC, limited to the range of stored times.
func ClampTime(t time.Time) time.Time {
	if t.Before(minTime) {
		return minTime
	}
	if t.After(maxTime) {
		return maxTime
	}
	return t.UTC()
}

// seedVersion caches rec, the record just encoded from v, as the decoding
// of rec, so the first read of a version just written (a stat after a
// create) does not decode it again. What is cached must be exactly what
// decoding rec yields (FuzzDecodeRecords checks decodedForm against
// json.Unmarshal), so versions whose decoding differs in ways decodedForm
// does not reproduce are simply not seeded.
func seedVersion(rec []byte, v *Version) {
	if len(rec) > maxCachedRecord {
		return
	}
	if d, ok := v.decodedForm(); ok {
		versionCache.put(rec, d)
	}
}

// decodedForm returns the Version that decoding v's JSON record yields, or
// false when v holds something whose decoding is not a plain copy: a time
// not in UTC (it decodes with a zone of its offset), a string that is not
// valid UTF-8 (JSON replaces the bad bytes). Empty maps and byte slices
// are omitted from the record and decode as nil; times lose their
// monotonic reading; Bucket is not in the record.
func (v *Version) decodedForm() (*Version, bool) {
	for _, t := range [...]time.Time{v.Created, v.Mtime, v.Ctime, v.RetUntil} {
		if t.Location() != time.UTC {
			return nil, false
		}
	}
	if !utf8.ValidString(v.Key) || !utf8.ValidString(v.ID) || !utf8.ValidString(v.ETag) ||
		!utf8.ValidString(v.ContentType) || !utf8.ValidString(string(v.RetMode)) || !utf8.ValidString(v.UploadID) {
		return nil, false
	}
	for _, m := range [...]map[string]string{v.UserMeta, v.Tags, v.Checksums, v.Headers} {
		for k, x := range m {
			if !utf8.ValidString(k) || !utf8.ValidString(x) {
				return nil, false
			}
		}
	}
	d := v.clone()
	d.Bucket = ""
	d.Created = v.Created.Round(0).UTC()
	d.Mtime = v.Mtime.Round(0).UTC()
	d.Ctime = v.Ctime.Round(0).UTC()
	d.RetUntil = v.RetUntil.Round(0).UTC()
	if len(d.UserMeta) == 0 {
		d.UserMeta = nil
	}
	if len(d.Tags) == 0 {
		d.Tags = nil
	}
	if len(d.Checksums) == 0 {
		d.Checksums = nil
	}
	if len(d.HashState) == 0 {
		d.HashState = nil
	}
	if len(d.Headers) == 0 {
		d.Headers = nil
	}
	if len(d.PartSizes) == 0 {
		d.PartSizes = nil
	}
	return d, true
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are encoded
	}
	return b
}

// extent is a piece of an object's content: n bytes of chunk id starting at
// off. id 0 is a hole (zeros).
type extent struct {
	id  uint64
	off uint32
	n   uint32
}

const extentSize = 16

func encodeExtents(ext []extent) []byte {
	b := make([]byte, len(ext)*extentSize)
	for i, e := range ext {
		p := b[i*extentSize:]
		binary.BigEndian.PutUint64(p, e.id)
		binary.BigEndian.PutUint32(p[8:], e.off)
		binary.BigEndian.PutUint32(p[12:], e.n)
	}
	return b
}

func decodeExtents(b []byte) ([]extent, error) {
	if len(b)%extentSize != 0 {
		return nil, fmt.Errorf("%w: extent list of %d bytes", ErrCorrupt, len(b))
	}
	ext := make([]extent, len(b)/extentSize)
	for i := range ext {
		p := b[i*extentSize:]
		ext[i] = extent{
			id:  binary.BigEndian.Uint64(p),
			off: binary.BigEndian.Uint32(p[8:]),
			n:   binary.BigEndian.Uint32(p[12:]),
		}
	}
	return ext, nil
}

// chunkRef is the accounting record of one chunk: how many extents of
// published versions and multipart parts use it, its stored size and its
// CRC32C, then (an appended field, absent from chunks written before it)
// the CRC32C of every crcBlock bytes of it, so that a read checks only the
// blocks it reads (see readChunk).
type chunkRef struct {
	Refs   uint32
	Size   uint32
	CRC    uint32
	Blocks []uint32
}

// crcBlock is the span of one block CRC of a chunk: a 4 KiB random read
// checks 64 KiB, not the whole chunk.
const crcBlock = 64 << 10

// blockCRCs returns the CRC32C of every crcBlock bytes of b and the
// CRC32C of the whole of b, in one pass over b when its length is a
// multiple of crcBlock (the whole CRC is then combined from the blocks').
func blockCRCs(b []byte) ([]uint32, uint32) {
	out := make([]uint32, 0, (len(b)+crcBlock-1)/crcBlock)
	for i := 0; i < len(b); i += crcBlock {
		out = append(out, crc32.Checksum(b[i:min(i+crcBlock, len(b))], castagnoli))
	}
	if len(b)%crcBlock != 0 || len(b) == 0 {
		return out, crc32.Checksum(b, castagnoli)
	}
	var whole uint32
	for i, c := range out {
		if i == 0 {
			whole = c
			continue
		}
		// crc(A‖B) = shift(crc(A), |B|) ^ crc(B) for the reflected CRC
		// with zero initial and final xor folded in, as zlib's
		// crc32_combine: shift is multiplication by x^(8|B|) mod P,
		// precomputed for |B| = crcBlock.
		whole = gf2Times(blockShift(), whole) ^ c
	}
	return out, whole
}

// gf2Times multiplies the 32×32 GF(2) matrix mat by vec.
func gf2Times(mat *[32]uint32, vec uint32) uint32 {
	var sum uint32
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(mat *[32]uint32) *[32]uint32 {
	var sq [32]uint32
	for n := range sq {
		sq[n] = gf2Times(mat, mat[n])
	}
	return &sq
}

// blockShift is the operator that appends crcBlock zero bytes to a
// CRC32C (zlib's crc32_combine for a fixed length), computed once.
var blockShift = sync.OnceValue(func() *[32]uint32 {
	var op [32]uint32  // one zero bit
	op[0] = 0x82F63B78 // Castagnoli, reflected
	for n, row := 1, uint32(1); n < 32; n, row = n+1, row<<1 {
		op[n] = row
	}
	m := gf2Square(gf2Square(gf2Square(&op))) // one zero byte
	var res *[32]uint32
	for n := crcBlock; n > 0; n >>= 1 { // crcBlock zero bytes, by squaring
		if n&1 != 0 {
			if res == nil {
				res = m
			} else {
				var r [32]uint32
				for i := range r {
					r[i] = gf2Times(m, res[i])
				}
				res = &r
			}
		}
		m = gf2Square(m)
	}
	return res
})

func (c chunkRef) encode() []byte {
	b := make([]byte, 12+4*len(c.Blocks))
	binary.BigEndian.PutUint32(b, c.Refs)
	binary.BigEndian.PutUint32(b[4:], c.Size)
	binary.BigEndian.PutUint32(b[8:], c.CRC)
	for i, x := range c.Blocks {
		binary.BigEndian.PutUint32(b[12+4*i:], x)
	}
	return b
}

func decodeChunkRef(b []byte) (chunkRef, error) {
	if len(b) < 12 || len(b)%4 != 0 {
		return chunkRef{}, fmt.Errorf("%w: chunk ref of %d bytes", ErrCorrupt, len(b))
	}
	c := chunkRef{
		Refs: binary.BigEndian.Uint32(b),
		Size: binary.BigEndian.Uint32(b[4:]),
		CRC:  binary.BigEndian.Uint32(b[8:]),
	}
	if n := (len(b) - 12) / 4; n > 0 {
		if n != (int(c.Size)+crcBlock-1)/crcBlock {
			return chunkRef{}, fmt.Errorf("%w: chunk ref with %d block CRCs for %d bytes", ErrCorrupt, n, c.Size)
		}
		c.Blocks = make([]uint32, n)
		for i := range c.Blocks {
			c.Blocks[i] = binary.BigEndian.Uint32(b[12+4*i:])
		}
	}
	return c, nil
}
