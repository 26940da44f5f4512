package s3

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wormfs/wormfs/meta"
)

// This file holds what wormfs answers so that clients written for AWS S3
// see AWS's answers: the standard headers stored with a version, the ACL
// and object-ownership calls under AWS's default BucketOwnerEnforced
// setting, GetObjectAttributes, and the 4xx answers AWS gives for bucket
// configurations that are not there.

// awsURLEncode is encoding-type=url as AWS applies it to keys and
// prefixes: every byte but the unreserved characters of RFC 3986 and "/"
// is percent-encoded (a space is %20, never "+").
func awsURLEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// storedHeaders are the standard headers S3 stores with a version and
// returns on GET and HEAD.
var storedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"}

// maxStoredHeaders bounds the standard headers of one version, in bytes.
const maxStoredHeaders = 8 << 10

// standardHeaders collects the standard headers of a version-creating
// request. aws-chunked (a transfer detail of the request) is dropped from
// Content-Encoding, as S3 does.
func standardHeaders(h http.Header) (map[string]string, error) {
	m := map[string]string{}
	size := 0
	for _, k := range storedHeaders {
		vs := h.Values(k)
		if len(vs) == 0 {
			continue
		}
		val := strings.Join(vs, ",")
		if k == "Content-Encoding" {
			var keep []string
			for _, e := range strings.Split(val, ",") {
				if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
					keep = append(keep, e)
				}
			}
			val = strings.Join(keep, ",")
		}
		if val == "" {
			continue
		}
		if !validMetaValue(val) {
			return nil, ErrInvalidArgument.WithMessage("the %s header has a control character", k)
		}
		size += len(k) + len(val)
		m[k] = val
	}
	if size > maxStoredHeaders {
		return nil, ErrMetadataTooLarge.WithMessage("the standard headers exceed %d bytes", maxStoredHeaders)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// writeVersionHeader sets x-amz-version-id on the answer of a write (PUT,
// Copy, Complete): AWS sends it only while versioning is Enabled.
func (q *request) writeVersionHeader(b *meta.Bucket, v *meta.Version) {
	if b.Versioning == meta.VersioningEnabled && v != nil {
		q.w.Header().Set("x-amz-version-id", v.ID)
	}
}

// invalidURIKey reports a key that cannot be parsed at all (its bytes
// are not UTF-8): AWS answers 400 InvalidURI for it on every method. (A
// key with NUL or a "." segment is well-formed; wormfs cannot store one,
// so a write of it is 400 InvalidArgument and a read 404 NoSuchKey.)
func invalidURIKey(key string) bool {
	return key != "" && !utf8.ValidString(key)
}

// ---- ACLs under BucketOwnerEnforced ----

const xsiNS = "http://www.w3.org/2001/XMLSchema-instance"

type accessControlPolicy struct {
	XMLName xml.Name   `xml:"http://s3.amazonaws.com/doc/2006-03-01/ AccessControlPolicy"`
	Owner   owner      `xml:"Owner"`
	Grants  []grantXML `xml:"AccessControlList>Grant"`
}

type grantXML struct {
	Grantee    granteeXML `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

type granteeXML struct {
	XSI          string `xml:"xmlns:xsi,attr,omitempty"`
	Type         string `xml:"xsi:type,attr,omitempty"`
	ID           string `xml:"ID,omitempty"`
	DisplayName  string `xml:"DisplayName,omitempty"`
	URI          string `xml:"URI,omitempty"`
	EmailAddress string `xml:"EmailAddress,omitempty"`
}

// aclPolicyIn is an AccessControlPolicy as clients send it.
type aclPolicyIn struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ AccessControlPolicy"`
	Grants  []struct {
		Grantee struct {
			Type string `xml:"type,attr"`
			ID   string `xml:"ID"`
			URI  string `xml:"URI"`
			Mail string `xml:"EmailAddress"`
		} `xml:"Grantee"`
		Permission string `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// ownerPolicy is the one ACL of everything in wormfs: the owner has
// FULL_CONTROL.
func (q *request) ownerPolicy() accessControlPolicy {
	return accessControlPolicy{Owner: q.s.owner, Grants: []grantXML{{
		Grantee:    granteeXML{XSI: xsiNS, Type: "CanonicalUser", ID: q.s.owner.ID, DisplayName: q.s.owner.DisplayName},
		Permission: "FULL_CONTROL",
	}}}
}

// checkCannedACL accepts the canned ACLs a BucketOwnerEnforced bucket
// accepts (they describe what is true: the owner has full control) and
// refuses the others as AWS does.
func checkCannedACL(acl string) error {
	switch acl {
	case "", "private", "bucket-owner-full-control":
		return nil
	}
	return ErrACLNotSupported.WithMessage("The bucket does not allow ACLs (object ownership is BucketOwnerEnforced); the canned ACL %q cannot be set", acl)
}

// checkGrantHeaders refuses x-amz-grant-* headers (ACL grants), as a
// BucketOwnerEnforced bucket does.
func checkGrantHeaders(h http.Header) error {
	for k := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-grant-") {
			return ErrACLNotSupported.WithMessage("The bucket does not allow ACLs (object ownership is BucketOwnerEnforced); %s cannot be set", lk)
		}
	}
	return nil
}

// checkACLRequest checks a PutBucketAcl or PutObjectAcl: a canned ACL
// header, grant headers or an AccessControlPolicy body. Only what is
// already true (the owner has FULL_CONTROL, nobody else anything) is
// accepted; it changes nothing.
func (q *request) checkACLRequest() error {
	h := q.r.Header
	if err := checkGrantHeaders(h); err != nil {
		return err
	}
	acl := h.Get("x-amz-acl")
	if err := checkCannedACL(acl); err != nil {
		return err
	}
	data, err := readAllLimited(q.body, maxConfigXML)
	if err != nil {
		return err
	}
	var p aclPolicyIn
	if err := unmarshalXML(data, "AccessControlPolicy", &p); err != nil {
		if errors.Is(err, errEmptyXML) {
			if acl == "" {
				return ErrMissingSecurityHeader.WithMessage("Your request was missing a required header: x-amz-acl, x-amz-grant-* or an AccessControlPolicy body")
			}
			return nil
		}
		return ErrMalformedACL
	}
	for _, g := range p.Grants {
		if g.Grantee.ID != q.s.owner.ID || g.Permission != "FULL_CONTROL" || g.Grantee.URI != "" || g.Grantee.Mail != "" {
			return ErrACLNotSupported.WithMessage("The bucket does not allow ACLs (object ownership is BucketOwnerEnforced); only the owner's FULL_CONTROL grant can be set")
		}
	}
	return nil
}

// getBucketACL is GetBucketAcl.
func (q *request) getBucketACL() error {
	if _, err := q.getBucket(); err != nil {
		return err
	}
	return q.writeXML(http.StatusOK, q.ownerPolicy())
}

// putBucketACL is PutBucketAcl.
func (q *request) putBucketACL() error {
	if _, err := q.getBucket(); err != nil {
		return err
	}
	if err := q.checkACLRequest(); err != nil {
		return err
	}
	return q.ok()
}

// aclVersion resolves the version an object ACL call names.
func (q *request) aclVersion() (*meta.Bucket, *meta.Version, error) {
	b, err := q.getBucket()
	if err != nil {
		return nil, nil, err
	}
	vid, err := q.versionID()
	if err != nil {
		return nil, nil, err
	}
	v, err := q.s.store.Get(q.bucket, q.key, vid)
	if err != nil {
		if v != nil && v.DeleteMarker {
			q.deleteMarkerHeaders(b, v)
			if vid == "" {
				return nil, nil, ErrNoSuchKey
			}
			return nil, nil, ErrMethodNotAllowed.WithMessage("the version is a delete marker")
		}
		return nil, nil, err
	}
	return b, v, nil
}

// getObjectACL is GetObjectAcl.
func (q *request) getObjectACL() error {
	b, v, err := q.aclVersion()
	if err != nil {
		return err
	}
	q.versionHeader(b, v)
	return q.writeXML(http.StatusOK, q.ownerPolicy())
}

// putObjectACL is PutObjectAcl.
func (q *request) putObjectACL() error {
	b, v, err := q.aclVersion()
	if err != nil {
		return err
	}
	if err := q.checkACLRequest(); err != nil {
		return err
	}
	q.versionHeader(b, v)
	return q.ok()
}

// ---- Object ownership ----

type ownershipControls struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ OwnershipControls"`
	Rules   []struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	} `xml:"Rule"`
}

// getOwnershipControls is GetBucketOwnershipControls: every bucket is
// BucketOwnerEnforced.
func (q *request) getOwnershipControls() error {
	if _, err := q.getBucket(); err != nil {
		return err
	}
	c := ownershipControls{}
	c.Rules = append(c.Rules, struct {
		ObjectOwnership string `xml:"ObjectOwnership"`
	}{"BucketOwnerEnforced"})
	return q.writeXML(http.StatusOK, c)
}

// putOwnershipControls is PutBucketOwnershipControls: BucketOwnerEnforced
// (what every bucket is) is accepted; the settings that enable ACLs are
// not implemented.
func (q *request) putOwnershipControls() error {
	if _, err := q.getBucket(); err != nil {
		return err
	}
	var c ownershipControls
	if err := decodeXML(q.body, maxConfigXML, "OwnershipControls", &c); err != nil {
		if errors.Is(err, errEmptyXML) {
			return ErrMalformedXML.WithMessage("the OwnershipControls document is empty")
		}
		return err
	}
	if len(c.Rules) != 1 {
		return ErrMalformedXML.WithMessage("OwnershipControls takes one Rule")
	}
	switch o := c.Rules[0].ObjectOwnership; o {
	case "BucketOwnerEnforced":
		return q.ok()
	case "BucketOwnerPreferred", "ObjectWriter":
		return ErrNotImplemented.WithMessage("object ownership %s (ACLs enabled) is not implemented by wormfs; buckets are BucketOwnerEnforced", o)
	default:
		return ErrMalformedXML.WithMessage("unknown ObjectOwnership %q", o)
	}
}

// ---- GetObjectAttributes ----

type objectAttributesResult struct {
	XMLName      xml.Name         `xml:"http://s3.amazonaws.com/doc/2006-03-01/ GetObjectAttributesResponse"`
	ETag         string           `xml:"ETag,omitempty"`
	Checksum     *attrChecksumXML `xml:"Checksum,omitempty"`
	ObjectParts  *attrObjectParts `xml:"ObjectParts,omitempty"`
	StorageClass string           `xml:"StorageClass,omitempty"`
	ObjectSize   *int64           `xml:"ObjectSize,omitempty"`
}

type attrChecksumXML struct {
	checksumsXML
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

type attrObjectParts struct {
	TotalPartsCount      int            `xml:"PartsCount"`
	PartNumberMarker     int            `xml:"PartNumberMarker"`
	NextPartNumberMarker int            `xml:"NextPartNumberMarker"`
	MaxParts             int            `xml:"MaxParts"`
	IsTruncated          bool           `xml:"IsTruncated"`
	Parts                []attrPartSize `xml:"Part"`
}

type attrPartSize struct {
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
}

// objectAttributeNames are the values of x-amz-object-attributes.
var objectAttributeNames = map[string]bool{"ETag": true, "Checksum": true, "ObjectParts": true, "StorageClass": true, "ObjectSize": true}

// getObjectAttributes is GetObjectAttributes.
func (q *request) getObjectAttributes() error {
	h := q.r.Header
	want := map[string]bool{}
	for _, line := range h.Values("x-amz-object-attributes") {
		for _, a := range strings.Split(line, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			if !objectAttributeNames[a] {
				return ErrInvalidArgument.WithMessage("Invalid attribute name specified: %q", a)
			}
			want[a] = true
		}
	}
	if len(want) == 0 {
		return ErrInvalidArgument.WithMessage("The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	maxParts, marker := 1000, 0
	if s := h.Get("x-amz-max-parts"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return ErrInvalidArgument.WithMessage("x-amz-max-parts must be a non-negative integer")
		}
		maxParts = min(n, 1000)
	}
	if s := h.Get("x-amz-part-number-marker"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return ErrInvalidArgument.WithMessage("x-amz-part-number-marker must be a non-negative integer")
		}
		marker = n
	}
	b, v, err := q.aclVersion()
	if err != nil {
		return err
	}
	if st := evalConditions(h, v.ETag, v.Created); st == http.StatusPreconditionFailed {
		return ErrPreconditionFailed
	}
	res := objectAttributesResult{}
	if want["ETag"] {
		res.ETag = v.ETag
	}
	if want["StorageClass"] {
		res.StorageClass = "STANDARD"
	}
	if want["ObjectSize"] {
		size := v.Size
		res.ObjectSize = &size
	}
	if want["Checksum"] && len(v.Checksums) > 0 {
		typ := "FULL_OBJECT"
		if v.Parts > 0 {
			typ = "COMPOSITE"
		}
		res.Checksum = &attrChecksumXML{checksumsXML: newChecksumsXML(v.Checksums), ChecksumType: typ}
	}
	if want["ObjectParts"] && v.Parts > 0 {
		op := &attrObjectParts{TotalPartsCount: v.Parts, PartNumberMarker: marker, MaxParts: maxParts}
		for n := marker + 1; n <= v.Parts; n++ {
			_, size, ok := v.PartRange(n)
			if !ok {
				break // completed before part boundaries were kept
			}
			if len(op.Parts) == maxParts {
				op.IsTruncated = true
				break
			}
			op.Parts = append(op.Parts, attrPartSize{PartNumber: n, Size: size})
			op.NextPartNumberMarker = n
		}
		res.ObjectParts = op
	}
	q.w.Header().Set("Last-Modified", httpTime(v.Created))
	q.versionHeader(b, v)
	return q.writeXML(http.StatusOK, res)
}

// ---- Bucket configurations wormfs does not have ----

// absentConfig describes a bucket subresource wormfs does not implement
// but can answer truthfully when read: there is no such configuration
// (AWS's 404 code, or AWS's empty document), and deleting it leaves none.
// Setting one stays 501 NotImplemented, never a wrong success.
type absentConfig struct {
	name  string    // the operation family, for the 501 message
	err   *APIError // the answer to GET; nil: empty is an empty document
	empty any       // the document GET answers when err is nil
	del   bool      // DELETE answers 204
}

var absentConfigs = map[string]absentConfig{
	"cors":              {name: "CORS", err: ErrNoSuchCORS, del: true},
	"website":           {name: "website hosting", err: ErrNoSuchWebsite, del: true},
	"lifecycle":         {name: "lifecycle rules", err: ErrNoSuchLifecycle, del: true},
	"encryption":        {name: "default encryption", err: ErrNoSuchEncryption, del: true},
	"replication":       {name: "replication", err: ErrNoSuchReplication, del: true},
	"tagging":           {name: "bucket tagging", err: ErrNoSuchTagSet, del: true},
	"publicAccessBlock": {name: "public access blocks", err: ErrNoSuchPublicAccessBlock, del: true},
	"logging":           {name: "server access logging", empty: bucketLoggingStatus{}},
	"notification":      {name: "event notifications", empty: notificationConfiguration{}},
	"accelerate":        {name: "transfer acceleration", empty: accelerateConfiguration{}},
	"requestPayment":    {name: "requester pays", empty: requestPaymentConfiguration{Payer: "BucketOwner"}},
}

type bucketLoggingStatus struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ BucketLoggingStatus"`
}

type notificationConfiguration struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ NotificationConfiguration"`
}

