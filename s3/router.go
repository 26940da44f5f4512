package s3

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/wormfs/wormfs/meta"
)

// op is one S3 operation: its name (for logs), the grants it needs and its
// handler.
type op struct {
	name  string
	needs []Action
	fn    func(*request) error
}

// route is where a request goes.
type route struct {
	bucket, key string
	op          op
}

var (
	read      = []Action{ActionRead}
	write     = []Action{ActionWrite}
	readWrite = []Action{ActionRead, ActionWrite}
	lock      = []Action{ActionLock}
	writeLock = []Action{ActionWrite, ActionLock}
)

// notImplemented lists the subresources of S3 that wormfs does not
// implement. A request naming one gets 501 NotImplemented, never a wrong
// success (a PUT ?acl that "worked" would tell the client its object is
// public when it is not).
var notImplemented = map[string]bool{
	"acl": true, "lifecycle": true, "cors": true, "website": true,
	"encryption": true, "replication": true, "notification": true, "logging": true, "accelerate": true,
	"requestPayment": true, "ownershipControls": true, "publicAccessBlock": true, "analytics": true,
	"inventory": true, "metrics": true, "intelligent-tiering": true, "select": true, "select-type": true,
	"restore": true, "torrent": true, "attributes": true, "session": true, "metadataTable": true,
	"metadataConfiguration": true, "renameObject": true, "abac": true, "mfa": true,
}

