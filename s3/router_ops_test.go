package s3

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wormfs/wormfs/meta"
)

func TestHostBucket(t *testing.T) {
	for _, tc := range []struct {
		name, host, want string
	}{
		{"ip v4 with port", "127.0.0.1:9000", ""},
		{"ip v4", "10.1.2.3", ""},
		{"ip v6", "[::1]:9000", ""},
		{"localhost", "localhost:9000", ""},
		{"bucket.localhost", "photos.localhost:9000", "photos"},
		{"dotted bucket.localhost", "my.photos.localhost", "my.photos"},
		{"upper case host", "Photos.LOCALHOST:9000", "photos"},
		{"aws virtual host", "photos.s3.amazonaws.com", "photos"},
		{"aws regional", "photos.s3.eu-west-1.amazonaws.com", "photos"},
		{"aws dash region", "photos.s3-eu-west-1.amazonaws.com", "photos"},
		{"any s3 base domain", "b12.s3.anything", "b12"},
		{"dotted bucket before s3", "a.b.c.s3.example.net", "a.b.c"},
		{"s3 endpoint itself", "s3.amazonaws.com", ""},
		{"s3.localhost endpoint", "s3.localhost:9000", ""},
		{"plain domain is path-style", "wormfs.example.net:9000", ""},
		{"invalid bucket label", "ab.localhost", ""},
		{"underscore bucket label", "no_such.localhost", ""},
		{"ip-looking bucket", "192.168.1.1.s3.example.net", ""},
		{"empty", "", ""},
		{"trailing dot", "photos.localhost.", "photos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hostBucket(tc.host); got != tc.want {
				t.Fatalf("hostBucket(%q) = %q, want %q", tc.host, got, tc.want)
			}
		})
	}
}

