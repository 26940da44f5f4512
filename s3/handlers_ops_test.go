package s3

// Handler behaviour over real HTTP with raw signed requests: the status,
// code and headers a client checks, and that a refused request changes
// nothing.

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wormfs/wormfs/meta"
)

type rawResp struct {
	status int
	hdr    http.Header
	body   []byte
	code   string
}

// reqOpt changes a raw request before it is signed.
type reqOpt func(r *http.Request, cred *aws.Credentials, md5 *bool)

func header(k, v string) reqOpt {
	return func(r *http.Request, _ *aws.Credentials, _ *bool) { r.Header.Set(k, v) }
}

func as(ak, sk string) reqOpt {
	return func(_ *http.Request, c *aws.Credentials, _ *bool) { c.AccessKeyID, c.SecretAccessKey = ak, sk }
}

var noMD5 reqOpt = func(_ *http.Request, _ *aws.Credentials, m *bool) { *m = false }

// do sends a request signed (by root unless as() says otherwise) with its
// payload SHA-256 and, unless noMD5, Content-MD5.
func (e *testEnv) do(t *testing.T, method, target string, body []byte, opts ...reqOpt) rawResp {
	t.Helper()
	req, err := http.NewRequest(method, e.url+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	cred := aws.Credentials{AccessKeyID: testRootKey, SecretAccessKey: testRootSecret}
	withMD5 := true
	for _, o := range opts {
		o(req, &cred, &withMD5)
	}
	if withMD5 && len(body) > 0 {
		m := md5.Sum(body)
		req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(m[:]))
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(), cred, req, hex.EncodeToString(sum[:]), "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := rawResp{status: resp.StatusCode, hdr: resp.Header, body: data, code: resp.Header.Get("x-amz-error-code")}
	if len(data) > 0 && resp.StatusCode >= 300 {
		var eb errorBody
		if xml.Unmarshal(data, &eb) == nil {
			if eb.Code != r.code {
				t.Fatalf("error body code %q != x-amz-error-code %q", eb.Code, r.code)
			}
		}
	}
	return r
}

func (r rawResp) want(t *testing.T, status int, code string) rawResp {
	t.Helper()
	if r.status != status || r.code != code {
		t.Fatalf("want %d %q, got %d %q: %s", status, code, r.status, r.code, r.body)
	}
	return r
}

func TestHandlersObjectReads(t *testing.T) {
	e := newTestEnv(t)
	e.do(t, "PUT", "/rd1", nil).want(t, 200, "")
	e.do(t, "PUT", "/rd1?versioning", []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)).want(t, 200, "")
	put := e.do(t, "PUT", "/rd1/k", []byte("hello world"), header("Content-Type", "text/plain")).want(t, 200, "")
	etag := put.hdr.Get("ETag")
	if etag != `"5eb63bbbe01eeed093cb22bb8f5acdc3"` || put.hdr.Get("x-amz-version-id") == "" {
		t.Fatalf("PUT answer: ETag %s version %q", etag, put.hdr.Get("x-amz-version-id"))
	}
	vid := put.hdr.Get("x-amz-version-id")

	t.Run("head missing key has no body", func(t *testing.T) {
		r := e.do(t, "HEAD", "/rd1/nope", nil).want(t, 404, "NoSuchKey")
		if len(r.body) != 0 {
			t.Fatalf("HEAD body %q", r.body)
		}
	})
	t.Run("head carries the object headers", func(t *testing.T) {
		r := e.do(t, "HEAD", "/rd1/k", nil).want(t, 200, "")
		if r.hdr.Get("Content-Length") != "11" || r.hdr.Get("ETag") != etag || r.hdr.Get("Content-Type") != "text/plain" ||
			r.hdr.Get("Last-Modified") == "" || r.hdr.Get("x-amz-version-id") != vid || r.hdr.Get("x-amz-request-id") == "" {
			t.Fatalf("HEAD headers %v", r.hdr)
		}
	})
	t.Run("if-none-match gives 304 without body", func(t *testing.T) {
		r := e.do(t, "GET", "/rd1/k", nil, header("If-None-Match", etag))
		if r.status != 304 || len(r.body) != 0 || r.hdr.Get("ETag") != etag {
			t.Fatalf("got %d %q %v", r.status, r.body, r.hdr)
		}
	})
	t.Run("if-match mismatch is 412", func(t *testing.T) {
		e.do(t, "GET", "/rd1/k", nil, header("If-Match", `"00"`)).want(t, 412, "PreconditionFailed")
	})
	t.Run("if-unmodified-since in the past is 412", func(t *testing.T) {
		e.do(t, "GET", "/rd1/k", nil, header("If-Unmodified-Since", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))).want(t, 412, "PreconditionFailed")
	})
	t.Run("suffix range", func(t *testing.T) {
		r := e.do(t, "GET", "/rd1/k", nil, header("Range", "bytes=-5")).want(t, 206, "")
		if string(r.body) != "world" || r.hdr.Get("Content-Range") != "bytes 6-10/11" {
			t.Fatalf("got %q %q", r.body, r.hdr.Get("Content-Range"))
		}
	})
	t.Run("open range", func(t *testing.T) {
		r := e.do(t, "GET", "/rd1/k", nil, header("Range", "bytes=6-")).want(t, 206, "")
		if string(r.body) != "world" {
			t.Fatalf("got %q", r.body)
		}
	})
	t.Run("unsatisfiable range is 416", func(t *testing.T) {
		r := e.do(t, "GET", "/rd1/k", nil, header("Range", "bytes=50-")).want(t, 416, "InvalidRange")
		if r.hdr.Get("Content-Range") != "bytes */11" {
			t.Fatalf("Content-Range %q", r.hdr.Get("Content-Range"))
		}
	})
	t.Run("response overrides", func(t *testing.T) {
		r := e.do(t, "GET", "/rd1/k?response-content-type=application/x-test&response-content-disposition=attachment", nil).want(t, 200, "")
		if r.hdr.Get("Content-Type") != "application/x-test" || r.hdr.Get("Content-Disposition") != "attachment" {
			t.Fatalf("headers %v", r.hdr)
		}
	})
	t.Run("part number of a single-part object", func(t *testing.T) {
		r := e.do(t, "GET", "/rd1/k?partNumber=1", nil).want(t, 206, "")
		if string(r.body) != "hello world" || r.hdr.Get("Content-Range") != "bytes 0-10/11" {
			t.Fatalf("got %q %q", r.body, r.hdr.Get("Content-Range"))
		}
		e.do(t, "HEAD", "/rd1/k?partNumber=2", nil).want(t, 416, "InvalidPartNumber")
		e.do(t, "GET", "/rd1/k?partNumber=0", nil).want(t, 400, "InvalidArgument")
		e.do(t, "GET", "/rd1/k?partNumber=1", nil, header("Range", "bytes=0-1")).want(t, 400, "InvalidRequest")
	})
	t.Run("malformed version id", func(t *testing.T) {
		e.do(t, "GET", "/rd1/k?versionId=zzz", nil).want(t, 400, "InvalidArgument")
	})
	t.Run("unknown version id", func(t *testing.T) {
		e.do(t, "GET", "/rd1/k?versionId=00000000000fffff", nil).want(t, 404, "NoSuchVersion")
	})
	t.Run("delete marker", func(t *testing.T) {
		d := e.do(t, "DELETE", "/rd1/k", nil)
		if d.status != 204 || d.hdr.Get("x-amz-delete-marker") != "true" || d.hdr.Get("x-amz-version-id") == "" {
			t.Fatalf("DELETE: %d %v", d.status, d.hdr)
		}
		dm := d.hdr.Get("x-amz-version-id")
		r := e.do(t, "GET", "/rd1/k", nil).want(t, 404, "NoSuchKey")
		if r.hdr.Get("x-amz-delete-marker") != "true" {
			t.Fatalf("GET of deleted key: %v", r.hdr)
		}
		e.do(t, "GET", "/rd1/k?versionId="+dm, nil).want(t, 405, "MethodNotAllowed")
		e.do(t, "HEAD", "/rd1/k?versionId="+dm, nil).want(t, 405, "MethodNotAllowed")
		old := e.do(t, "GET", "/rd1/k?versionId="+vid, nil).want(t, 200, "")
		if string(old.body) != "hello world" {
			t.Fatalf("old version %q", old.body)
		}
		// Removing the marker brings the object back.
		e.do(t, "DELETE", "/rd1/k?versionId="+dm, nil).want(t, 204, "")
		e.do(t, "GET", "/rd1/k", nil).want(t, 200, "")
	})
	t.Run("conditional writes", func(t *testing.T) {
		e.do(t, "PUT", "/rd1/k", []byte("other"), header("If-None-Match", "*")).want(t, 412, "PreconditionFailed")
		e.do(t, "PUT", "/rd1/k", []byte("other"), header("If-Match", `"00"`)).want(t, 412, "PreconditionFailed")
		e.do(t, "PUT", "/rd1/new", []byte("v"), header("If-Match", etag)).want(t, 404, "NoSuchKey")
		e.do(t, "PUT", "/rd1/new", []byte("v"), header("If-None-Match", "*")).want(t, 200, "")
		r := e.do(t, "GET", "/rd1/k", nil).want(t, 200, "")
		if string(r.body) != "hello world" {
			t.Fatalf("a refused conditional PUT changed the object: %q", r.body)
		}
		e.do(t, "PUT", "/rd1/k", []byte("hello world"), header("If-Match", etag)).want(t, 200, "")
	})
	t.Run("deleting a missing version succeeds", func(t *testing.T) {
		e.do(t, "DELETE", "/rd1/k?versionId=00000000000fffff", nil).want(t, 204, "")
	})
}

