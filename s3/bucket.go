package s3

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/wormfs/wormfs/meta"
)

// getBucket returns the record of the request's bucket.
func (q *request) getBucket() (*meta.Bucket, error) {
	return q.s.store.GetBucket(q.bucket)
}

// listBuckets is ListBuckets, with the optional prefix, max-buckets and
// continuation-token of the current API.
func (q *request) listBuckets() error {
	prefix := q.query("prefix")
	max := 10000
	if v := q.query("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return ErrInvalidArgument.WithMessage("max-buckets must be an integer between 1 and 10000")
		}
		max = n
	}
	after := ""
	if t := q.query("continuation-token"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil {
			return ErrInvalidArgument.WithMessage("the continuation token provided is incorrect")
		}
		after = string(b)
	}
	all, err := q.s.store.ListBuckets()
	if err != nil {
		return err
	}
	res := listAllMyBucketsResult{Owner: q.s.owner, Prefix: prefix, Buckets: []bucketXML{}}
	for _, b := range all {
		if !strings.HasPrefix(b.Name, prefix) || b.Name <= after {
			continue
		}
		if len(res.Buckets) == max {
			res.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.Buckets[max-1].Name))
			break
		}
		res.Buckets = append(res.Buckets, bucketXML{Name: b.Name, CreationDate: xmlTime(b.Created), BucketRegion: q.s.region})
	}
	return q.writeXML(http.StatusOK, res)
}

// createBucket is CreateBucket. Any LocationConstraint is accepted (there
// is one store); x-amz-bucket-object-lock-enabled: true makes a bucket with
// versioning Enabled and Object Lock.
func (q *request) createBucket() error {
	if err := meta.ValidBucketName(q.bucket); err != nil {
		return err
	}
	// Buckets are BucketOwnerEnforced (AWS's default): an ACL that says
	// anything but "the owner has full control" is refused as AWS does.
	if acl := q.r.Header.Get("x-amz-acl"); acl != "" && acl != "private" || checkGrantHeaders(q.r.Header) != nil {
		return ErrBucketACLWithOwnership
	}
	if o := q.r.Header.Get("x-amz-object-ownership"); o != "" && o != "BucketOwnerEnforced" {
		return ErrNotImplemented.WithMessage("object ownership %q is not implemented by wormfs (buckets are BucketOwnerEnforced)", o)
	}
	lockEnabled := false
	if v := q.r.Header.Get("x-amz-bucket-object-lock-enabled"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return ErrInvalidArgument.WithMessage("x-amz-bucket-object-lock-enabled must be true or false")
		}
		lockEnabled = b
	}
	var cfg createBucketConfiguration
	if err := decodeXML(q.body, maxConfigXML, "CreateBucketConfiguration", &cfg); err != nil && !errors.Is(err, errEmptyXML) {
		return err
	}
	_, err := q.s.store.CreateBucket(q.bucket, meta.BucketOptions{ObjectLock: lockEnabled}, q.actor(false))
	if err != nil {
		// In us-east-1 AWS answers 200 to re-creating a bucket you own
		// (every bucket here has the one owner); elsewhere 409.
		if !errors.Is(err, meta.ErrBucketExists) || q.s.region != "us-east-1" {
			return err
		}
	}
	q.w.Header().Set("Location", "/"+q.bucket)
	return q.ok()
}

// headBucket is HeadBucket.
func (q *request) headBucket() error {
	if _, err := q.getBucket(); err != nil {
		return err
	}
	q.w.Header().Set("x-amz-bucket-region", q.s.region)
	return q.ok()
}

// deleteBucket is DeleteBucket: only an empty bucket (no version, no
// delete marker) goes; its unfinished uploads are aborted with it, as AWS
// does.
func (q *request) deleteBucket() error {
	if err := q.s.store.DeleteBucket(q.bucket, q.actor(false)); err != nil {
		return err
	}
	if err := q.sync(); err != nil {
		return err
	}
	return q.noContent()
}

// getBucketLocation is GetBucketLocation. As AWS does, us-east-1 is the
// empty constraint.
func (q *request) getBucketLocation() error {
	if _, err := q.getBucket(); err != nil {
		return err
	}
	region := q.s.region
	if region == "us-east-1" {
		region = ""
	}
	return q.writeXML(http.StatusOK, locationConstraint{Region: region})
}

// getBucketVersioning is GetBucketVersioning: no Status for a bucket that
// was never versioned.
func (q *request) getBucketVersioning() error {
	b, err := q.getBucket()
	if err != nil {
		return err
	}
	return q.writeXML(http.StatusOK, versioningConfiguration{Status: b.Versioning})
}

// parseVersioning checks a PutBucketVersioning body and returns the new
// state.
func parseVersioning(data []byte) (string, error) {
	var c versioningConfiguration
	if err := unmarshalXML(data, "VersioningConfiguration", &c); err != nil {
		if errors.Is(err, errEmptyXML) {
			return "", ErrMalformedXML.WithMessage("the versioning configuration is empty")
		}
		return "", err
	}
	switch c.MfaDelete {
	case "", "Disabled":
	case "Enabled":
		return "", ErrNotImplemented.WithMessage("MFA Delete is not implemented by wormfs")
	default:
		return "", ErrMalformedXML.WithMessage("MfaDelete must be Enabled or Disabled")
	}
	if err := noDuplicateElements(data); err != nil {
		return "", err
	}
	switch c.Status {
	case "":
		// AWS: a configuration without a Status changes nothing and is
		// refused.
		return "", ErrIllegalVersioning
	case meta.VersioningEnabled, meta.VersioningSuspended:
		return c.Status, nil
	}
	return "", ErrMalformedXML.WithMessage("Status must be Enabled or Suspended")
}

// putBucketVersioning is PutBucketVersioning. Suspending a bucket with
// Object Lock is 409 InvalidBucketState (the store refuses it).
func (q *request) putBucketVersioning() error {
	if !q.body.HasIntegrity() {
		return ErrMissingContentMD5
	}
	data, err := readAllLimited(q.body, maxConfigXML)
	if err != nil {
		return err
	}
	state, err := parseVersioning(data)
	if err != nil {
		return err
	}
	if _, err := q.getBucket(); err != nil {
		return err
	}
	if state != "" {
		if err := q.s.store.SetVersioning(q.bucket, state); err != nil {
			return err
		}
		if err := q.sync(); err != nil {
			return err
		}
	}
	return q.ok()
}
