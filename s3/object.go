package s3

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wormfs/wormfs/meta"
)

// maxObjectSize is the largest PutObject body (and UploadPart part), as in
// AWS: 5 GiB.
const maxObjectSize = 5 << 30

// ioBufSize is the size of the writes into a meta.Writer and of the reads
// from a meta.Reader: one chunk.
const ioBufSize = meta.ChunkSize

var ioBufPool = sync.Pool{New: func() any { b := make([]byte, ioBufSize); return &b }}

// versionID reads and checks the versionId query parameter ("" for the
// latest). wormfs version ids are 16 hex digits, or "null".
func (q *request) versionID() (string, error) {
	return checkVersionID(q.query("versionId"))
}

func checkVersionID(v string) (string, error) {
	if v == "" || v == meta.NullVersionID {
		return v, nil
	}
	if len(v) != 16 || strings.Trim(v, "0123456789abcdef") != "" || v == "0000000000000000" {
		return "", ErrInvalidVersionID
	}
	return v, nil
}

// versionHeader sets x-amz-version-id for a version of a bucket that has
// (or had) versioning.
func (q *request) versionHeader(b *meta.Bucket, v *meta.Version) {
	if b.Versioning != meta.VersioningOff && v != nil {
		q.w.Header().Set("x-amz-version-id", v.ID)
	}
}

// deleteMarkerHeaders describes a delete marker met on the way.
func (q *request) deleteMarkerHeaders(b *meta.Bucket, v *meta.Version) {
	h := q.w.Header()
	h.Set("x-amz-delete-marker", "true")
	q.versionHeader(b, v)
	h.Set("Last-Modified", httpTime(v.Created))
}

// userMeta collects the x-amz-meta-* headers (names lowercased, as S3
// returns them); 2 KiB in all at most.
func userMeta(h http.Header) (map[string]string, error) {
	m := map[string]string{}
	size := 0
	for k, vs := range h {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "x-amz-meta-") {
			continue
		}
		name := lk[len("x-amz-meta-"):]
		if name == "" {
			return nil, ErrInvalidArgument.WithMessage("a metadata header needs a name after x-amz-meta-")
		}
		val := strings.Join(vs, ",")
		size += len(name) + len(val)
		m[name] = val
	}
	if size > 2048 {
		return nil, ErrMetadataTooLarge
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// validMetaName reports whether a metadata name can be an HTTP header
// name (an RFC 7230 token).
func validMetaName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validMetaValue reports whether a metadata value can be sent as a header
// value (no control characters but tab).
func validMetaValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// notStored are request headers of PutObject that S3 stores and returns
// but wormfs does not keep: refused rather than silently dropped.
var notStored = []string{"x-amz-website-redirect-location"}

// checkObjectHeaders refuses the headers of a version-creating request
// that imply functionality wormfs does not have.
func checkObjectHeaders(h http.Header) error {
	if err := checkCannedACL(h.Get("x-amz-acl")); err != nil {
		return err
	}
	if err := checkGrantHeaders(h); err != nil {
		return err
	}
	for k := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-server-side-encryption") {
			return ErrNotImplemented.WithMessage("server-side encryption (%s) is not implemented by wormfs", lk)
		}
	}
	for _, k := range notStored {
		if h.Get(k) != "" {
			return ErrNotImplemented.WithMessage("the %s header is not stored by wormfs", k)
		}
	}
	switch sc := h.Get("x-amz-storage-class"); sc {
	case "", "STANDARD":
	case "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE",
		"OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE":
		return ErrNotImplemented.WithMessage("storage class %s is not implemented by wormfs (everything is STANDARD)", sc)
	default:
		return ErrInvalidStorage
	}
	return nil
}

// contentType returns the Content-Type to store (none: S3's default is
// applied when the object is read).
func contentType(h http.Header) string { return h.Get("Content-Type") }

