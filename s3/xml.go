package s3

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wormfs/wormfs/lockctl"
)

// s3NS is the namespace of every S3 XML document.
const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// Body size limits of the XML requests.
const (
	maxConfigXML   = 1 << 20 // configurations, retention, legal hold, tagging
	maxDeleteXML   = 2 << 20 // DeleteObjects (1000 keys of 1 KiB, with markup)
	maxCompleteXML = 4 << 20 // CompleteMultipartUpload (10000 parts)
)

// xmlTime formats an instant as S3 does in XML bodies: RFC 3339, UTC,
// milliseconds.
func xmlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// httpTime formats an instant for Last-Modified and friends.
func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// parseISOTime accepts the timestamps clients send in XML and in the
// x-amz-object-lock-retain-until-date header: RFC 3339 with optional
// fractional seconds, Z or an offset of at most ±23:59 (+24:00 is refused).
func parseISOTime(s string) (time.Time, error) {
	return lockctl.ParseInstant(strings.TrimSpace(s))
}

// quoteETag returns the ETag as it goes on the wire, quoted.
func quoteETag(etag string) string { return `"` + etag + `"` }

// owner is the Owner (and Initiator) element. wormfs has one owner, the
// root user; its ID is derived from the root access key, so it is stable.
type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

// errEmptyXML is returned by decodeXML for an empty body; callers decide
// whether that is an error.
var errEmptyXML = errors.New("empty XML body")

// decodeXML reads at most limit bytes of body and decodes one XML document
// whose root element is root (in the S3 namespace or none) into v. A
// malformed document, another root, or anything but whitespace, comments
// and processing instructions after the root is MalformedXML. Errors from
// the body itself (integrity checks) are returned as they are.
func decodeXML(body io.Reader, limit int64, root string, v any) error {
	data, err := readAllLimited(body, limit)
	if err != nil {
		return err
	}
	return unmarshalXML(data, root, v)
}

// readAllLimited reads a whole request body of at most limit bytes.
func readAllLimited(body io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, bodyError(err)
	}
	if int64(len(data)) > limit {
		return nil, ErrMaxMessageLength.WithMessage("the XML body exceeds %d bytes", limit)
	}
	return data, nil
}

// noDuplicateElements refuses (MalformedXML) a document in which an element
// appears twice under the same parent: AWS validates the lock, legal-hold
// and versioning documents against a schema where each element occurs at
// most once, where encoding/xml would keep the last one. Only for those
// documents (a Tagging or Delete body repeats its Tag and Object).
func noDuplicateElements(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	seen := []map[string]bool{{}}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return ErrMalformedXML.WithMessage("the XML is not well-formed: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			top := seen[len(seen)-1]
			if top[t.Name.Local] {
				return ErrMalformedXML.WithMessage("element %s appears more than once", t.Name.Local)
			}
			top[t.Name.Local] = true
			seen = append(seen, map[string]bool{})
		case xml.EndElement:
			if len(seen) > 1 {
				seen = seen[:len(seen)-1]
			}
		}
	}
}

// unmarshalXML is decodeXML on bytes already read (and the fuzz target).
func unmarshalXML(data []byte, root string, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errEmptyXML
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	// Find the root element first, to check its name before decoding.
	var start xml.StartElement
	for {
		tok, err := d.Token()
		if err != nil {
			return ErrMalformedXML.WithMessage("the XML is not well-formed: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			start = t
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return ErrMalformedXML.WithMessage("text before the root element")
			}
			continue
		case xml.Comment, xml.ProcInst:
			continue
		case xml.Directive:
			return ErrMalformedXML.WithMessage("XML directives (DTDs) are not accepted")
		default:
			return ErrMalformedXML
		}
		break
	}
	if start.Name.Local != root || (start.Name.Space != "" && start.Name.Space != s3NS) {
		return ErrMalformedXML.WithMessage("expected the root element %s, got %s", root, start.Name.Local)
	}
	// The documents' types name the S3 namespace; a root without one is
	// accepted as if it had it (clients send both).
	start.Name.Space = s3NS
	if err := d.DecodeElement(v, &start); err != nil {
		return ErrMalformedXML.WithMessage("the XML is not well-formed: %v", err)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return ErrMalformedXML.WithMessage("the XML is not well-formed: %v", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return ErrMalformedXML.WithMessage("text after the root element")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return ErrMalformedXML.WithMessage("content after the root element")
		}
	}
}