func TestRoute(t *testing.T) {
	s := &Server{}
	for _, tc := range []struct {
		name, method, host, target string
		hdr                        http.Header
		op, bucket, key            string
		code                       string // error code instead of an op
	}{
		{"list buckets", "GET", "127.0.0.1:9000", "/", nil, "ListBuckets", "", "", ""},
		{"put on service", "PUT", "127.0.0.1:9000", "/", nil, "", "", "", "MethodNotAllowed"},
		{"create bucket path style", "PUT", "127.0.0.1", "/b1b", nil, "CreateBucket", "b1b", "", ""},
		{"create bucket virtual host", "PUT", "b1b.localhost:9000", "/", nil, "CreateBucket", "b1b", "", ""},
		{"head bucket", "HEAD", "127.0.0.1", "/b1b", nil, "HeadBucket", "b1b", "", ""},
		{"delete bucket", "DELETE", "127.0.0.1", "/b1b/", nil, "DeleteBucket", "b1b", "", ""},
		{"list v1", "GET", "127.0.0.1", "/b1b?prefix=a", nil, "ListObjects", "b1b", "", ""},
		{"list v2", "GET", "127.0.0.1", "/b1b?list-type=2", nil, "ListObjects", "b1b", "", ""},
		{"versions", "GET", "127.0.0.1", "/b1b?versions", nil, "ListObjectVersions", "b1b", "", ""},
		{"location", "GET", "127.0.0.1", "/b1b?location", nil, "GetBucketLocation", "b1b", "", ""},
		{"get versioning", "GET", "127.0.0.1", "/b1b?versioning", nil, "GetBucketVersioning", "b1b", "", ""},
		{"put versioning", "PUT", "127.0.0.1", "/b1b?versioning", nil, "PutBucketVersioning", "b1b", "", ""},
		{"get object lock", "GET", "127.0.0.1", "/b1b?object-lock", nil, "GetObjectLockConfiguration", "b1b", "", ""},
		{"put object lock", "PUT", "b1b.localhost", "/?object-lock=", nil, "PutObjectLockConfiguration", "b1b", "", ""},
		{"delete objects", "POST", "127.0.0.1", "/b1b?delete", nil, "DeleteObjects", "b1b", "", ""},
		{"delete objects wrong method", "PUT", "127.0.0.1", "/b1b?delete", nil, "", "", "", "MethodNotAllowed"},
		{"list uploads", "GET", "127.0.0.1", "/b1b?uploads", nil, "ListMultipartUploads", "b1b", "", ""},
		{"get object", "GET", "127.0.0.1", "/b1b/a/b/c.txt", nil, "GetObject", "b1b", "a/b/c.txt", ""},
		{"get object with sdk x-id", "GET", "127.0.0.1", "/b1b/k?x-id=GetObject", nil, "GetObject", "b1b", "k", ""},
		{"get object virtual host", "GET", "b1b.s3.example.net", "/a/b", nil, "GetObject", "b1b", "a/b", ""},
		{"key with double slash", "GET", "127.0.0.1", "/b1b/a//b", nil, "GetObject", "b1b", "a//b", ""},
		{"head object", "HEAD", "127.0.0.1", "/b1b/k", nil, "HeadObject", "b1b", "k", ""},
		{"put object", "PUT", "127.0.0.1", "/b1b/k", nil, "PutObject", "b1b", "k", ""},
		{"copy object", "PUT", "127.0.0.1", "/b1b/k", http.Header{"X-Amz-Copy-Source": {"/src/k"}}, "CopyObject", "b1b", "k", ""},
		{"delete object", "DELETE", "127.0.0.1", "/b1b/k?versionId=0000000000000001", nil, "DeleteObject", "b1b", "k", ""},
		{"get retention", "GET", "127.0.0.1", "/b1b/k?retention", nil, "GetObjectRetention", "b1b", "k", ""},
		{"put retention", "PUT", "127.0.0.1", "/b1b/k?retention&versionId=x", nil, "PutObjectRetention", "b1b", "k", ""},
		{"get legal hold", "GET", "127.0.0.1", "/b1b/k?legal-hold", nil, "GetObjectLegalHold", "b1b", "k", ""},
		{"put legal hold", "PUT", "127.0.0.1", "/b1b/k?legal-hold", nil, "PutObjectLegalHold", "b1b", "k", ""},
		{"delete legal hold", "DELETE", "127.0.0.1", "/b1b/k?legal-hold", nil, "", "", "", "MethodNotAllowed"},
		{"get tagging", "GET", "127.0.0.1", "/b1b/k?tagging", nil, "GetObjectTagging", "b1b", "k", ""},
		{"put tagging", "PUT", "127.0.0.1", "/b1b/k?tagging", nil, "PutObjectTagging", "b1b", "k", ""},
		{"delete tagging", "DELETE", "127.0.0.1", "/b1b/k?tagging", nil, "DeleteObjectTagging", "b1b", "k", ""},
		{"create upload", "POST", "127.0.0.1", "/b1b/k?uploads", nil, "CreateMultipartUpload", "b1b", "k", ""},
		{"upload part", "PUT", "127.0.0.1", "/b1b/k?partNumber=1&uploadId=u", nil, "UploadPart", "b1b", "k", ""},
		{"upload part copy", "PUT", "127.0.0.1", "/b1b/k?partNumber=1&uploadId=u", http.Header{"X-Amz-Copy-Source": {"src/k"}}, "UploadPartCopy", "b1b", "k", ""},
		{"complete", "POST", "127.0.0.1", "/b1b/k?uploadId=u", nil, "CompleteMultipartUpload", "b1b", "k", ""},
		{"abort", "DELETE", "127.0.0.1", "/b1b/k?uploadId=u", nil, "AbortMultipartUpload", "b1b", "k", ""},
		{"list parts", "GET", "127.0.0.1", "/b1b/k?uploadId=u", nil, "ListParts", "b1b", "k", ""},
		{"bucket acl", "GET", "127.0.0.1", "/b1b?acl", nil, "GetBucketAcl", "b1b", "", ""},
		{"object acl put", "PUT", "127.0.0.1", "/b1b/k?acl", nil, "PutObjectAcl", "b1b", "k", ""},
		{"put policy", "PUT", "127.0.0.1", "/b1b?policy", nil, "PutBucketPolicy", "b1b", "", ""},
		{"get policy", "GET", "b1b.localhost", "/?policy", nil, "GetBucketPolicy", "b1b", "", ""},
		{"delete policy", "DELETE", "127.0.0.1", "/b1b?policy", nil, "DeleteBucketPolicy", "b1b", "", ""},
		{"policy status", "GET", "127.0.0.1", "/b1b?policyStatus", nil, "GetBucketPolicyStatus", "b1b", "", ""},
		{"policy on an object", "GET", "127.0.0.1", "/b1b/k?policy", nil, "", "", "", "InvalidRequest"},
		{"policy wrong method", "POST", "127.0.0.1", "/b1b?policy", nil, "", "", "", "MethodNotAllowed"},
		{"lifecycle", "PUT", "127.0.0.1", "/b1b?lifecycle", nil, "Putlifecycle", "b1b", "", ""},
		{"cors", "GET", "127.0.0.1", "/b1b?cors", nil, "Getcors", "b1b", "", ""},
		{"encryption", "GET", "127.0.0.1", "/b1b?encryption", nil, "Getencryption", "b1b", "", ""},
		{"website", "GET", "127.0.0.1", "/b1b?website", nil, "Getwebsite", "b1b", "", ""},
		{"bucket tagging", "GET", "127.0.0.1", "/b1b?tagging", nil, "Gettagging", "b1b", "", ""},
		{"select", "POST", "127.0.0.1", "/b1b/k?select&select-type=2", nil, "", "", "", "NotImplemented"},
		{"restore", "POST", "127.0.0.1", "/b1b/k?restore", nil, "", "", "", "NotImplemented"},
		{"torrent", "GET", "127.0.0.1", "/b1b/k?torrent", nil, "", "", "", "NotImplemented"},
		{"attributes", "GET", "127.0.0.1", "/b1b/k?attributes", nil, "GetObjectAttributes", "b1b", "k", ""},
		{"post object form", "POST", "127.0.0.1", "/b1b", nil, "", "", "", "NotImplemented"},
		{"post on object", "POST", "127.0.0.1", "/b1b/k", nil, "", "", "", "NotImplemented"},
		{"get by part number", "GET", "127.0.0.1", "/b1b/k?partNumber=1", nil, "GetObject", "b1b", "k", ""},
		{"head by part number", "HEAD", "127.0.0.1", "/b1b/k?partNumber=1", nil, "HeadObject", "b1b", "k", ""},
		{"put with part number only", "PUT", "127.0.0.1", "/b1b/k?partNumber=1", nil, "", "", "", "InvalidRequest"},
		{"retention without key", "GET", "127.0.0.1", "/b1b?retention", nil, "", "", "", "InvalidRequest"},
		{"empty bucket segment", "GET", "127.0.0.1", "//k", nil, "", "", "", "InvalidURI"},
		{"patch object", "PATCH", "127.0.0.1", "/b1b/k", nil, "", "", "", "MethodNotAllowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://"+tc.host+tc.target, nil)
			r.Host = tc.host
			for k, v := range tc.hdr {
				r.Header[k] = v
			}
			rt, err := s.route(r)
			if tc.code != "" {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Code != tc.code {
					t.Fatalf("want error %s, got route %q, err %v", tc.code, rt.op.name, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("route: %v", err)
			}
			if rt.op.name != tc.op || rt.bucket != tc.bucket || rt.key != tc.key {
				t.Fatalf("got %s %q %q, want %s %q %q", rt.op.name, rt.bucket, rt.key, tc.op, tc.bucket, tc.key)
			}
		})
	}
}

