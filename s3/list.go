package s3

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/wormfs/wormfs/meta"
)

// maxListKeys is the most entries one listing page returns.
const maxListKeys = 1000

// listParams are the query parameters all listings share.
type listParams struct {
	prefix, delimiter string
	max               int
	encode            bool // encoding-type=url
}

// parseListParams reads prefix, delimiter, encoding-type and the page size
// parameter (max-keys, max-uploads, …).
func parseListParams(vals url.Values, maxName string) (listParams, error) {
	p := listParams{prefix: vals.Get("prefix"), delimiter: vals.Get("delimiter"), max: maxListKeys}
	switch e := vals.Get("encoding-type"); e {
	case "":
	case "url":
		p.encode = true
	default:
		return p, ErrInvalidArgument.WithMessage("Invalid Encoding Method specified in Request: %q", e)
	}
	if v := vals.Get(maxName); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, ErrInvalidArgument.WithMessage("%s must be a non-negative integer", maxName)
		}
		p.max = min(n, maxListKeys)
	}
	return p, nil
}

// enc applies encoding-type=url to a key or prefix in an answer.
func (p listParams) enc(s string) string {
	if !p.encode || s == "" {
		return s
	}
	return awsURLEncode(s)
}

func (p listParams) encodingType() string {
	if p.encode {
		return "url"
	}
	return ""
}

func (p listParams) prefixes(ps []string) []commonPrefix {
	out := make([]commonPrefix, 0, len(ps))
	for _, s := range ps {
		out = append(out, commonPrefix{Prefix: p.enc(s)})
	}
	return out
}

// checksumAlgorithm names the algorithm of a version's checksum, for
// listings.
func checksumAlgorithm(m map[string]string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		if k != "MD5" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// listObjects is ListObjects (v1) and, with list-type=2, ListObjectsV2.
func (q *request) listObjects() error {
	vals := q.r.URL.Query()
	v2 := false
	switch lt := vals.Get("list-type"); lt {
	case "":
	case "2":
		v2 = true
	default:
		return ErrInvalidArgument.WithMessage("list-type must be 2, not %q", lt)
	}
	p, err := parseListParams(vals, "max-keys")
	if err != nil {
		return err
	}
	if _, err := q.getBucket(); err != nil {
		return err
	}
	res := listBucketResult{Name: q.bucket, Prefix: p.enc(p.prefix), MaxKeys: p.max,
		Delimiter: p.enc(p.delimiter), EncodingType: p.encodingType()}
	after := ""
	fetchOwner := !v2
	if v2 {
		res.StartAfter = p.enc(vals.Get("start-after"))
		after = vals.Get("start-after")
		if t, ok := vals["continuation-token"]; ok {
			res.ContinuationToken = t[0]
			b, err := base64.RawURLEncoding.DecodeString(t[0])
			if err != nil || t[0] == "" {
				return ErrInvalidArgument.WithMessage("The continuation token provided is incorrect")
			}
			after = string(b)
		}
		if fo := vals.Get("fetch-owner"); fo != "" {
			fetchOwner, err = strconv.ParseBool(fo)
			if err != nil {
				return ErrInvalidArgument.WithMessage("fetch-owner must be true or false")
			}
		}
	} else {
		marker := vals.Get("marker")
		after = marker
		enc := p.enc(marker)
		res.Marker = &enc
	}
	count := 0
	if p.max > 0 {
		lr, err := q.s.store.List(q.bucket, meta.ListOptions{Prefix: p.prefix, Delimiter: p.delimiter, After: after, Max: p.max})
		if err != nil {
			return err
		}
		res.IsTruncated = lr.Truncated
		for _, v := range lr.Objects {
			o := objectXML{Key: p.enc(v.Key), LastModified: xmlTime(v.Created), ETag: quoteETag(v.ETag), Size: v.Size,
				StorageClass: "STANDARD", ChecksumAlgorithm: checksumAlgorithm(v.Checksums)}
			if fetchOwner {
				ow := q.s.owner
				o.Owner = &ow
			}
			res.Contents = append(res.Contents, o)
		}
		res.CommonPrefixes = p.prefixes(lr.Prefixes)
		count = len(lr.Objects) + len(lr.Prefixes)
		if lr.Truncated {
			if v2 {
				res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(lr.Next))
			} else if p.delimiter != "" {
				res.NextMarker = p.enc(lr.Next)
			}
		}
	}
	if v2 {
		res.KeyCount = &count
	}
	return q.writeXML(http.StatusOK, res)
}

// listObjectVersions is ListObjectVersions. It carries no lock fields
// (as in S3); HEAD and GET of a version do.
func (q *request) listObjectVersions() error {
	vals := q.r.URL.Query()
	p, err := parseListParams(vals, "max-keys")
	if err != nil {
		return err
	}
	keyMarker := vals.Get("key-marker")
	vidMarker, err := checkVersionID(vals.Get("version-id-marker"))
	if err != nil {
		return err
	}
	if vidMarker != "" && keyMarker == "" {
		return ErrInvalidArgument.WithMessage("A version-id marker cannot be specified without a key marker.")
	}
	if _, err := q.getBucket(); err != nil {
		return err
	}
	res := listVersionsResult{Name: q.bucket, Prefix: p.enc(p.prefix), KeyMarker: p.enc(keyMarker), VersionIDMarker: vidMarker,
		MaxKeys: p.max, Delimiter: p.enc(p.delimiter), EncodingType: p.encodingType()}
	if p.max > 0 {
		lr, err := q.s.store.ListVersions(q.bucket, meta.VersionListOptions{Prefix: p.prefix, Delimiter: p.delimiter,
			KeyMarker: keyMarker, VersionIDMarker: vidMarker, Max: p.max})
		if err != nil {
			return err
		}
		res.IsTruncated = lr.Truncated
		for i, v := range lr.Versions {
			res.Entries = append(res.Entries, versionEntry(p, v, lr.IsLatest[i], q.s.owner))
		}
		res.CommonPrefixes = p.prefixes(lr.Prefixes)
		if lr.Truncated {
			res.NextKeyMarker = p.enc(lr.NextKeyMarker)
			res.NextVersionIDMarker = lr.NextVersionIDMarker
		}
	}
	return q.writeXML(http.StatusOK, res)
}

// versionEntry is the Version or DeleteMarker element of one version.
func versionEntry(p listParams, v *meta.Version, latest bool, ow owner) versionXML {
	e := versionXML{Key: p.enc(v.Key), VersionID: v.ID, IsLatest: latest, LastModified: xmlTime(v.Created), Owner: ow}
	if v.DeleteMarker {
		e.Kind = "DeleteMarker"
		return e
	}
	e.Kind = "Version"
	e.ETag = quoteETag(v.ETag)
	size := v.Size
	e.Size = &size
	e.StorageClass = "STANDARD"
	return e
}