// xmlBufPool keeps the buffers responses are encoded into: a page of
// ListObjectVersions is hundreds of KiB, and growing a fresh buffer for
// each one was a large share of the daemon's allocations under load.
var xmlBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledXML is the largest buffer kept in xmlBufPool.
const maxPooledXML = 4 << 20

// writeXML answers with status and the XML document v.
func (q *request) writeXML(status int, v any) error {
	buf := xmlBufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledXML {
			buf.Reset()
			xmlBufPool.Put(buf)
		}
	}()
	enc := xml.NewEncoder(buf) // what xml.Marshal does, into a reused buffer
	if err := enc.Encode(v); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	out := buf.Bytes()
	h := q.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(out)))
	q.w.WriteHeader(status)
	if q.r.Method == http.MethodHead {
		return nil
	}
	_, _ = io.WriteString(q.w, xml.Header)
	_, _ = q.w.Write(out)
	return nil
}

// The documents of the bucket operations.

type listAllMyBucketsResult struct {
	XMLName           xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner             owner       `xml:"Owner"`
	Buckets           []bucketXML `xml:"Buckets>Bucket"`
	ContinuationToken string      `xml:"ContinuationToken,omitempty"`
	Prefix            string      `xml:"Prefix,omitempty"`
}

type bucketXML struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion,omitempty"`
}

type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

type locationConstraint struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
	Region  string   `xml:",chardata"`
}

// versioningConfiguration is both the request of PutBucketVersioning and
// the answer of GetBucketVersioning.
type versioningConfiguration struct {
	XMLName   xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ VersioningConfiguration"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

// objectLockConfiguration is both the request of
// PutObjectLockConfiguration and the answer of GetObjectLockConfiguration.
// Days and Years are strings on the way in, so that "abc" is MalformedXML
// and "-1" InvalidRetentionPeriod.
type objectLockConfiguration struct {
	XMLName           xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ObjectLockConfiguration"`
	ObjectLockEnabled string    `xml:"ObjectLockEnabled,omitempty"`
	Rule              *lockRule `xml:"Rule,omitempty"`
}

type lockRule struct {
	DefaultRetention *defaultRetention `xml:"DefaultRetention,omitempty"`
}

type defaultRetention struct {
	Mode  string  `xml:"Mode,omitempty"`
	Days  *string `xml:"Days,omitempty"`
	Years *string `xml:"Years,omitempty"`
}

// retentionXML is the Retention document of Get/PutObjectRetention.
type retentionXML struct {
	XMLName         xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ Retention"`
	Mode            *string  `xml:"Mode,omitempty"`
	RetainUntilDate *string  `xml:"RetainUntilDate,omitempty"`
}

// legalHoldXML is the LegalHold document of Get/PutObjectLegalHold.
type legalHoldXML struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LegalHold"`
	Status  *string  `xml:"Status,omitempty"`
}

// taggingXML is the Tagging document of Get/PutObjectTagging.
type taggingXML struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ Tagging"`
	TagSet  tagSet   `xml:"TagSet"`
}

type tagSet struct {
	Tags []tagXML `xml:"Tag"`
}

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// The documents of the object operations.

type deleteRequest struct {
	XMLName xml.Name         `xml:"Delete"`
	Quiet   string           `xml:"Quiet"`
	Objects []deleteObjectID `xml:"Object"`
}

type deleteObjectID struct {
	Key       *string `xml:"Key"`
	VersionID string  `xml:"VersionId"`
}

type deleteResult struct {
	XMLName xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []deletedXML   `xml:"Deleted"`
	Errors  []deleteErrXML `xml:"Error"`
}

type deletedXML struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

type deleteErrXML struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	checksumsXML
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyPartResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	checksumsXML
}

// checksumsXML are the Checksum* elements of several documents.
type checksumsXML struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
}