// TestRouteGrants pins the grant each kind of operation needs.
func TestRouteGrants(t *testing.T) {
	s := &Server{}
	for _, tc := range []struct {
		name, method, target string
		hdr                  http.Header
		needs                []Action
	}{
		{"get is read", "GET", "/b1b/k", nil, read},
		{"list is read", "GET", "/b1b", nil, read},
		{"get retention is read", "GET", "/b1b/k?retention", nil, read},
		{"put is write", "PUT", "/b1b/k", nil, write},
		{"delete is write", "DELETE", "/b1b/k", nil, write},
		{"lock config is write and lock", "PUT", "/b1b?object-lock", nil, writeLock},
		{"put retention is lock", "PUT", "/b1b/k?retention", nil, lock},
		{"put legal hold is lock", "PUT", "/b1b/k?legal-hold", nil, lock},
		{"copy reads and writes", "PUT", "/b1b/k", http.Header{"X-Amz-Copy-Source": {"a/b"}}, readWrite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://127.0.0.1"+tc.target, nil)
			for k, v := range tc.hdr {
				r.Header[k] = v
			}
			rt, err := s.route(r)
			if err != nil {
				t.Fatal(err)
			}
			if len(rt.op.needs) != len(tc.needs) {
				t.Fatalf("%s needs %v, want %v", rt.op.name, rt.op.needs, tc.needs)
			}
			for i := range tc.needs {
				if rt.op.needs[i] != tc.needs[i] {
					t.Fatalf("%s needs %v, want %v", rt.op.name, rt.op.needs, tc.needs)
				}
			}
		})
	}
}