// s3Checksums keeps the x-amz-checksum-* values of a body (the MD5 is the
// ETag, not a checksum).
func s3Checksums(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if k != "MD5" && v != "" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// checksumHeaders echoes checksums as x-amz-checksum-* headers.
func checksumHeaders(h http.Header, m map[string]string) {
	for k, v := range m {
		if k == "MD5" || v == "" {
			continue
		}
		h.Set("x-amz-checksum-"+strings.ToLower(k), v)
	}
}

// copyBody streams the request body into w in writes of one chunk. It
// never holds more than one buffer of the body.
func copyBody(w *meta.Writer, body io.Reader, limit int64) (int64, error) {
	bp := ioBufPool.Get().(*[]byte)
	defer ioBufPool.Put(bp)
	buf := *bp
	var off int64
	for {
		// Fill the buffer; only io.EOF ends the body (a broken connection
		// shows as io.ErrUnexpectedEOF and is an error, not the end).
		n, err := 0, error(nil)
		for n < len(buf) && err == nil {
			var m int
			m, err = body.Read(buf[n:])
			n += m
		}
		if n > 0 {
			if off+int64(n) > limit {
				return off, ErrEntityTooLarge
			}
			if _, werr := w.WriteAt(buf[:n], off); werr != nil {
				return off, werr
			}
			off += int64(n)
		}
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			return off, bodyError(err)
		}
	}
}

// checkWriteConditions implements the conditional writes of PutObject:
// If-None-Match: * (only if the key has no current object) and If-Match
// (only if the current object has that ETag). The check is made before
// the body is read and again just before the version is published; it is
// not atomic with the publish.
func (q *request) checkWriteConditions() error {
	inm, im := q.r.Header.Get("If-None-Match"), q.r.Header.Get("If-Match")
	if inm == "" && im == "" {
		return nil
	}
	cur, err := q.s.store.Get(q.bucket, q.key, "")
	exists := err == nil
	if err != nil && !errors.Is(err, meta.ErrNoSuchKey) && !errors.Is(err, meta.ErrNoSuchVersion) {
		return err
	}
	if inm != "" {
		if strings.TrimSpace(inm) != "*" {
			return ErrNotImplemented.WithMessage("If-None-Match on PutObject only takes *")
		}
		if exists {
			return ErrPreconditionFailed
		}
	}
	if im != "" {
		if !exists {
			return ErrNoSuchKey
		}
		if !etagMatch(im, cur.ETag) {
			return ErrPreconditionFailed
		}
	}
	return nil
}

// putObject is PutObject: the body is streamed into a Writer and published
// as one version, synced to disk before the answer. Anything that goes
// wrong on the way (integrity, a broken connection, a rule) aborts the
// writer so nothing is published.
func (q *request) putObject() error {
	b, o, err := q.newObjectOptions(true)
	if err != nil {
		return err
	}
	if q.body.Size() > maxObjectSize {
		return ErrEntityTooLarge
	}
	if err := q.checkWriteConditions(); err != nil {
		return err
	}
	w, err := q.s.store.NewWriter(q.bucket, q.key, nil)
	if err != nil {
		return err
	}
	defer w.Abort()
	q.body.SkipMD5() // the Writer computes it (the ETag)
	if _, err := copyBody(w, q.body, maxObjectSize); err != nil {
		return err
	}
	if err := q.checkWriteConditions(); err != nil {
		return err
	}
	sums := q.body.Checksums()
	o.Checksums, o.Sync = s3Checksums(sums), true
	v, err := w.Publish(o)
	if err != nil {
		return err
	}
	rh := q.w.Header()
	rh.Set("ETag", quoteETag(v.ETag))
	q.writeVersionHeader(b, v)
	checksumHeaders(rh, s3Checksums(sums))
	return q.ok()
}

