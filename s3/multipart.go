package s3

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/wormfs/wormfs/meta"
)

// uploadGates are read-locked, by upload id, around the commit of a part
// (UploadPart, UploadPartCopy) and write-locked around CompleteMultipartUpload
// and AbortMultipartUpload. The store completes or aborts an upload by
// scanning its parts, and Badger's conflict detection does not see a part
// inserted into that range meanwhile: such a part outlived its upload, with
// references on its chunks that nothing would ever free. Parts of one upload
// still commit in parallel. Only this listener uses uploads, so the gates
// cover every writer of them.
type uploadGates [256]sync.RWMutex

func (g *uploadGates) of(uploadID string) *sync.RWMutex {
	h := fnv.New32a()
	h.Write([]byte(uploadID))
	return &g[h.Sum32()%uint32(len(g))]
}

// shared runs fn with the gate of uploadID read-locked (a part commit).
func (g *uploadGates) shared(uploadID string, fn func() error) error {
	m := g.of(uploadID)
	m.RLock()
	defer m.RUnlock()
	return fn()
}

// checksumAlgorithms are the values of x-amz-checksum-algorithm.
var checksumAlgorithms = map[string]bool{"CRC32": true, "CRC32C": true, "CRC64NVME": true, "SHA1": true, "SHA256": true}

// createMultipartUpload is CreateMultipartUpload. The lock headers are
// checked now (and by the store again at completion); the version gets
// them, or the bucket default, when the upload completes.
func (q *request) createMultipartUpload() error {
	_, o, err := q.newObjectOptions(false)
	if err != nil {
		return err
	}
	h := q.r.Header
	alg := strings.ToUpper(h.Get("x-amz-checksum-algorithm"))
	if alg != "" && !checksumAlgorithms[alg] {
		return ErrUnsupportedChecksum.WithMessage("unknown x-amz-checksum-algorithm %q", alg)
	}
	switch t := h.Get("x-amz-checksum-type"); t {
	case "", "COMPOSITE":
	default:
		return ErrNotImplemented.WithMessage("x-amz-checksum-type %s is not implemented by wormfs (COMPOSITE only)", t)
	}
	u, err := q.s.store.CreateUpload(q.bucket, q.key, o, alg)
	if err != nil {
		return err
	}
	if alg != "" {
		q.w.Header().Set("x-amz-checksum-algorithm", alg)
		q.w.Header().Set("x-amz-checksum-type", "COMPOSITE")
	}
	return q.writeXML(http.StatusOK, initiateMultipartUploadResult{Bucket: q.bucket, Key: q.key, UploadID: u.ID})
}

// uploadTarget is the upload named by uploadId, which must belong to the
// request's bucket and key.
func (q *request) uploadTarget() (*meta.Upload, error) {
	u, err := q.s.store.GetUpload(q.query("uploadId"))
	if err != nil {
		return nil, err
	}
	if u.Bucket != q.bucket || u.Key != q.key {
		return nil, ErrNoSuchUpload
	}
	return u, nil
}

// partNumber reads the partNumber query parameter.
func (q *request) partNumber() (int, error) {
	n, err := strconv.Atoi(q.query("partNumber"))
	if err != nil || n < 1 || n > meta.MaxPartNumber {
		return 0, ErrInvalidPartNumber
	}
	return n, nil
}

// uploadPart is UploadPart: the part is streamed into a Writer and
// committed as part n (replacing an earlier part n).
func (q *request) uploadPart() error {
	n, err := q.partNumber()
	if err != nil {
		return err
	}
	u, err := q.uploadTarget()
	if err != nil {
		return err
	}
	b, err := q.getBucket()
	if err != nil {
		return err
	}
	locked := u.RetMode != "" || u.LegalHold || b.ObjectLock && !b.Rule.IsZero()
	if locked && !q.body.HasIntegrity() {
		return ErrLockHeadersNoMD5.WithMessage("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part requests with Object Lock parameters.")
	}
	if q.body.Size() > maxObjectSize {
		return ErrEntityTooLarge
	}
	w, err := q.s.store.NewWriter(q.bucket, q.key, nil)
	if err != nil {
		return err
	}
	defer w.Abort()
	q.body.SkipMD5() // the Writer computes it (the part's ETag)
	if _, err := copyBody(w, q.body, maxObjectSize); err != nil {
		return err
	}
	sums := s3Checksums(q.body.Checksums())
	var p *meta.Part
	err = q.s.uploads.shared(u.ID, func() (err error) {
		p, err = w.CommitPart(u.ID, n, sums)
		return err
	})
	if err != nil {
		return err
	}
	if err := q.sync(); err != nil {
		return err
	}
	q.w.Header().Set("ETag", quoteETag(p.ETag))
	checksumHeaders(q.w.Header(), sums)
	return q.ok()
}