type accelerateConfiguration struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ AccelerateConfiguration"`
}

type requestPaymentConfiguration struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ RequestPaymentConfiguration"`
	Payer   string   `xml:"Payer"`
}

// absentConfigOp is the operation for method on an absent configuration.
func absentConfigOp(sub string, c absentConfig, method string) (op, bool) {
	switch method {
	case http.MethodGet:
		return op{"Get" + sub, read, func(q *request) error {
			if _, err := q.getBucket(); err != nil {
				return err
			}
			if c.err != nil {
				return c.err
			}
			return q.writeXML(http.StatusOK, c.empty)
		}}, true
	case http.MethodDelete:
		if !c.del {
			return op{}, false
		}
		return op{"Delete" + sub, write, func(q *request) error {
			if _, err := q.getBucket(); err != nil {
				return err
			}
			return q.noContent()
		}}, true
	case http.MethodPut:
		return op{"Put" + sub, write, func(q *request) error {
			return ErrNotImplemented.WithMessage("%s is not implemented by wormfs", c.name)
		}}, true
	}
	return op{}, false
}

// compatRoute routes the operations of this file: the ACL and
// object-ownership calls, GetObjectAttributes and the absent bucket
// configurations; and refuses a key that is not a key at all. ok is false
// for every other request.
func compatRoute(m, bucket, key string, vals url.Values) (rt route, ok bool, err error) {
	if bucket == "" {
		return rt, false, nil
	}
	if invalidURIKey(key) {
		return rt, true, ErrInvalidURI.WithMessage("Couldn't parse the specified URI: the key is not UTF-8")
	}
	has := func(k string) bool { _, ok := vals[k]; return ok }
	rt = route{bucket: bucket, key: key}
	pick := func(name string, byMethod map[string]op) (route, bool, error) {
		o, ok := byMethod[m]
		if !ok {
			return route{}, true, ErrMethodNotAllowed.WithMessage("%s is not allowed on %s", m, name)
		}
		rt.op = o
		return rt, true, nil
	}
	if key != "" {
		switch {
		case has("acl"):
			return pick("?acl", map[string]op{
				http.MethodGet: {"GetObjectAcl", read, (*request).getObjectACL},
				http.MethodPut: {"PutObjectAcl", write, (*request).putObjectACL},
			})
		case has("attributes"):
			return pick("?attributes", map[string]op{
				http.MethodGet: {"GetObjectAttributes", read, (*request).getObjectAttributes},
			})
		}
		return rt, false, nil
	}
	switch {
	case has("acl"):
		return pick("?acl", map[string]op{
			http.MethodGet: {"GetBucketAcl", read, (*request).getBucketACL},
			http.MethodPut: {"PutBucketAcl", write, (*request).putBucketACL},
		})
	case has("ownershipControls"):
		return pick("?ownershipControls", map[string]op{
			http.MethodGet: {"GetBucketOwnershipControls", read, (*request).getOwnershipControls},
			http.MethodPut: {"PutBucketOwnershipControls", write, (*request).putOwnershipControls},
			http.MethodDelete: {"DeleteBucketOwnershipControls", write, func(*request) error {
				return ErrNotImplemented.WithMessage("deleting the ownership controls (enabling ACLs) is not implemented by wormfs; buckets are BucketOwnerEnforced")
			}},
		})
	}
	for sub, c := range absentConfigs {
		if has(sub) {
			o, found := absentConfigOp(sub, c, m)
			if !found {
				return route{}, true, ErrMethodNotAllowed.WithMessage("%s is not allowed on ?%s", m, sub)
			}
			rt.op = o
			return rt, true, nil
		}
	}
	return rt, false, nil
}