// newObjectOptions reads what PutObject and CreateMultipartUpload take
// from the headers for a new version: the bucket (which must exist), a
// valid key, the lock headers (checked against the bucket; needIntegrity:
// they need Content-MD5 or a checksum, as on PutObject), user metadata,
// content type and tags.
func (q *request) newObjectOptions(needIntegrity bool) (*meta.Bucket, meta.PublishOptions, error) {
	var o meta.PublishOptions
	b, err := q.getBucket()
	if err != nil {
		return nil, o, err
	}
	if err := meta.ValidKey(q.key); err != nil {
		return nil, o, err
	}
	h := q.r.Header
	l, err := parseLockHeaders(h)
	if err != nil {
		return nil, o, err
	}
	if err := q.checkLock(b, l, needIntegrity); err != nil {
		return nil, o, err
	}
	if err := checkObjectHeaders(h); err != nil {
		return nil, o, err
	}
	um, err := userMeta(h)
	if err != nil {
		return nil, o, err
	}
	tags, err := parseTagHeader(h.Get("x-amz-tagging"))
	if err != nil {
		return nil, o, err
	}
	std, err := standardHeaders(h)
	if err != nil {
		return nil, o, err
	}
	o = meta.PublishOptions{Actor: q.actor(false), Retention: l.ret, LegalHold: l.hold, ContentType: contentType(h), UserMeta: um, Tags: tags,
		Headers: std}
	return b, o, nil
}

// etagMatch reports whether an If-Match / If-None-Match list names etag.
func etagMatch(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		e = strings.TrimPrefix(e, "W/")
		if e == "*" || strings.Trim(e, `"`) == etag {
			return true
		}
	}
	return false
}

// parseHTTPTime parses the dates of conditional headers.
func parseHTTPTime(s string) (time.Time, bool) {
	t, err := http.ParseTime(s)
	return t, err == nil
}

// evalConditions evaluates the conditional headers of a read as S3 (and
// RFC 7232) do: If-Match, else If-Unmodified-Since, may fail with 412;
// then If-None-Match, else If-Modified-Since, may give 304. It returns 0
// when the request proceeds.
func evalConditions(h http.Header, etag string, modified time.Time) int {
	mod := modified.Truncate(time.Second)
	if im := h.Get("If-Match"); im != "" {
		if !etagMatch(im, etag) {
			return http.StatusPreconditionFailed
		}
	} else if t, ok := parseHTTPTime(h.Get("If-Unmodified-Since")); ok && mod.After(t) {
		return http.StatusPreconditionFailed
	}
	if inm := h.Get("If-None-Match"); inm != "" {
		if etagMatch(inm, etag) {
			return http.StatusNotModified
		}
	} else if t, ok := parseHTTPTime(h.Get("If-Modified-Since")); ok && !mod.After(t) {
		return http.StatusNotModified
	}
	return 0
}

// byteRange is a satisfiable single range.
type byteRange struct {
	start, length int64
}