// parseCopyRange reads x-amz-copy-source-range: "bytes=first-last", both
// given, within the source.
func parseCopyRange(s string, size int64) (off, n int64, err error) {
	if s == "" {
		return 0, size, nil
	}
	bad := ErrInvalidArgument.WithMessage("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	spec, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes=")
	if !ok {
		return 0, 0, bad
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok || a == "" || b == "" || strings.Trim(a, "0123456789") != "" || strings.Trim(b, "0123456789") != "" {
		return 0, 0, bad
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first > last {
		return 0, 0, bad
	}
	if last >= size {
		return 0, 0, ErrInvalidRange.WithMessage("the range %s is outside the source object of %d bytes", s, size)
	}
	return first, last - first + 1, nil
}

// uploadPartCopy is UploadPartCopy: the part shares the source's chunks.
func (q *request) uploadPartCopy() error {
	n, err := q.partNumber()
	if err != nil {
		return err
	}
	u, err := q.uploadTarget()
	if err != nil {
		return err
	}
	sb, src, err := q.copySourceVersion()
	if err != nil {
		return err
	}
	off, size, err := parseCopyRange(q.r.Header.Get("x-amz-copy-source-range"), src.Size)
	if err != nil {
		return err
	}
	if size > maxObjectSize {
		return ErrEntityTooLarge
	}
	var p *meta.Part
	err = q.s.uploads.shared(u.ID, func() (err error) {
		p, err = q.s.store.CopyPart(u.ID, n, src, off, size)
		return err
	})
	if err != nil {
		return err
	}
	if err := q.sync(); err != nil {
		return err
	}
	if sb.Versioning != meta.VersioningOff {
		q.w.Header().Set("x-amz-copy-source-version-id", src.ID)
	}
	return q.writeXML(http.StatusOK, copyPartResult{ETag: quoteETag(p.ETag), LastModified: xmlTime(p.LastModified)})
}

// parseComplete checks a CompleteMultipartUpload body: 1 to 10000 parts,
// each with a part number and an ETag, in ascending order.
func parseComplete(data []byte) ([]meta.CompletePart, []checksumsXML, error) {
	var c completeMultipartUpload
	if err := unmarshalXML(data, "CompleteMultipartUpload", &c); err != nil {
		if errors.Is(err, errEmptyXML) {
			return nil, nil, ErrMalformedPartsList.WithMessage("the part list is empty")
		}
		return nil, nil, err
	}
	if len(c.Parts) == 0 || len(c.Parts) > meta.MaxPartNumber {
		return nil, nil, ErrMalformedPartsList.WithMessage("CompleteMultipartUpload takes 1 to %d parts", meta.MaxPartNumber)
	}
	parts := make([]meta.CompletePart, 0, len(c.Parts))
	sums := make([]checksumsXML, 0, len(c.Parts))
	for i, p := range c.Parts {
		n, err := strconv.Atoi(strings.TrimSpace(p.PartNumber))
		if err != nil || n < 1 || n > meta.MaxPartNumber {
			return nil, nil, ErrInvalidPartNumber
		}
		etag := strings.Trim(strings.TrimSpace(p.ETag), `"`)
		if etag == "" {
			return nil, nil, ErrMalformedPartsList.WithMessage("part %d has no ETag", n)
		}
		if i > 0 && n <= parts[i-1].Number {
			return nil, nil, ErrInvalidPartOrder
		}
		parts = append(parts, meta.CompletePart{Number: n, ETag: etag})
		sums = append(sums, p.checksumsXML)
	}
	return parts, sums, nil
}

// compositeChecksum is the checksum of a multipart object as S3 computes
// it for COMPOSITE uploads: the checksum of the concatenated binary part
// checksums, with "-N". It is "" when a part lacks the checksum or the
// algorithm has no composite form here (CRC64NVME is full-object only).
func compositeChecksum(alg string, parts []*meta.Part) string {
	var h hash.Hash
	switch alg {
	case "CRC32":
		h = crc32.NewIEEE()
	case "CRC32C":
		h = crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "SHA1":
		h = sha1.New()
	case "SHA256":
		h = sha256.New()
	default:
		return ""
	}
	for _, p := range parts {
		b, err := base64.StdEncoding.DecodeString(p.Checksums[alg])
		if err != nil || len(b) == 0 {
			return ""
		}
		h.Write(b)
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(parts))
}

// completeMultipartUpload is CompleteMultipartUpload: the named parts are
// published as one version, on disk before the answer.
//
// Repeated with the same upload id and parts after the upload completed
// (an SDK retrying a Complete whose answer was lost), it answers 200
// again with the version it made, as AWS does.
func (q *request) completeMultipartUpload() error {
	u, err := q.uploadTarget()
	if err != nil && !isNoSuchUpload(err) {
		return err
	}
	data, rerr := readAllLimited(q.body, maxCompleteXML)
	if rerr != nil {
		return rerr
	}
	parts, _, perr := parseComplete(data)
	if perr != nil {
		return perr
	}
	b, berr := q.getBucket()
	if berr != nil {
		return berr
	}
	if err != nil {
		return q.completedAgain(b, parts, err)
	}
	if err := q.checkWriteConditions(); err != nil {
		return err
	}
	composite, v, err := q.completeLocked(u, parts)
	if err != nil {
		if isNoSuchUpload(err) { // completed meanwhile by a concurrent retry
			return q.completedAgain(b, parts, err)
		}
		return err
	}
	q.writeVersionHeader(b, v)
	res := completeMultipartUploadResult{Location: q.location(), Bucket: q.bucket, Key: q.key, ETag: quoteETag(v.ETag)}
	if composite != "" {
		res.checksumsXML = newChecksumsXML(map[string]string{u.ChecksumAlg: composite})
		res.ChecksumType = "COMPOSITE"
	}
	return q.writeXML(http.StatusOK, res)
}

func isNoSuchUpload(err error) bool {
	return errors.Is(err, ErrNoSuchUpload) || errors.Is(err, meta.ErrNoSuchUpload)
}

// maxCompletedScan bounds the versions of a key read to find the one a
// finished upload made.
const maxCompletedScan = 1000

// completedAgain answers a CompleteMultipartUpload whose upload is gone:
// if the key has a version completed from that upload with the same parts
// (the ETag is a function of the part list), the answer is that version's;
// otherwise notFound.
func (q *request) completedAgain(b *meta.Bucket, parts []meta.CompletePart, notFound error) error {
	v, err := q.s.store.CompletedVersion(q.bucket, q.key, q.query("uploadId"), maxCompletedScan)
	if err != nil || v.ETag != meta.MultipartETag(parts) {
		return notFound
	}
	q.writeVersionHeader(b, v)
	return q.writeXML(http.StatusOK, completeMultipartUploadResult{Location: q.location(), Bucket: q.bucket, Key: q.key, ETag: quoteETag(v.ETag)})
}

// completeLocked completes upload u under its gate and returns the
// COMPOSITE checksum of the named parts ("" if none) and the new version.
func (q *request) completeLocked(u *meta.Upload, parts []meta.CompletePart) (string, *meta.Version, error) {
	gate := q.s.uploads.of(u.ID)
	gate.Lock()
	defer gate.Unlock()
	composite := ""
	if u.ChecksumAlg != "" {
		stored, _, err := q.s.store.ListParts(u.ID, 0, meta.MaxPartNumber)
		if err != nil {
			return "", nil, err
		}
		byNum := map[int]*meta.Part{}
		for _, p := range stored {
			byNum[p.Number] = p
		}
		named := make([]*meta.Part, 0, len(parts))
		for _, cp := range parts {
			if p, ok := byNum[cp.Number]; ok {
				named = append(named, p)
			}
		}
		if len(named) == len(parts) {
			composite = compositeChecksum(u.ChecksumAlg, named)
		}
	}
	v, err := q.s.store.CompleteUpload(u.ID, parts, true, q.actor(false))
	return composite, v, err
}

// location is the URL of the request's object, for
// CompleteMultipartUploadResult.
func (q *request) location() string {
	u := url.URL{Scheme: "http", Host: q.r.Host, Path: "/" + q.bucket + "/" + q.key}
	if q.r.TLS != nil {
		u.Scheme = "https"
	}
	if hostBucket(q.r.Host) != "" {
		u.Path = "/" + q.key
	}
	return u.String()
}

// abortMultipartUpload is AbortMultipartUpload.
func (q *request) abortMultipartUpload() error {
	u, err := q.uploadTarget()
	if err != nil {
		return err
	}
	if err := q.abortLocked(u.ID); err != nil {
		return err
	}
	return q.noContent()
}

// listParts is ListParts.
func (q *request) listParts() error {
	u, err := q.uploadTarget()
	if err != nil {
		return err
	}
	vals := q.r.URL.Query()
	marker := 0
	if v := vals.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return ErrInvalidArgument.WithMessage("part-number-marker must be a non-negative integer")
		}
	}
	max := maxListKeys
	if v := vals.Get("max-parts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return ErrInvalidArgument.WithMessage("max-parts must be a non-negative integer")
		}
		max = min(n, maxListKeys)
	}
	res := listPartsResult{Bucket: q.bucket, Key: q.key, UploadID: u.ID, PartNumberMarker: marker, MaxParts: max,
		Initiator: q.s.owner, Owner: q.s.owner, StorageClass: "STANDARD", ChecksumAlgorithm: u.ChecksumAlg}
	if max > 0 {
		parts, truncated, err := q.s.store.ListParts(u.ID, marker, max)
		if err != nil {
			return err
		}
		res.IsTruncated = truncated
		for _, p := range parts {
			res.Parts = append(res.Parts, partXML{PartNumber: p.Number, LastModified: xmlTime(p.LastModified), ETag: quoteETag(p.ETag),
				Size: p.Size, checksumsXML: newChecksumsXML(p.Checksums)})
			res.NextPartNumberMarker = p.Number
		}
	}
	return q.writeXML(http.StatusOK, res)
}

