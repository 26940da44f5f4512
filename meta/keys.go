package meta

import "encoding/binary"

// The Badger key schema. Every key starts with one prefix byte naming its
// kind; integers are fixed-width big-endian so that scans come back in
// numeric order; versions of one key sort newest first because their
// sequence number is stored inverted. Bucket names and object keys never
// contain NUL (validated at the edges of meta), so NUL separates them.
//
//	kind          key                                   value
//	-----------   -----------------------------------   ------------------------------------------
//	format        'F'                                   uint32 format version (checked at open)
//	bucket        'B' bucket                            bucketRecord (JSON)
//	version       'O' bucket 0 key 0 ^seq(8)            Version (JSON): every version and delete
//	                                                    marker, newest first within a key
//	current       'L' bucket 0 key                      Version (JSON): copy of the latest version
//	                                                    when it is not a delete marker; listings of
//	                                                    current objects scan only these
//	null version  'N' bucket 0 key                      seq(8) of the key's "null" version
//	extents       'E' seq(8)                            packed extents of version seq (16 B each)
//	part MD5s     'M' seq(8)                            MD5s of the ETag parts of version seq and
//	                                                    the hash state of its last part (etag.go)
//	chunk data    'D' chunk(8)                          up to ChunkSize bytes (lands in the value log)
//	chunk ref     'R' chunk(8)                          chunkRef: reference count, size, CRC32C
//	staged chunk  'S' chunk(8)                          chunkRef of a chunk written but not yet
//	                                                    published; reclaimed at open
//	upload        'U' uploadID                          uploadRecord (JSON): a multipart upload
//	upload part   'P' uploadID 0 part(4)                partRecord (JSON); holds references on
//	                                                    its chunks until complete or abort
//	audit         'A' seq(8)                            AuditRecord (JSON), hash-chained
//	audit head    'H'                                   auditHead (JSON): last seq and hash
//	clock         'C'                                   compliance time, int64 Unix nanoseconds
//	config        'X' name                              opaque value (e.g. generated credentials)
//	sequences     'Q' name                              Badger sequence leases (chunk, version,
//	                                                    audit, upload ids)
const (
	pFormat  = 'F'
	pBucket  = 'B'
	pVersion = 'O'
	pCurrent = 'L'
	pNull    = 'N'
	pExtents = 'E'
	pData    = 'D'
	pSums    = 'M'
	pRef     = 'R'
	pStaged  = 'S'
	pUpload  = 'U'
	pPart    = 'P'
	pAudit   = 'A'
	pHead    = 'H'
	pClock   = 'C'
	pConfig  = 'X'
	pSeq     = 'Q'
)

// formatVersion is the on-disk format this build writes. A store with a
// newer format is refused at open.
const formatVersion = 1

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func join(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func keyFormat() []byte { return []byte{pFormat} }

func keyBucket(bucket string) []byte { return join([]byte{pBucket}, []byte(bucket)) }

// keyObjectPrefix is the prefix of every version of key in bucket.
func keyObjectPrefix(bucket, key string) []byte {
	return join([]byte{pVersion}, []byte(bucket), []byte{0}, []byte(key), []byte{0})
}

// keyBucketVersions is the prefix of every version in bucket.
func keyBucketVersions(bucket string) []byte {
	return join([]byte{pVersion}, []byte(bucket), []byte{0})
}

func keyVersion(bucket, key string, seq uint64) []byte {
	return join(keyObjectPrefix(bucket, key), u64(^seq))
}

func keyCurrent(bucket, key string) []byte {
	return join([]byte{pCurrent}, []byte(bucket), []byte{0}, []byte(key))
}

func keyBucketCurrent(bucket string) []byte {
	return join([]byte{pCurrent}, []byte(bucket), []byte{0})
}

func keyNull(bucket, key string) []byte {
	return join([]byte{pNull}, []byte(bucket), []byte{0}, []byte(key))
}

func keyExtents(seq uint64) []byte  { return join([]byte{pExtents}, u64(seq)) }
func keyData(id uint64) []byte      { return join([]byte{pData}, u64(id)) }
func keyPartSums(seq uint64) []byte { return join([]byte{pSums}, u64(seq)) }
func keyRef(id uint64) []byte       { return join([]byte{pRef}, u64(id)) }
func keyStaged(id uint64) []byte    { return join([]byte{pStaged}, u64(id)) }

func keyUpload(id string) []byte { return join([]byte{pUpload}, []byte(id)) }
func keyPartPrefix(id string) []byte {
	return join([]byte{pPart}, []byte(id), []byte{0})
}
func keyPart(id string, n int) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(n))
	return join(keyPartPrefix(id), b[:])
}

func keyAudit(seq uint64) []byte     { return join([]byte{pAudit}, u64(seq)) }
func keyAuditHead() []byte           { return []byte{pHead} }
func keyClock() []byte               { return []byte{pClock} }
func keyConfig(name string) []byte   { return join([]byte{pConfig}, []byte(name)) }
func keySequence(name string) []byte { return join([]byte{pSeq}, []byte(name)) }

// successor returns the smallest key greater than every key that has p as
// a prefix (nil when there is none, i.e. p is all 0xFF).
func successor(p []byte) []byte {
	s := append([]byte(nil), p...)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0xFF {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}