// FuzzServeHTTP throws arbitrary methods, targets, headers and bodies at
// the handlers (authentication bypassed: root) over a store with a lock
// bucket and a plain one. Nothing may panic or answer 500.
func FuzzServeHTTP(f *testing.F) {
	for _, s := range []struct {
		m       uint8
		target  string
		headers string
		body    string
	}{
		{0, "/fzl/k", "", ""},
		{1, "/fzl/k", "x-amz-object-lock-mode: GOVERNANCE\nx-amz-object-lock-retain-until-date: 2030-01-01T00:00:00Z\nContent-Md5: LZVb8XyKt3mjj+7SXN0ZUw==", "x"},
		{1, "/fzl/k2", "x-amz-copy-source: fzl/k\nx-amz-metadata-directive: REPLACE", ""},
		{2, "/fzl?delete", "Content-Md5: 1B2M2Y8AsgTpgAmY7PhCfg==", "<Delete><Object><Key>k</Key></Object></Delete>"},
		{2, "/fzl/k?uploads", "x-amz-checksum-algorithm: CRC32", ""},
		{3, "/fzl/k?versionId=0000000000000001", "x-amz-bypass-governance-retention: true", ""},
		{4, "/fzp/k", "Range: bytes=-1\nIf-None-Match: *", ""},
		{0, "/fzl?versions&key-marker=k&version-id-marker=0000000000000001&max-keys=1", "", ""},
		{0, "/fzl?list-type=2&continuation-token=aw&delimiter=/&encoding-type=url", "", ""},
		{1, "/fzl/k?retention", "", "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>"},
		{0, "/fzl/k?uploadId=1&part-number-marker=2", "", ""},
	} {
		f.Add(s.m, s.target, s.headers, []byte(s.body))
	}
	e := newTestEnv(f)
	for _, b := range []struct {
		name string
		lock bool
	}{{"fzl", true}, {"fzp", false}} {
		if _, err := e.store.CreateBucket(b.name, meta.BucketOptions{ObjectLock: b.lock}, meta.Actor{Name: "test"}); err != nil {
			f.Fatal(err)
		}
		w, err := e.store.NewWriter(b.name, "k", nil)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := w.WriteAt([]byte("hello"), 0); err != nil {
			f.Fatal(err)
		}
		if _, err := w.Publish(meta.PublishOptions{}); err != nil {
			f.Fatal(err)
		}
	}
	e.srv.authenticate = func(r *http.Request) (*Principal, *Body, error) {
		b, err := newBody(r, bodyOptions{mode: payloadUnsigned})
		if err != nil {
			return nil, nil, err
		}
		return &Principal{AccessKey: "fuzz", Root: true}, b, nil
	}
	methods := []string{"GET", "PUT", "POST", "DELETE", "HEAD"}
	f.Fuzz(func(t *testing.T, m uint8, target, headers string, body []byte) {
		if !strings.HasPrefix(target, "/") || len(body) > 1<<16 {
			return
		}
		r, err := http.NewRequest(methods[int(m)%len(methods)], "http://127.0.0.1"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		for _, line := range strings.Split(headers, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || !validMetaName(strings.TrimSpace(k)) || !validMetaValue(v) {
				continue
			}
			r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, r)
		if rec.Code == http.StatusInternalServerError {
			t.Fatalf("%s %s %q: 500 %s", r.Method, target, headers, rec.Body.String())
		}
	})
}