func newChecksumsXML(m map[string]string) checksumsXML {
	return checksumsXML{
		ChecksumCRC32: m["CRC32"], ChecksumCRC32C: m["CRC32C"], ChecksumCRC64NVME: m["CRC64NVME"],
		ChecksumSHA1: m["SHA1"], ChecksumSHA256: m["SHA256"],
	}
}

// The documents of multipart uploads.

type initiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

type completeMultipartUpload struct {
	XMLName xml.Name       `xml:"CompleteMultipartUpload"`
	Parts   []completePart `xml:"Part"`
}

type completePart struct {
	PartNumber string `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
	checksumsXML
}

type completeMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumsXML
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

type listPartsResult struct {
	XMLName              xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
	Bucket               string    `xml:"Bucket"`
	Key                  string    `xml:"Key"`
	UploadID             string    `xml:"UploadId"`
	PartNumberMarker     int       `xml:"PartNumberMarker"`
	NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
	MaxParts             int       `xml:"MaxParts"`
	IsTruncated          bool      `xml:"IsTruncated"`
	Parts                []partXML `xml:"Part"`
	Initiator            owner     `xml:"Initiator"`
	Owner                owner     `xml:"Owner"`
	StorageClass         string    `xml:"StorageClass"`
	ChecksumAlgorithm    string    `xml:"ChecksumAlgorithm,omitempty"`
}

type partXML struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumsXML
}

type listMultipartUploadsResult struct {
	XMLName            xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
	Bucket             string         `xml:"Bucket"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker,omitempty"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker,omitempty"`
	Prefix             string         `xml:"Prefix"`
	Delimiter          string         `xml:"Delimiter,omitempty"`
	MaxUploads         int            `xml:"MaxUploads"`
	IsTruncated        bool           `xml:"IsTruncated"`
	Uploads            []uploadXML    `xml:"Upload"`
	CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
	EncodingType       string         `xml:"EncodingType,omitempty"`
}

type uploadXML struct {
	Key               string `xml:"Key"`
	UploadID          string `xml:"UploadId"`
	Initiator         owner  `xml:"Initiator"`
	Owner             owner  `xml:"Owner"`
	StorageClass      string `xml:"StorageClass"`
	Initiated         string `xml:"Initiated"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
}

// The documents of listings.

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listBucketResult struct {
	XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Marker                *string        `xml:"Marker,omitempty"`
	NextMarker            string         `xml:"NextMarker,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	KeyCount              *int           `xml:"KeyCount,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	Contents              []objectXML    `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
}

type objectXML struct {
	Key               string `xml:"Key"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	Size              int64  `xml:"Size"`
	Owner             *owner `xml:"Owner,omitempty"`
	StorageClass      string `xml:"StorageClass"`
}

// listVersionsResult keeps versions and delete markers interleaved in key
// order, as S3 sends them: each entry names its own element.
type listVersionsResult struct {
	XMLName             xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListVersionsResult"`
	Name                string   `xml:"Name"`
	Prefix              string   `xml:"Prefix"`
	KeyMarker           string   `xml:"KeyMarker"`
	VersionIDMarker     string   `xml:"VersionIdMarker"`
	NextKeyMarker       string   `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string   `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int      `xml:"MaxKeys"`
	Delimiter           string   `xml:"Delimiter,omitempty"`
	IsTruncated         bool     `xml:"IsTruncated"`
	Entries             []versionXML
	CommonPrefixes      []commonPrefix `xml:"CommonPrefixes"`
	EncodingType        string         `xml:"EncodingType,omitempty"`
}

// versionXML is a Version or a DeleteMarker element (Kind says which).
type versionXML struct {
	Kind         string `xml:"-"`
	Key          string `xml:"Key"`
	VersionID    string `xml:"VersionId"`
	IsLatest     bool   `xml:"IsLatest"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag,omitempty"`
	Size         *int64 `xml:"Size,omitempty"`
	Owner        owner  `xml:"Owner"`
	StorageClass string `xml:"StorageClass,omitempty"`
}

// MarshalXML names the element after its kind.
func (v versionXML) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type fields versionXML // without this method
	start.Name = xml.Name{Local: v.Kind}
	return e.EncodeElement(fields(v), start)
}
