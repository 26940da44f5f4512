package s3

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/wormfs/wormfs/policy"
)

// policyRoute routes ?policy and ?policyStatus, which exist on buckets
// only. The grant words do not reach them: only the root pair, or a
// policy that names these actions, may read or change a bucket policy.
func policyRoute(method, bucket, key string, status bool) (route, error) {
	if bucket == "" || key != "" {
		return route{}, ErrInvalidRequest.WithMessage("bucket policies belong to buckets: the request must name a bucket and no key")
	}
	rt := route{bucket: bucket}
	var ops map[string]op
	name := "?policy"
	if status {
		name = "?policyStatus"
		ops = map[string]op{http.MethodGet: {"GetBucketPolicyStatus", nil, (*request).getBucketPolicyStatus}}
	} else {
		ops = map[string]op{
			http.MethodGet:    {"GetBucketPolicy", nil, (*request).getBucketPolicy},
			http.MethodPut:    {"PutBucketPolicy", nil, (*request).putBucketPolicy},
			http.MethodDelete: {"DeleteBucketPolicy", nil, (*request).deleteBucketPolicy},
		}
	}
	o, ok := ops[method]
	if !ok {
		return route{}, ErrMethodNotAllowed.WithMessage("%s is not allowed on %s", method, name)
	}
	rt.op = o
	return rt, nil
}

// storedPolicy returns the bucket's policy document, 404 NoSuchBucket or
// NoSuchBucketPolicy.
func (q *request) storedPolicy() (string, error) {
	b, err := q.getBucket()
	if err != nil {
		return "", err
	}
	if b.Policy == "" {
		return "", ErrNoSuchBucketPolicy
	}
	return b.Policy, nil
}

// getBucketPolicy is GetBucketPolicy: the document as it was put.
func (q *request) getBucketPolicy() error {
	doc, err := q.storedPolicy()
	if err != nil {
		return err
	}
	h := q.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	q.w.WriteHeader(http.StatusOK)
	if q.r.Method != http.MethodHead {
		_, _ = q.w.Write([]byte(doc))
	}
	return nil
}

// putBucketPolicy is PutBucketPolicy: the document is parsed strictly
// (400 MalformedPolicy, naming what is wrong) and its resources must lie
// in the bucket; the change is audited by the store.
func (q *request) putBucketPolicy() error {
	data, err := readAllLimited(q.body, policy.MaxSize)
	if err != nil {
		if errors.Is(err, ErrMaxMessageLength) {
			return ErrMalformedPolicy.WithMessage("Policies must be less than %d bytes", policy.MaxSize)
		}
		return err
	}
	if _, err := q.getBucket(); err != nil {
		return err
	}
	if len(data) == 0 {
		return ErrMalformedPolicy.WithMessage("The policy is empty")
	}
	if !utf8.Valid(data) {
		return ErrMalformedPolicy.WithMessage("The policy is not valid UTF-8")
	}
	p, err := policy.Parse(data, policy.Resource)
	if err == nil {
		err = p.CheckBucket(q.bucket)
	}
	if err != nil {
		if errors.Is(err, policy.ErrMalformed) {
			return ErrMalformedPolicy.WithMessage("%v", err)
		}
		return err
	}
	if err := q.s.store.SetBucketPolicy(q.bucket, string(data), q.actor(false)); err != nil {
		return err
	}
	return q.noContent()
}

// deleteBucketPolicy is DeleteBucketPolicy: 204 whether or not there was
// one, as AWS answers.
func (q *request) deleteBucketPolicy() error {
	if _, err := q.getBucket(); err != nil {
		return err
	}
	if err := q.s.store.DeleteBucketPolicy(q.bucket, q.actor(false)); err != nil {
		return err
	}
	return q.noContent()
}

type policyStatusXML struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ PolicyStatus"`
	IsPublic bool     `xml:"IsPublic"`
}

// getBucketPolicyStatus is GetBucketPolicyStatus: IsPublic when a
// statement allows everyone (Principal "*").
func (q *request) getBucketPolicyStatus() error {
	doc, err := q.storedPolicy()
	if err != nil {
		return err
	}
	p, err := bucketPolicies.get(doc)
	if err != nil {
		return ErrInternal
	}
	return q.writeXML(http.StatusOK, policyStatusXML{IsPublic: p.Public()})
}