func TestHandlersLockErrors(t *testing.T) {
	e := newTestEnv(t, User{AccessKey: "locker", SecretKey: "locker-secret", Allow: []string{"read", "write", "lock"}})
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	e.do(t, "PUT", "/plain", nil).want(t, 200, "")
	e.do(t, "PUT", "/plain/k", []byte("v")).want(t, 200, "")
	e.do(t, "PUT", "/lck", nil, header("x-amz-bucket-object-lock-enabled", "true")).want(t, 200, "")
	gov := e.do(t, "PUT", "/lck/g", []byte("v"), header("x-amz-object-lock-mode", "GOVERNANCE"), header("x-amz-object-lock-retain-until-date", future)).want(t, 200, "")
	gv := gov.hdr.Get("x-amz-version-id")
	e.do(t, "PUT", "/lck/free", []byte("v")).want(t, 200, "")

	retention := func(mode, until string) []byte {
		return []byte(`<Retention><Mode>` + mode + `</Mode><RetainUntilDate>` + until + `</RetainUntilDate></Retention>`)
	}
	for _, tc := range []struct {
		name, method, target string
		body                 []byte
		opts                 []reqOpt
		status               int
		code                 string
	}{
		{"lock headers on a bucket without lock", "PUT", "/plain/x", []byte("v"),
			[]reqOpt{header("x-amz-object-lock-mode", "GOVERNANCE"), header("x-amz-object-lock-retain-until-date", future)}, 400, "InvalidRequest"},
		{"legal hold header on a bucket without lock", "PUT", "/plain/x", []byte("v"), []reqOpt{header("x-amz-object-lock-legal-hold", "ON")}, 400, "InvalidRequest"},
		{"mode without date", "PUT", "/lck/x", []byte("v"), []reqOpt{header("x-amz-object-lock-mode", "GOVERNANCE")}, 400, "InvalidArgument"},
		{"date without mode", "PUT", "/lck/x", []byte("v"), []reqOpt{header("x-amz-object-lock-retain-until-date", future)}, 400, "InvalidArgument"},
		{"unknown mode", "PUT", "/lck/x", []byte("v"), []reqOpt{header("x-amz-object-lock-mode", "FOREVER"), header("x-amz-object-lock-retain-until-date", future)}, 400, "InvalidArgument"},
		{"date in the past", "PUT", "/lck/x", []byte("v"), []reqOpt{header("x-amz-object-lock-mode", "GOVERNANCE"), header("x-amz-object-lock-retain-until-date", "2001-01-01T00:00:00Z")}, 400, "InvalidArgument"},
		{"lock headers without Content-MD5", "PUT", "/lck/x", []byte("v"), []reqOpt{noMD5, header("x-amz-object-lock-mode", "GOVERNANCE"), header("x-amz-object-lock-retain-until-date", future)}, 400, "InvalidRequest"},
		{"bypass header on a bucket without lock", "DELETE", "/plain/k", nil, []reqOpt{header("x-amz-bypass-governance-retention", "true")}, 400, "InvalidArgument"},
		{"retention on a bucket without lock", "PUT", "/plain/k?retention", retention("GOVERNANCE", future), nil, 400, "InvalidRequest"},
		{"get retention on a bucket without lock", "GET", "/plain/k?retention", nil, nil, 400, "InvalidRequest"},
		{"legal hold on a bucket without lock", "PUT", "/plain/k?legal-hold", []byte(`<LegalHold><Status>ON</Status></LegalHold>`), nil, 400, "InvalidRequest"},
		{"lock configuration of a bucket without lock", "GET", "/plain?object-lock", nil, nil, 404, "ObjectLockConfigurationNotFoundError"},
		{"lock configuration when versioning is off", "PUT", "/plain?object-lock", []byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`), nil, 409, "InvalidBucketState"},
		{"lock configuration without Content-MD5", "PUT", "/lck?object-lock", []byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`), []reqOpt{noMD5}, 400, "InvalidRequest"},
		{"lock configuration with days and years", "PUT", "/lck?object-lock", []byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`), nil, 400, "MalformedXML"},
		{"lock configuration with zero days", "PUT", "/lck?object-lock", []byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>`), nil, 400, "InvalidRetentionPeriod"},
		{"lock configuration beyond the maximum", "PUT", "/lck?object-lock", []byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>1000</Years></DefaultRetention></Rule></ObjectLockConfiguration>`), nil, 400, "InvalidRetentionPeriod"},
		{"malformed retention", "PUT", "/lck/g?retention", []byte(`<Retention><Mode>GOVERNANCE</Mode>`), nil, 400, "MalformedXML"},
		{"retention never set", "GET", "/lck/free?retention", nil, nil, 404, "NoSuchObjectLockConfiguration"},
		{"legal hold never set", "GET", "/lck/free?legal-hold", nil, nil, 404, "NoSuchObjectLockConfiguration"},
		{"retention in the past", "PUT", "/lck/free?retention", retention("GOVERNANCE", "2001-01-01T00:00:00Z"), nil, 400, "InvalidArgument"},
		{"shorten governance without bypass", "PUT", "/lck/g?retention&versionId=" + gv, retention("GOVERNANCE", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), nil, 403, "AccessDenied"},
		{"shorten governance, bypass header without the grant", "PUT", "/lck/g?retention&versionId=" + gv, retention("GOVERNANCE", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)),
			[]reqOpt{as("locker", "locker-secret"), header("x-amz-bypass-governance-retention", "true")}, 403, "AccessDenied"},
		{"delete governance version without bypass", "DELETE", "/lck/g?versionId=" + gv, nil, nil, 403, "AccessDenied"},
		{"delete governance version, bypass header without the grant", "DELETE", "/lck/g?versionId=" + gv, nil,
			[]reqOpt{as("locker", "locker-secret"), header("x-amz-bypass-governance-retention", "true")}, 403, "AccessDenied"},
		{"delete objects without Content-MD5", "POST", "/lck?delete", []byte(`<Delete><Object><Key>free</Key></Object></Delete>`), []reqOpt{noMD5}, 400, "InvalidRequest"},
		{"unknown subresource", "GET", "/lck?analytics", nil, nil, 501, "NotImplemented"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.store.Get("lck", "g", gv)
			e.do(t, tc.method, tc.target, tc.body, tc.opts...).want(t, tc.status, tc.code)
			after, err := e.store.Get("lck", "g", gv)
			if err != nil || after.RetMode != before.RetMode || !after.RetUntil.Equal(before.RetUntil) {
				t.Fatalf("the refused request changed the locked version: %+v -> %+v (%v)", before, after, err)
			}
		})
	}

	t.Run("retention calls on a delete marker", func(t *testing.T) {
		d := e.do(t, "DELETE", "/lck/free", nil).want(t, 204, "")
		dm := d.hdr.Get("x-amz-version-id")
		e.do(t, "GET", "/lck/free?retention", nil).want(t, 405, "MethodNotAllowed")
		e.do(t, "PUT", "/lck/free?retention&versionId="+dm, retention("GOVERNANCE", future)).want(t, 405, "MethodNotAllowed")
		e.do(t, "PUT", "/lck/free?legal-hold&versionId="+dm, []byte(`<LegalHold><Status>ON</Status></LegalHold>`)).want(t, 405, "MethodNotAllowed")
	})
	t.Run("root bypass shortens governance", func(t *testing.T) {
		soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		e.do(t, "PUT", "/lck/g?retention&versionId="+gv, retention("GOVERNANCE", soon.Format(time.RFC3339)), header("x-amz-bypass-governance-retention", "true")).want(t, 200, "")
		r := e.do(t, "GET", "/lck/g?retention&versionId="+gv, nil).want(t, 200, "")
		want := `<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>GOVERNANCE</Mode><RetainUntilDate>` + xmlTime(soon) + `</RetainUntilDate></Retention>`
		if !strings.HasSuffix(string(r.body), want) {
			t.Fatalf("retention %s", r.body)
		}
		h := e.do(t, "HEAD", "/lck/g?versionId="+gv, nil).want(t, 200, "")
		if h.hdr.Get("x-amz-object-lock-mode") != "GOVERNANCE" || h.hdr.Get("x-amz-object-lock-retain-until-date") != xmlTime(soon) {
			t.Fatalf("HEAD lock headers %v", h.hdr)
		}
	})
	t.Run("lock configuration on an existing versioned bucket", func(t *testing.T) {
		e.do(t, "PUT", "/later", nil).want(t, 200, "")
		e.do(t, "PUT", "/later?versioning", []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)).want(t, 200, "")
		e.do(t, "PUT", "/later?object-lock", []byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>60</Days></DefaultRetention></Rule></ObjectLockConfiguration>`)).want(t, 200, "")
		r := e.do(t, "GET", "/later?object-lock", nil).want(t, 200, "")
		if !strings.Contains(string(r.body), `<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>60</Days></DefaultRetention></Rule>`) {
			t.Fatalf("configuration %s", r.body)
		}
		// Default retention without Content-MD5 is refused; with it the
		// version gets 60 days.
		e.do(t, "PUT", "/later/x", []byte("v"), noMD5).want(t, 400, "InvalidRequest")
		e.do(t, "HEAD", "/later/x", nil).want(t, 404, "NoSuchKey")
		e.do(t, "PUT", "/later/x", []byte("v")).want(t, 200, "")
		h := e.do(t, "HEAD", "/later/x", nil).want(t, 200, "")
		if h.hdr.Get("x-amz-object-lock-mode") != "GOVERNANCE" {
			t.Fatalf("default retention not stamped: %v", h.hdr)
		}
		e.do(t, "PUT", "/later?versioning", []byte(`<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`)).want(t, 409, "InvalidBucketState")
	})
}