// listMultipartUploads is ListMultipartUploads. A delimiter rolls the keys
// of the page up into common prefixes.
func (q *request) listMultipartUploads() error {
	vals := q.r.URL.Query()
	p, err := parseListParams(vals, "max-uploads")
	if err != nil {
		return err
	}
	keyMarker, idMarker := vals.Get("key-marker"), vals.Get("upload-id-marker")
	if _, err := q.getBucket(); err != nil {
		return err
	}
	res := listMultipartUploadsResult{Bucket: q.bucket, KeyMarker: p.enc(keyMarker), UploadIDMarker: idMarker, Prefix: p.enc(p.prefix),
		Delimiter: p.enc(p.delimiter), MaxUploads: p.max, EncodingType: p.encodingType()}
	if p.max > 0 {
		ups, truncated, err := q.s.store.ListUploads(q.bucket, p.prefix, keyMarker, idMarker, p.max)
		if err != nil {
			return err
		}
		res.IsTruncated = truncated
		seen := map[string]bool{}
		for _, u := range ups {
			if p.delimiter != "" {
				if i := strings.Index(u.Key[len(p.prefix):], p.delimiter); i >= 0 {
					cp := u.Key[:len(p.prefix)+i+len(p.delimiter)]
					if !seen[cp] {
						seen[cp] = true
						res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: p.enc(cp)})
					}
					continue
				}
			}
			res.Uploads = append(res.Uploads, uploadXML{Key: p.enc(u.Key), UploadID: u.ID, Initiator: q.s.owner, Owner: q.s.owner,
				StorageClass: "STANDARD", Initiated: xmlTime(u.Initiated), ChecksumAlgorithm: u.ChecksumAlg})
		}
		if truncated && len(ups) > 0 {
			last := ups[len(ups)-1]
			res.NextKeyMarker, res.NextUploadIDMarker = p.enc(last.Key), last.ID
		}
	}
	return q.writeXML(http.StatusOK, res)
}

// abortLocked aborts an upload under its gate.
func (q *request) abortLocked(uploadID string) error {
	gate := q.s.uploads.of(uploadID)
	gate.Lock()
	defer gate.Unlock()
	return q.s.store.AbortUpload(uploadID)
}