// parseRange interprets a Range header for a body of size bytes. It
// returns nil (serve the whole body) for an absent, syntactically invalid
// or multi-range header, as S3 does, and ErrInvalidRange (416) for a range
// that cannot be satisfied.
func parseRange(s string, size int64) (*byteRange, error) {
	s = strings.TrimSpace(s)
	spec, ok := strings.CutPrefix(s, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return nil, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return nil, nil
	}
	digits := func(x string) (int64, bool) {
		if x == "" || strings.Trim(x, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	if first == "" {
		n, ok := digits(last)
		if !ok {
			return nil, nil
		}
		if n == 0 || size == 0 {
			return nil, ErrInvalidRange
		}
		if n > size {
			n = size
		}
		return &byteRange{start: size - n, length: n}, nil
	}
	a, ok := digits(first)
	if !ok {
		return nil, nil
	}
	end := size - 1
	if last != "" {
		b, ok := digits(last)
		if !ok || b < a {
			return nil, nil
		}
		if b < end {
			end = b
		}
	}
	if a >= size {
		return nil, ErrInvalidRange
	}
	return &byteRange{start: a, length: end - a + 1}, nil
}

// partRange is the range GetObject and HeadObject serve for ?partNumber=N.
// A single-part object has one part, the whole object (served as a range,
// 206, as AWS does); a multipart object's part N is the range that part
// was uploaded as. A multipart version completed before wormfs kept part
// boundaries cannot tell: NotImplemented rather than a wrong answer.
func partRange(num, rangeHeader string, v *meta.Version) (*byteRange, error) {
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > meta.MaxPartNumber {
		return nil, ErrInvalidPartNumber
	}
	if rangeHeader != "" {
		return nil, ErrInvalidRequest.WithMessage("Cannot specify both Range header and partNumber query parameter")
	}
	if v.Parts > 0 {
		if n > v.Parts {
			return nil, ErrPartNotSatisfiable
		}
		off, size, ok := v.PartRange(n)
		if !ok {
			return nil, ErrNotImplemented.WithMessage("this version was completed before wormfs kept part boundaries; use Range")
		}
		if size == 0 {
			return nil, nil
		}
		return &byteRange{start: off, length: size}, nil
	}
	if n != 1 {
		return nil, ErrPartNotSatisfiable
	}
	if v.Size == 0 {
		return nil, nil
	}
	return &byteRange{start: 0, length: v.Size}, nil
}

// responseOverrides are the response-* query parameters of GetObject and
// the headers they replace.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

// objectHeaders sets the headers that describe a version.
func (q *request) objectHeaders(b *meta.Bucket, v *meta.Version) {
	h := q.w.Header()
	h.Set("Last-Modified", httpTime(v.Created))
	h.Set("ETag", quoteETag(v.ETag))
	ct := v.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("Accept-Ranges", "bytes")
	q.versionHeader(b, v)
	for k, val := range v.Headers {
		h.Set(k, val)
	}
	missing := 0
	for k, val := range v.UserMeta {
		if !validMetaName(k) || !validMetaValue(val) {
			missing++ // e.g. an xattr written through the mount
			continue
		}
		h["x-amz-meta-"+k] = []string{val}
	}
	if missing > 0 {
		h.Set("x-amz-missing-meta", strconv.Itoa(missing))
	}
	if len(v.Tags) > 0 {
		h.Set("x-amz-tagging-count", strconv.Itoa(len(v.Tags)))
	}
	lockHeadersOf(h, v)
}

func (q *request) getObject() error  { return q.serveObject(true) }
func (q *request) headObject() error { return q.serveObject(false) }

// serveObject is GetObject and HeadObject: versionId, conditional
// headers, one Range, response-* overrides, the lock headers, and the
// checksums when x-amz-checksum-mode is ENABLED. The content is streamed
// from the store one chunk at a time.
func (q *request) serveObject(withBody bool) error {
	b, err := q.getBucket()
	if err != nil {
		return err
	}
	vid, err := q.versionID()
	if err != nil {
		return err
	}
	v, err := q.s.store.Get(q.bucket, q.key, vid)
	if err != nil {
		if v != nil && v.DeleteMarker {
			q.deleteMarkerHeaders(b, v)
			if vid == "" {
				return ErrNoSuchKey
			}
			return ErrMethodNotAllowed.WithMessage("the version is a delete marker")
		}
		return err
	}
	overrides := map[string]string{}
	vals := q.r.URL.Query()
	for p, hdr := range responseOverrides {
		if x := vals.Get(p); x != "" {
			overrides[hdr] = x
		}
	}
	switch evalConditions(q.r.Header, v.ETag, v.Created) {
	case http.StatusPreconditionFailed:
		return ErrPreconditionFailed
	case http.StatusNotModified:
		h := q.w.Header()
		h.Set("ETag", quoteETag(v.ETag))
		h.Set("Last-Modified", httpTime(v.Created))
		q.versionHeader(b, v)
		q.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	rng, err := parseRange(q.r.Header.Get("Range"), v.Size)
	if err != nil {
		q.w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(v.Size, 10))
		return err
	}
	_, withPart := vals["partNumber"]
	if withPart {
		if rng, err = partRange(vals.Get("partNumber"), q.r.Header.Get("Range"), v); err != nil {
			return err
		}
	}
	start, length, status := int64(0), v.Size, http.StatusOK
	if rng != nil {
		start, length, status = rng.start, rng.length, http.StatusPartialContent
	}
	// Before any header: every chunk the body needs is there and the first
	// one passes its CRC32C, so damage is an error status (500
	// InternalError), not 200 and a cut connection.
	var rd *meta.Reader
	if withBody && length > 0 {
		if rd, err = q.s.store.NewReader(v); err != nil {
			return err
		}
		if err := rd.Verify(start, length); err != nil {
			return err
		}
	}
	q.objectHeaders(b, v)
	h := q.w.Header()
	if withPart && v.Parts > 0 {
		h.Set("x-amz-mp-parts-count", strconv.Itoa(v.Parts))
	}
	for hdr, x := range overrides {
		h.Set(hdr, x)
	}
	if rng != nil {
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+length-1, 10)+"/"+strconv.FormatInt(v.Size, 10))
	} else if strings.EqualFold(q.r.Header.Get("x-amz-checksum-mode"), "ENABLED") && len(v.Checksums) > 0 {
		checksumHeaders(h, v.Checksums)
		typ := "FULL_OBJECT"
		if v.Parts > 0 {
			typ = "COMPOSITE"
		}
		h.Set("x-amz-checksum-type", typ)
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	if !withBody || length == 0 {
		q.w.WriteHeader(status)
		return nil
	}
	q.w.WriteHeader(status)
	bp := ioBufPool.Get().(*[]byte)
	defer ioBufPool.Put(bp)
	buf := *bp
	for off, end := start, start+length; off < end; {
		n := int64(len(buf))
		if n > end-off {
			n = end - off
		}
		m, err := rd.ReadAt(buf[:n], off)
		if m > 0 {
			if _, werr := q.w.Write(buf[:m]); werr != nil {
				return nil // the client went away
			}
			off += int64(m)
		}
		if err != nil && !(errors.Is(err, io.EOF) && off == end) {
			// The status is out: cut the connection so the client sees a
			// short body, not a wrong one (a chunk failing its CRC32C
			// mid-body included: its bytes are never written).
			q.s.logger.Printf("s3: %s: reading %s/%s version %s at %d: %v", q.id, q.bucket, q.key, v.ID, off, err)
			panic(http.ErrAbortHandler)
		}
	}
	return nil
}

// deleteObject is DeleteObject. Without versionId it adds a delete marker
// (or removes the null version of an unversioned bucket); with one it
// permanently deletes that version, refused with 403 AccessDenied while it
// is protected. x-amz-bypass-governance-retention lifts GOVERNANCE only
// for a principal granted bypass-governance.
func (q *request) deleteObject() error {
	b, err := q.getBucket()
	if err != nil {
		return err
	}
	bypass, err := q.bypassHeader(b)
	if err != nil {
		return err
	}
	vid, err := q.versionID()
	if err != nil {
		return err
	}
	res, err := q.deleteOne(b, q.key, vid, bypass)
	if err != nil {
		return err
	}
	h := q.w.Header()
	if res.DeleteMarker {
		h.Set("x-amz-delete-marker", "true")
	}
	id := res.VersionID
	if res.DeleteMarkerVersionID != "" {
		id = res.DeleteMarkerVersionID
	}
	if id != "" && b.Versioning != meta.VersioningOff {
		h.Set("x-amz-version-id", id)
	}
	return q.noContent()
}

// deleteOne deletes one key or version for DeleteObject and DeleteObjects.
// Deleting a version or key that does not exist succeeds, as in S3.
func (q *request) deleteOne(b *meta.Bucket, key, vid string, bypass bool) (deletedXML, error) {
	res := deletedXML{Key: key}
	if vid == "" {
		m, err := q.s.store.Delete(b.Name, key, meta.PublishOptions{Actor: q.actorFor(key, bypass), Sync: true})
		if err != nil {
			return res, err
		}
		if m != nil {
			res.DeleteMarker, res.DeleteMarkerVersionID = true, m.ID
		}
		return res, nil
	}
	res.VersionID = vid
	v, err := q.s.store.DeleteVersion(b.Name, key, vid, q.actorFor(key, bypass))
	if err != nil {
		if errors.Is(err, meta.ErrNoSuchVersion) || errors.Is(err, meta.ErrNoSuchKey) {
			return res, nil
		}
		return res, err
	}
	if v != nil && v.DeleteMarker {
		res.DeleteMarker, res.DeleteMarkerVersionID = true, v.ID
	}
	return res, nil
}

// parseDelete checks a DeleteObjects body: 1 to 1000 objects, each with a
// key.
func parseDelete(data []byte) (quiet bool, objs []deleteObjectID, err error) {
	var d deleteRequest
	if err := unmarshalXML(data, "Delete", &d); err != nil {
		if errors.Is(err, errEmptyXML) {
			return false, nil, ErrMalformedXML.WithMessage("the Delete document is empty")
		}
		return false, nil, err
	}
	switch strings.TrimSpace(d.Quiet) {
	case "", "false":
	case "true":
		quiet = true
	default:
		return false, nil, ErrMalformedXML.WithMessage("Quiet must be true or false")
	}
	if len(d.Objects) == 0 || len(d.Objects) > 1000 {
		return false, nil, ErrMalformedXML.WithMessage("Delete takes 1 to 1000 objects, not %d", len(d.Objects))
	}
	for _, o := range d.Objects {
		if o.Key == nil {
			return false, nil, ErrMalformedXML.WithMessage("every Object needs a Key")
		}
	}
	return quiet, d.Objects, nil
}

// deleteObjects is DeleteObjects: each key is deleted on its own; a
// failure (a protected version: AccessDenied) is reported in Errors and
// does not stop the others.
func (q *request) deleteObjects() error {
	if !q.body.HasIntegrity() {
		return ErrMissingContentMD5
	}
	data, err := readAllLimited(q.body, maxDeleteXML)
	if err != nil {
		return err
	}
	quiet, objs, err := parseDelete(data)
	if err != nil {
		return err
	}
	b, err := q.getBucket()
	if err != nil {
		return err
	}
	bypass, err := q.bypassHeader(b)
	if err != nil {
		return err
	}
	res := deleteResult{}
	for _, o := range objs {
		key := *o.Key
		vid, err := checkVersionID(o.VersionID)
		var d deletedXML
		if err == nil {
			err = q.authorizeDelete(key, vid)
		}
		if err == nil {
			d, err = q.deleteOne(b, key, vid, bypass)
		}
		if err != nil {
			ae, known := toAPIError(err)
			if !known {
				q.s.logger.Printf("s3: %s: DeleteObjects %s/%s: %v", q.id, q.bucket, key, err)
			}
			res.Errors = append(res.Errors, deleteErrXML{Key: key, VersionID: o.VersionID, Code: ae.Code, Message: ae.Message})
			continue
		}
		if !quiet {
			res.Deleted = append(res.Deleted, d)
		}
	}
	return q.writeXML(http.StatusOK, res)
}

// copySource is a parsed x-amz-copy-source.
type copySource struct {
	bucket, key, versionID string
}

// parseCopySource reads "bucket/key" or "/bucket/key", URL-encoded, with an
// optional "?versionId=…".
func parseCopySource(s string) (copySource, error) {
	var c copySource
	path, qs, _ := strings.Cut(strings.TrimPrefix(s, "/"), "?")
	p, err := url.PathUnescape(path)
	if err != nil {
		return c, ErrInvalidCopySource
	}
	bucket, key, ok := strings.Cut(p, "/")
	if !ok || bucket == "" || key == "" {
		return c, ErrInvalidCopySource
	}
	c.bucket, c.key = bucket, key
	if qs != "" {
		vals, err := url.ParseQuery(qs)
		if err != nil {
			return c, ErrInvalidCopySource
		}
		if c.versionID, err = checkVersionID(vals.Get("versionId")); err != nil {
			return c, err
		}
	}
	return c, nil
}

// copySourceVersion resolves the source of CopyObject and UploadPartCopy
// and evaluates the x-amz-copy-source-if-* headers (any failure: 412).
func (q *request) copySourceVersion() (*meta.Bucket, *meta.Version, error) {
	cs, err := parseCopySource(q.r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return nil, nil, err
	}
	if err := q.authorizeCopySource(cs); err != nil {
		return nil, nil, err
	}
	sb, err := q.s.store.GetBucket(cs.bucket)
	if err != nil {
		return nil, nil, err
	}
	src, err := q.s.store.Get(cs.bucket, cs.key, cs.versionID)
	if err != nil {
		if src != nil && src.DeleteMarker {
			if cs.versionID == "" {
				return nil, nil, ErrNoSuchKey
			}
			return nil, nil, ErrInvalidRequest.WithMessage("The source of a copy request may not specifically refer to a delete marker by version id.")
		}
		return nil, nil, err
	}
	h := q.r.Header
	cond := http.Header{}
	for from, to := range map[string]string{
		"x-amz-copy-source-if-match": "If-Match", "x-amz-copy-source-if-none-match": "If-None-Match",
		"x-amz-copy-source-if-modified-since": "If-Modified-Since", "x-amz-copy-source-if-unmodified-since": "If-Unmodified-Since",
	} {
		if v := h.Get(from); v != "" {
			cond.Set(to, v)
		}
	}
	if evalConditions(cond, src.ETag, src.Created) != 0 {
		return nil, nil, ErrPreconditionFailed
	}
	return sb, src, nil
}

// copyObject is CopyObject: a new version at the destination sharing the
// source's chunks. The source's lock is not copied: the destination gets
// the request's lock headers or the bucket default.
func (q *request) copyObject() error {
	b, err := q.getBucket()
	if err != nil {
		return err
	}
	if err := meta.ValidKey(q.key); err != nil {
		return err
	}
	h := q.r.Header
	sb, src, err := q.copySourceVersion()
	if err != nil {
		return err
	}
	l, err := parseLockHeaders(h)
	if err != nil {
		return err
	}
	if err := q.checkLock(b, l, false); err != nil {
		return err
	}
	if err := checkObjectHeaders(h); err != nil {
		return err
	}
	metaDirective := h.Get("x-amz-metadata-directive")
	tagDirective := h.Get("x-amz-tagging-directive")
	for _, d := range []string{metaDirective, tagDirective} {
		if d != "" && d != "COPY" && d != "REPLACE" {
			return ErrInvalidArgument.WithMessage("unknown directive %q; expected COPY or REPLACE", d)
		}
	}
	if sb.Name == b.Name && src.Key == q.key && metaDirective != "REPLACE" && tagDirective != "REPLACE" && !l.any {
		return ErrInvalidCopyRequest
	}
	o := meta.PublishOptions{Actor: q.actor(false), Retention: l.ret, LegalHold: l.hold, Sync: true,
		ContentType: src.ContentType, UserMeta: src.UserMeta, Tags: src.Tags, Headers: src.Headers}
	if metaDirective == "REPLACE" {
		um, err := userMeta(h)
		if err != nil {
			return err
		}
		// As AWS does, REPLACE takes the standard headers (as the user
		// metadata) from the request, and keeps none of the source's.
		std, err := standardHeaders(h)
		if err != nil {
			return err
		}
		o.ContentType, o.UserMeta, o.Headers = contentType(h), um, std
	}
	if tagDirective == "REPLACE" {
		tags, err := parseTagHeader(h.Get("x-amz-tagging"))
		if err != nil {
			return err
		}
		o.Tags = tags
	}
	v, err := q.s.store.Copy(src, b.Name, q.key, o)
	if err != nil {
		return err
	}
	q.writeVersionHeader(b, v)
	if sb.Versioning != meta.VersioningOff {
		q.w.Header().Set("x-amz-copy-source-version-id", src.ID)
	}
	return q.writeXML(http.StatusOK, copyObjectResult{ETag: quoteETag(v.ETag), LastModified: xmlTime(v.Created), checksumsXML: newChecksumsXML(v.Checksums)})
}