func TestHandlersGrants(t *testing.T) {
	e := newTestEnv(t,
		User{AccessKey: "reader", SecretKey: "reader-secret", Allow: []string{"read"}},
		User{AccessKey: "writer", SecretKey: "writer-secret", Allow: []string{"read", "write"}},
		User{AccessKey: "bypasser", SecretKey: "bypasser-secret", Allow: []string{"read", "write", "bypass-governance"}},
	)
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	e.do(t, "PUT", "/grt", nil, header("x-amz-bucket-object-lock-enabled", "true")).want(t, 200, "")
	g := e.do(t, "PUT", "/grt/g", []byte("v"), header("x-amz-object-lock-mode", "GOVERNANCE"), header("x-amz-object-lock-retain-until-date", future)).want(t, 200, "")
	gv := g.hdr.Get("x-amz-version-id")
	reader, writer, bypasser := as("reader", "reader-secret"), as("writer", "writer-secret"), as("bypasser", "bypasser-secret")

	e.do(t, "GET", "/grt/g", nil, reader).want(t, 200, "")
	e.do(t, "GET", "/grt?list-type=2", nil, reader).want(t, 200, "")
	e.do(t, "PUT", "/grt/r", []byte("v"), reader).want(t, 403, "AccessDenied")
	e.do(t, "DELETE", "/grt/g", nil, reader).want(t, 403, "AccessDenied")
	e.do(t, "PUT", "/newb", nil, reader).want(t, 403, "AccessDenied")
	e.do(t, "PUT", "/grt/w", []byte("v"), writer).want(t, 200, "")
	e.do(t, "PUT", "/grt/w", []byte("v"), writer, header("x-amz-object-lock-legal-hold", "ON")).want(t, 403, "AccessDenied")
	e.do(t, "PUT", "/grt/w?legal-hold", []byte(`<LegalHold><Status>ON</Status></LegalHold>`), writer).want(t, 403, "AccessDenied")
	e.do(t, "DELETE", "/grt/g?versionId="+gv, nil, writer, header("x-amz-bypass-governance-retention", "true")).want(t, 403, "AccessDenied")
	e.do(t, "DELETE", "/grt/g?versionId="+gv, nil, bypasser).want(t, 403, "AccessDenied")
	if _, err := e.store.Get("grt", "g", gv); err != nil {
		t.Fatalf("protected version gone: %v", err)
	}
	e.do(t, "DELETE", "/grt/g?versionId="+gv, nil, bypasser, header("x-amz-bypass-governance-retention", "true")).want(t, 204, "")
	if _, err := e.store.Get("grt", "g", gv); err == nil {
		t.Fatal("bypass delete left the version")
	}
}