// hostBucket returns the bucket named by a virtual-host-style Host header,
// or "" for a path-style request. The rule, since wormfs does not know the
// name clients use for it:
//
//   - the port is dropped and the host lowercased; an IP address (v4 or v6)
//     is always path-style;
//   - "BUCKET.localhost" (the form SDKs build from an endpoint
//     http://localhost:PORT) names BUCKET;
//   - "BUCKET.s3.REST" or "BUCKET.s3-REST" (the AWS forms, and any
//     endpoint whose name starts with an "s3" label, e.g.
//     http://s3.example.net) names BUCKET, taking the last ".s3." so that
//     bucket names with dots work;
//   - BUCKET must be a valid bucket name, otherwise the request is
//     path-style.
//
// Every other host (e.g. "wormfs.example.net") is path-style, so an
// endpoint whose first label merely looks like a bucket name is never
// misread. Clients of such endpoints must use path-style addressing.
func hostBucket(host string) string {
	h := strings.ToLower(host)
	if hp, _, err := net.SplitHostPort(h); err == nil {
		h = hp
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	if h == "" || net.ParseIP(h) != nil {
		return ""
	}
	var b string
	switch {
	case strings.HasSuffix(h, ".localhost"):
		b = strings.TrimSuffix(h, ".localhost")
	case strings.LastIndex(h, ".s3.") > 0:
		b = h[:strings.LastIndex(h, ".s3.")]
	case strings.LastIndex(h, ".s3-") > 0:
		b = h[:strings.LastIndex(h, ".s3-")]
	default:
		return ""
	}
	if meta.ValidBucketName(b) != nil {
		return ""
	}
	return b
}

// splitPath returns bucket and key of a request.
func splitPath(r *http.Request) (bucket, key string, err error) {
	p := r.URL.Path
	if p == "" {
		p = "/"
	}
	if !strings.HasPrefix(p, "/") {
		return "", "", ErrInvalidURI
	}
	if b := hostBucket(r.Host); b != "" {
		return b, p[1:], nil
	}
	rest := p[1:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		if i == 0 {
			return "", "", ErrInvalidURI.WithMessage("the path names no bucket")
		}
		return rest[:i], rest[i+1:], nil
	}
	return rest, "", nil
}

// route decides the operation of a request from its method, path and
// query (subresources). Query parameters that are not subresources (the
// SDKs' x-id, presigning parameters, response-* overrides) are ignored.
func (s *Server) route(r *http.Request) (route, error) {
	bucket, key, err := splitPath(r)
	if err != nil {
		return route{}, err
	}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return route{}, ErrInvalidURI.WithMessage("the query string is malformed: %v", err)
	}
	// Issue 17 (s3/compat.go): ACLs, object ownership,
	// GetObjectAttributes, absent bucket configurations, unparsable keys.
	if rt, ok, err := compatRoute(r.Method, bucket, key, vals); ok {
		return rt, err
	}
	for k := range vals {
		if notImplemented[k] {
			return route{}, ErrNotImplemented.WithMessage("the %q subresource is not implemented by wormfs", k)
		}
	}
	has := func(k string) bool { _, ok := vals[k]; return ok }
	rt := route{bucket: bucket, key: key}
	m := r.Method
	// Bucket policies (policy_bucket.go).
	if has("policy") || has("policyStatus") {
		return policyRoute(m, bucket, key, has("policyStatus"))
	}
	pick := func(name string, byMethod map[string]op) (route, error) {
		o, ok := byMethod[m]
		if !ok {
			return route{}, ErrMethodNotAllowed.WithMessage("%s is not allowed on %s", m, name)
		}
		rt.op = o
		return rt, nil
	}
	switch {
	case bucket == "":
		return pick("the service", map[string]op{
			http.MethodGet: {"ListBuckets", read, (*request).listBuckets},
		})
	case key == "":
		switch {
		case has("versioning"):
			return pick("?versioning", map[string]op{
				http.MethodGet: {"GetBucketVersioning", read, (*request).getBucketVersioning},
				http.MethodPut: {"PutBucketVersioning", write, (*request).putBucketVersioning},
			})
		case has("object-lock"):
			return pick("?object-lock", map[string]op{
				http.MethodGet: {"GetObjectLockConfiguration", read, (*request).getObjectLockConfig},
				// A default rule locks every version written later: it
				// needs the lock grant as well as write.
				http.MethodPut: {"PutObjectLockConfiguration", writeLock, (*request).putObjectLockConfig},
			})
		case has("location"):
			return pick("?location", map[string]op{
				http.MethodGet: {"GetBucketLocation", read, (*request).getBucketLocation},
			})
		case has("uploads"):
			return pick("?uploads", map[string]op{
				http.MethodGet: {"ListMultipartUploads", read, (*request).listMultipartUploads},
			})
		case has("versions"):
			return pick("?versions", map[string]op{
				http.MethodGet: {"ListObjectVersions", read, (*request).listObjectVersions},
			})
		case has("delete"):
			return pick("?delete", map[string]op{
				http.MethodPost: {"DeleteObjects", write, (*request).deleteObjects},
			})
		case has("tagging"):
			return route{}, ErrNotImplemented.WithMessage("bucket tagging is not implemented by wormfs")
		case has("retention"), has("legal-hold"), has("uploadId"), has("partNumber"):
			return route{}, ErrInvalidRequest.WithMessage("this request needs an object key")
		}
		if m == http.MethodPost {
			return route{}, ErrNotImplemented.WithMessage("POST Object (browser form upload) is not implemented by wormfs")
		}
		return pick("a bucket", map[string]op{
			http.MethodGet:    {"ListObjects", read, (*request).listObjects},
			http.MethodPut:    {"CreateBucket", write, (*request).createBucket},
			http.MethodHead:   {"HeadBucket", read, (*request).headBucket},
			http.MethodDelete: {"DeleteBucket", write, (*request).deleteBucket},
		})
	}
	switch {
	case has("retention"):
		return pick("?retention", map[string]op{
			http.MethodGet: {"GetObjectRetention", read, (*request).getObjectRetention},
			http.MethodPut: {"PutObjectRetention", lock, (*request).putObjectRetention},
		})
	case has("legal-hold"):
		return pick("?legal-hold", map[string]op{
			http.MethodGet: {"GetObjectLegalHold", read, (*request).getObjectLegalHold},
			http.MethodPut: {"PutObjectLegalHold", lock, (*request).putObjectLegalHold},
		})
	case has("tagging"):
		return pick("?tagging", map[string]op{
			http.MethodGet:    {"GetObjectTagging", read, (*request).getObjectTagging},
			http.MethodPut:    {"PutObjectTagging", write, (*request).putObjectTagging},
			http.MethodDelete: {"DeleteObjectTagging", write, (*request).deleteObjectTagging},
		})
	case has("uploads"):
		return pick("?uploads", map[string]op{
			http.MethodPost: {"CreateMultipartUpload", write, (*request).createMultipartUpload},
		})
	case has("uploadId"):
		if m == http.MethodPut && r.Header.Get("x-amz-copy-source") != "" {
			return pick("?uploadId", map[string]op{
				http.MethodPut: {"UploadPartCopy", readWrite, (*request).uploadPartCopy},
			})
		}
		return pick("?uploadId", map[string]op{
			http.MethodPut:    {"UploadPart", write, (*request).uploadPart},
			http.MethodPost:   {"CompleteMultipartUpload", write, (*request).completeMultipartUpload},
			http.MethodDelete: {"AbortMultipartUpload", write, (*request).abortMultipartUpload},
			http.MethodGet:    {"ListParts", read, (*request).listParts},
		})
	case has("partNumber") && m != http.MethodGet && m != http.MethodHead:
		return route{}, ErrInvalidRequest.WithMessage("partNumber without uploadId is only valid on GET and HEAD")
	}
	if m == http.MethodPost {
		return route{}, ErrNotImplemented.WithMessage("POST on an object without ?uploads or ?uploadId is not implemented by wormfs")
	}
	if m == http.MethodPut && r.Header.Get("x-amz-copy-source") != "" {
		rt.op = op{"CopyObject", readWrite, (*request).copyObject}
		return rt, nil
	}
	return pick("an object", map[string]op{
		http.MethodGet:    {"GetObject", read, (*request).getObject},
		http.MethodHead:   {"HeadObject", read, (*request).headObject},
		http.MethodPut:    {"PutObject", write, (*request).putObject},
		http.MethodDelete: {"DeleteObject", write, (*request).deleteObject},
	})
}
