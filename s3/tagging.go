package s3

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/wormfs/wormfs/meta"
)

// maxTags is how many tags an object may carry (S3's limit).
const maxTags = 10

// checkTag applies S3's rules to one tag.
func checkTag(k, v string) error {
	if k == "" || utf8.RuneCountInString(k) > 128 || !utf8.ValidString(k) {
		return ErrInvalidTag.WithMessage("a tag key must be 1 to 128 characters")
	}
	if utf8.RuneCountInString(v) > 256 || !utf8.ValidString(v) {
		return ErrInvalidTag.WithMessage("a tag value may have at most 256 characters")
	}
	if strings.HasPrefix(strings.ToLower(k), "aws:") {
		return ErrInvalidTag.WithMessage("tag keys starting with aws: are reserved")
	}
	return nil
}

// parseTagHeader reads x-amz-tagging ("k1=v1&k2=v2", URL-encoded).
func parseTagHeader(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	vals, err := url.ParseQuery(s)
	if err != nil {
		return nil, ErrInvalidTag.WithMessage("x-amz-tagging is not a valid URL-encoded query")
	}
	if len(vals) > maxTags {
		return nil, ErrInvalidTag.WithMessage("an object can have at most %d tags", maxTags)
	}
	out := map[string]string{}
	for k, vs := range vals {
		if len(vs) != 1 {
			return nil, ErrInvalidTag.WithMessage("duplicate tag key %q", k)
		}
		if err := checkTag(k, vs[0]); err != nil {
			return nil, err
		}
		out[k] = vs[0]
	}
	return out, nil
}

// parseTagging checks a PutObjectTagging body.
func parseTagging(data []byte) (map[string]string, error) {
	var t taggingXML
	if err := unmarshalXML(data, "Tagging", &t); err != nil {
		if errors.Is(err, errEmptyXML) {
			return nil, ErrMalformedXML.WithMessage("the Tagging document is empty")
		}
		return nil, err
	}
	if len(t.TagSet.Tags) > maxTags {
		return nil, ErrInvalidTag.WithMessage("an object can have at most %d tags", maxTags)
	}
	out := map[string]string{}
	for _, tag := range t.TagSet.Tags {
		if _, dup := out[tag.Key]; dup {
			return nil, ErrInvalidTag.WithMessage("duplicate tag key %q", tag.Key)
		}
		if err := checkTag(tag.Key, tag.Value); err != nil {
			return nil, err
		}
		out[tag.Key] = tag.Value
	}
	return out, nil
}

// taggingDoc is the GetObjectTagging document, tags sorted by key.
func taggingDoc(tags map[string]string) taggingXML {
	t := taggingXML{TagSet: tagSet{Tags: []tagXML{}}}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.TagSet.Tags = append(t.TagSet.Tags, tagXML{Key: k, Value: tags[k]})
	}
	return t
}

// taggingTarget resolves the version of a tagging call (405 on a delete
// marker named by version id, 404 NoSuchKey when the latest is one).
func (q *request) taggingTarget() (*meta.Bucket, *meta.Version, error) {
	b, err := q.getBucket()
	if err != nil {
		return nil, nil, err
	}
	v, err := q.subresourceVersion(b, true)
	if err != nil {
		return nil, nil, err
	}
	return b, v, nil
}

// subresourceVersion resolves the version a call on a subresource of an
// object names (?versionId, or the current version). A delete marker is
// 405 MethodNotAllowed with the delete-marker headers; with latestNoSuchKey
// a current version that is a delete marker (no version id named) is 404
// NoSuchKey instead, as for tagging.
func (q *request) subresourceVersion(b *meta.Bucket, latestNoSuchKey bool) (*meta.Version, error) {
	vid, err := q.versionID()
	if err != nil {
		return nil, err
	}
	v, err := q.s.store.Get(q.bucket, q.key, vid)
	if err != nil {
		if v != nil && v.DeleteMarker {
			q.deleteMarkerHeaders(b, v)
			if vid == "" && latestNoSuchKey {
				return nil, ErrNoSuchKey
			}
			return nil, ErrMethodNotAllowed.WithMessage("the version is a delete marker")
		}
		return nil, err
	}
	return v, nil
}

// getObjectTagging is GetObjectTagging.
func (q *request) getObjectTagging() error {
	b, v, err := q.taggingTarget()
	if err != nil {
		return err
	}
	q.versionHeader(b, v)
	return q.writeXML(http.StatusOK, taggingDoc(v.Tags))
}

// putObjectTagging is PutObjectTagging: the tags of the version are
// replaced in place (no new version, as in S3).
func (q *request) putObjectTagging() error {
	data, err := readAllLimited(q.body, maxConfigXML)
	if err != nil {
		return err
	}
	tags, err := parseTagging(data)
	if err != nil {
		return err
	}
	return q.setTags(tags, http.StatusOK)
}

// deleteObjectTagging is DeleteObjectTagging.
func (q *request) deleteObjectTagging() error {
	return q.setTags(map[string]string{}, http.StatusNoContent)
}

func (q *request) setTags(tags map[string]string, status int) error {
	b, v, err := q.taggingTarget()
	if err != nil {
		return err
	}
	if _, err := q.s.store.UpdateAttrs(q.bucket, q.key, v.ID, meta.AttrUpdate{Tags: &tags}); err != nil {
		return err
	}
	if err := q.sync(); err != nil {
		return err
	}
	q.versionHeader(b, v)
	if status == http.StatusNoContent {
		return q.noContent()
	}
	return q.ok()
}