func TestHandlersPutIntegrityFailureStoresNothing(t *testing.T) {
	e := newTestEnv(t)
	e.do(t, "PUT", "/intg", nil).want(t, 200, "")
	body := bytes.Repeat([]byte("z"), 3*meta.ChunkSize+17)
	wrong := md5.Sum([]byte("something else"))
	e.do(t, "PUT", "/intg/k", body, noMD5, header("Content-MD5", base64.StdEncoding.EncodeToString(wrong[:]))).want(t, 400, "BadDigest")
	e.do(t, "HEAD", "/intg/k", nil).want(t, 404, "NoSuchKey")
	st, err := e.store.Stats()
	if err != nil || st.StagedChunks != 0 || st.Chunks != 0 {
		t.Fatalf("after a refused PUT: %+v %v", st, err)
	}
	e.do(t, "PUT", "/intg/k", body).want(t, 200, "")
	r := e.do(t, "GET", "/intg/k", nil).want(t, 200, "")
	if !bytes.Equal(r.body, body) {
		t.Fatalf("read back %d bytes", len(r.body))
	}
}

func TestHandlersCopyAndLists(t *testing.T) {
	e := newTestEnv(t)
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	e.do(t, "PUT", "/cpy", nil, header("x-amz-bucket-object-lock-enabled", "true")).want(t, 200, "")
	e.do(t, "PUT", "/cpy/src", []byte("data"), header("x-amz-object-lock-mode", "COMPLIANCE"), header("x-amz-object-lock-retain-until-date", future),
		header("x-amz-meta-a", "1"), header("Content-Type", "text/a")).want(t, 200, "")

	c := e.do(t, "PUT", "/cpy/dst", nil, header("x-amz-copy-source", "/cpy/src")).want(t, 200, "")
	if !strings.Contains(string(c.body), "<CopyObjectResult") || c.hdr.Get("x-amz-copy-source-version-id") == "" {
		t.Fatalf("copy answer %s %v", c.body, c.hdr)
	}
	h := e.do(t, "HEAD", "/cpy/dst", nil).want(t, 200, "")
	if h.hdr.Get("x-amz-object-lock-mode") != "" || h.hdr.Get("x-amz-meta-a") != "1" || h.hdr.Get("Content-Type") != "text/a" {
		t.Fatalf("copy took the lock or lost the metadata: %v", h.hdr)
	}
	e.do(t, "PUT", "/cpy/dst2", nil, header("x-amz-copy-source", "cpy/src"), header("x-amz-metadata-directive", "REPLACE"), header("x-amz-meta-b", "2")).want(t, 200, "")
	h = e.do(t, "HEAD", "/cpy/dst2", nil).want(t, 200, "")
	if h.hdr.Get("x-amz-meta-a") != "" || h.hdr.Get("x-amz-meta-b") != "2" {
		t.Fatalf("REPLACE: %v", h.hdr)
	}
	e.do(t, "PUT", "/cpy/src", nil, header("x-amz-copy-source", "cpy/src")).want(t, 400, "InvalidRequest")
	e.do(t, "PUT", "/cpy/dst3", nil, header("x-amz-copy-source", "cpy/src"), header("x-amz-copy-source-if-match", `"nope"`)).want(t, 412, "PreconditionFailed")
	e.do(t, "PUT", "/cpy/dst3", nil, header("x-amz-copy-source", "cpy/missing")).want(t, 404, "NoSuchKey")

	for _, k := range []string{"a/1", "a/2", "b/1", "c", "d e"} {
		e.do(t, "PUT", "/cpy/"+strings.ReplaceAll(k, " ", "%20"), []byte("x")).want(t, 200, "")
	}
	var v1 listBucketResult
	r := e.do(t, "GET", "/cpy?delimiter=/&max-keys=2", nil).want(t, 200, "")
	if err := xml.Unmarshal(r.body, &v1); err != nil {
		t.Fatal(err)
	}
	if !v1.IsTruncated || v1.NextMarker != "b/" || len(v1.CommonPrefixes) != 2 {
		t.Fatalf("v1 page 1: %s", r.body)
	}
	r = e.do(t, "GET", "/cpy?delimiter=/&max-keys=2&marker=b/", nil).want(t, 200, "")
	v1 = listBucketResult{}
	if err := xml.Unmarshal(r.body, &v1); err != nil {
		t.Fatal(err)
	}
	if len(v1.Contents) != 2 || v1.Contents[0].Key != "c" || v1.Contents[1].Key != "d e" || !v1.IsTruncated {
		t.Fatalf("v1 page 2: %s", r.body)
	}
	r = e.do(t, "GET", "/cpy?list-type=2&prefix=d+&encoding-type=url", nil).want(t, 200, "")
	if !strings.Contains(string(r.body), "<Key>d%20e</Key>") || !strings.Contains(string(r.body), "<Prefix>d%20</Prefix>") || !strings.Contains(string(r.body), "<EncodingType>url</EncodingType>") ||
		!strings.Contains(string(r.body), "<KeyCount>1</KeyCount>") {
		t.Fatalf("v2 url encoding: %s", r.body)
	}
	r = e.do(t, "GET", "/cpy?versions&prefix=src", nil).want(t, 200, "")
	if strings.Contains(string(r.body), "ObjectLock") || strings.Contains(string(r.body), "Retention") || !strings.Contains(string(r.body), "<IsLatest>true</IsLatest>") {
		t.Fatalf("versions: %s", r.body)
	}
	e.do(t, "GET", "/cpy?versions&version-id-marker=0000000000000001", nil).want(t, 400, "InvalidArgument")
	e.do(t, "GET", "/cpy?max-keys=-1", nil).want(t, 400, "InvalidArgument")
	e.do(t, "GET", "/cpy?list-type=2&continuation-token=***", nil).want(t, 400, "InvalidArgument")
	e.do(t, "GET", "/nosuchbucket?list-type=2", nil).want(t, 404, "NoSuchBucket")
}

func TestHandlersPanicIsInternalError(t *testing.T) {
	e := newTestEnv(t)
	e.srv.authenticate = func(*http.Request) (*Principal, *Body, error) { panic("boom") }
	req, _ := http.NewRequest("GET", e.url+"/", nil)
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 || resp.Header.Get("x-amz-error-code") != "InternalError" {
		t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("x-amz-error-code"))
	}
}

func TestHandlersAnonymousIsRefused(t *testing.T) {
	e := newTestEnv(t)
	for _, target := range []string{"/", "/b1b", "/b1b/k", "/b1b?acl"} {
		resp, err := e.hc.Get(e.url + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("x-amz-error-code") != "AccessDenied" {
			t.Fatalf("%s: got %d %q", target, resp.StatusCode, resp.Header.Get("x-amz-error-code"))
		}
	}
}

// TestSDKVirtualHostStyle runs the SDK with virtual-host addressing
// (bucket.localhost:PORT), every connection dialled to the test listener.
func TestSDKVirtualHostStyle(t *testing.T) {
	e := newTestEnv(t)
	addr := strings.TrimPrefix(e.url, "https://")
	_, port, _ := net.SplitHostPort(addr)
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the httptest certificate names 127.0.0.1
	}}
	c := awss3.New(awss3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("https://localhost:" + port), UsePathStyle: false,
		Credentials: credentials.NewStaticCredentialsProvider(testRootKey, testRootSecret, ""), HTTPClient: hc,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
	ctx := context.Background()
	seen := ""
	e.srv.authenticate = func(inner func(*http.Request) (*Principal, *Body, error)) func(*http.Request) (*Principal, *Body, error) {
		return func(r *http.Request) (*Principal, *Body, error) {
			seen = r.Host
			return inner(r)
		}
	}(e.srv.authenticate)
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("vhost")}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(seen, "vhost.localhost") {
		t.Fatalf("the SDK did not use virtual-host style: Host %q", seen)
	}
	if _, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("a/b.txt"), Body: strings.NewReader("vh")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("vhost")})
	if err != nil || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "a/b.txt" {
		t.Fatalf("list: %+v %v", out, err)
	}
	if _, err := e.store.Get("vhost", "a/b.txt", ""); err != nil {
		t.Fatalf("object not in bucket vhost: %v", err)
	}
}

// TestHandlersClientDisconnectPublishesNothing cuts a PUT off in the
// middle: nothing is published and nothing staged stays behind.
func TestHandlersClientDisconnectPublishesNothing(t *testing.T) {
	e := newTestEnv(t)
	e.do(t, "PUT", "/dis", nil).want(t, 200, "")
	// A listener of its own, to know when the handler has returned.
	done := make(chan struct{})
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		e.srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	req, err := http.NewRequest("PUT", hs.URL+"/dis/k", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 16 << 20
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: testRootKey, SecretAccessKey: testRootSecret}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	req.Body = io.NopCloser(bytes.NewReader(make([]byte, 9<<20))) // 9 of the 16 MiB announced: some chunks get staged
	conn, err := tls.Dial("tcp", strings.TrimPrefix(hs.URL, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = req.Write(conn) // fails: the body is shorter than Content-Length
	conn.Close()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the handler did not return after the client went away")
	}
	st, err := e.store.Stats()
	if err != nil {
		t.Fatal(err)
	}
	_, gerr := e.store.Get("dis", "k", "")
	if st.StagedChunks != 0 || st.Chunks != 0 || gerr == nil {
		t.Fatalf("after a cut-off PUT: stats %+v, get error %v", st, gerr)
	}
}
