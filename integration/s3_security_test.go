package integration

// Hostile requests against the listener: each is refused with the right S3
// error, answered within a bounded time, and leaves the store unchanged
// (the digest of buckets, versions, uploads, chunks and audit log before
// and after).

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const secBucket = "sec-bucket"

func TestS3Security(t *testing.T) {
	e := testS3With(t, grantUsers)
	e.lockBucket(t, secBucket)
	e.lockBucket(t, "sec-other")
	vid := e.put(t, secBucket, "obj", "original content")
	e.put(t, "sec-other", "secret", "other bucket's secret")
	held := e.put(t, secBucket, "held", "held", func(in *s3.PutObjectInput) { in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn })
	_ = held
	host := strings.TrimPrefix(e.PlainURL, "http://")

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"no auth/GET object", func(t *testing.T) {
			resp, err := http.Get(e.PlainURL + "/" + secBucket + "/obj")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>AccessDenied</Code>") {
				t.Fatalf("anonymous GET: %d %s, want 403 AccessDenied", resp.StatusCode, body)
			}
			if strings.Contains(string(body), "original content") {
				t.Fatalf("anonymous GET leaked the object")
			}
		}},
		{"no auth/ListBuckets and ListObjects", func(t *testing.T) {
			for _, p := range []string{"/", "/" + secBucket, "/" + secBucket + "?versions"} {
				resp, err := http.Get(e.PlainURL + p)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>AccessDenied</Code>") {
					t.Errorf("anonymous GET %s: %d %s, want 403 AccessDenied", p, resp.StatusCode, body)
				}
				if strings.Contains(string(body), "obj") && strings.Contains(string(body), "<Key>") {
					t.Errorf("anonymous GET %s leaked a listing: %s", p, body)
				}
			}
		}},
		{"no auth/PUT, DELETE, PUT retention", func(t *testing.T) {
			for _, c := range []struct{ method, path, query, body string }{
				{"PUT", "/" + secBucket + "/obj", "", "anonymous overwrite"},
				{"PUT", "/anon-bucket", "", ""},
				{"DELETE", "/" + secBucket + "/obj", "versionId=" + vid, ""},
				{"DELETE", "/" + secBucket + "/obj", "", ""},
				{"PUT", "/" + secBucket + "/held", "legal-hold=", "<LegalHold><Status>OFF</Status></LegalHold>"},
			} {
				refusedRaw(t, e, 403, "AccessDenied", func() *rawResp {
					return do(t, e.rawRequest(t, c.method, c.path, c.query, []byte(c.body), nil))
				})
			}
		}},
		{"wrong secret/403 SignatureDoesNotMatch", func(t *testing.T) {
			refusedRaw(t, e, 403, "SignatureDoesNotMatch", func() *rawResp {
				body := []byte("wrong secret overwrite")
				req := e.rawRequest(t, "PUT", "/"+secBucket+"/obj", "", body, nil)
				sign(t, req, rootAccessKey, rootSecretKey+"x", sha256Hex(body), time.Now())
				return do(t, req)
			})
			refusedRaw(t, e, 403, "SignatureDoesNotMatch", func() *rawResp {
				req := e.rawRequest(t, "DELETE", "/"+secBucket+"/obj", "versionId="+vid, nil, nil)
				sign(t, req, grantUsers[3].AccessKey, "not-the-bypass-secret", sha256Hex(nil), time.Now())
				return do(t, req)
			})
		}},
		{"tampered body/400 XAmzContentSHA256Mismatch", func(t *testing.T) {
			signed := []byte("the body that was signed")
			sent := []byte("the body that was SENT!!")
			refusedRaw(t, e, 400, "XAmzContentSHA256Mismatch", func() *rawResp {
				req := e.rawRequest(t, "PUT", "/"+secBucket+"/obj", "", sent, nil)
				sign(t, req, rootAccessKey, rootSecretKey, sha256Hex(signed), time.Now())
				return do(t, req)
			})
		}},
		{"tampered body with Content-MD5/400 BadDigest", func(t *testing.T) {
			signed := []byte("unsigned payload, md5 of this")
			sent := []byte("unsigned payload, md5 of THIS")
			refusedRaw(t, e, 400, "BadDigest", func() *rawResp {
				req := e.rawRequest(t, "PUT", "/"+secBucket+"/obj", "", sent, http.Header{"Content-Md5": {md5b64(signed)}})
				sign(t, req, rootAccessKey, rootSecretKey, "UNSIGNED-PAYLOAD", time.Now())
				return do(t, req)
			})
		}},
		{"tampered aws-chunked body with CRC32 trailer (SDK over TLS)/400 BadDigest", func(t *testing.T) {
			// The SDK signs and frames the body; the bytes are changed on
			// the wire after that (same length).
			c := e.client(rootAccessKey, rootSecretKey, func(o *s3.Options) {
				o.HTTPClient = &tamperClient{inner: e.httpClient(), old: "SECRET", new: "XXXXXX"}
				o.RetryMaxAttempts = 1
			})
			refused(t, e, 400, "BadDigest", func() error {
				_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(secBucket), Key: aws.String("obj"),
					Body: strings.NewReader("a body with a SECRET in it")})
				return err
			})
			cr, err := e.Client.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{Bucket: aws.String(secBucket), Key: aws.String("mp-tamper")})
			must(t, err, "CreateMultipartUpload")
			t.Cleanup(func() {
				e.Client.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: aws.String(secBucket), Key: aws.String("mp-tamper"), UploadId: cr.UploadId})
			})
			refused(t, e, 400, "BadDigest", func() error {
				_, err := c.UploadPart(t.Context(), &s3.UploadPartInput{Bucket: aws.String(secBucket), Key: aws.String("mp-tamper"), UploadId: cr.UploadId,
					PartNumber: aws.Int32(1), Body: strings.NewReader("a part with a SECRET in it")})
				return err
			})
		}},
		{"tampered body (SDK over plain HTTP, signed payload hash)/400", func(t *testing.T) {
			c := e.client(rootAccessKey, rootSecretKey, func(o *s3.Options) {
				o.BaseEndpoint = aws.String(e.PlainURL)
				o.HTTPClient = &tamperClient{inner: e.httpClient(), old: "SECRET", new: "XXXXXX"}
				o.RetryMaxAttempts = 1
			})
			before := storeDigest(t, e.Store)
			_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(secBucket), Key: aws.String("obj"),
				Body: strings.NewReader("a body with a SECRET in it")})
			// Both the signed SHA-256 and the CRC32 header are wrong now;
			// either refusal is right.
			code, status := apiErr(err)
			if status != 400 || code != "XAmzContentSHA256Mismatch" && code != "BadDigest" {
				t.Errorf("tampered plain PUT: %d %q (%v), want 400 XAmzContentSHA256Mismatch or BadDigest", status, code, err)
			}
			assertUnchanged(t, e.Store, before)
		}},
		{"tampered signed header/403 SignatureDoesNotMatch", func(t *testing.T) {
			refusedRaw(t, e, 403, "SignatureDoesNotMatch", func() *rawResp {
				body := []byte("signed header body")
				req := e.rawRequest(t, "PUT", "/"+secBucket+"/obj", "", body, http.Header{"X-Amz-Meta-Owner": {"alice"}})
				sign(t, req, rootAccessKey, rootSecretKey, sha256Hex(body), time.Now())
				req.Header.Set("X-Amz-Meta-Owner", "mallory")
				return do(t, req)
			})
			refusedRaw(t, e, 403, "SignatureDoesNotMatch", func() *rawResp {
				// Signed as a DELETE that adds a marker, sent with a versionId
				// (a permanent delete): the query is signed too.
				req := e.rawRequest(t, "DELETE", "/"+secBucket+"/obj", "", nil, nil)
				sign(t, req, rootAccessKey, rootSecretKey, sha256Hex(nil), time.Now())
				req.URL.RawQuery = "versionId=" + vid
				return do(t, req)
			})
		}},
		{"expired presigned URL/403 AccessDenied", func(t *testing.T) {
			signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
			presign := func(method, path string, at time.Time) (string, http.Header) {
				req, err := http.NewRequest(method, e.PlainURL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.URL.RawQuery = "X-Amz-Expires=60"
				u, h, err := signer.PresignHTTP(t.Context(), aws.Credentials{AccessKeyID: rootAccessKey, SecretAccessKey: rootSecretKey},
					req, "UNSIGNED-PAYLOAD", "s3", testRegion, at)
				if err != nil {
					t.Fatal(err)
				}
				return u, h
			}
			// Control: a fresh presigned GET works.
			u, h := presign("GET", "/"+secBucket+"/obj", time.Now())
			if r := presignedDo(t, "GET", u, h, nil); r.Status != 200 || string(r.Body) != "original content" {
				t.Fatalf("fresh presigned GET: %d %q", r.Status, r.Body)
			}
			u, h = presign("PUT", "/"+secBucket+"/presigned-ok", time.Now())
			if r := presignedDo(t, "PUT", u, h, []byte("presigned")); r.Status != 200 {
				t.Fatalf("fresh presigned PUT: %d %s", r.Status, r.Body)
			}
			if got := e.getBody(t, secBucket, "presigned-ok", ""); got != "presigned" {
				t.Fatalf("fresh presigned PUT stored %q", got)
			}
			u, h = presign("GET", "/"+secBucket+"/obj", time.Now().Add(-time.Hour))
			r := presignedDo(t, "GET", u, h, nil)
			wantRaw(t, r, 403, "AccessDenied")
			u, h = presign("PUT", "/"+secBucket+"/obj", time.Now().Add(-time.Hour))
			refusedRaw(t, e, 403, "AccessDenied", func() *rawResp { return presignedDo(t, "PUT", u, h, []byte("late write")) })
			u, h = presign("DELETE", "/"+secBucket+"/obj", time.Now().Add(-2*time.Minute))
			refusedRaw(t, e, 403, "AccessDenied", func() *rawResp { return presignedDo(t, "DELETE", u, h, nil) })
		}},
		{"presigned URL with a tampered query/403 SignatureDoesNotMatch", func(t *testing.T) {
			pc := s3.NewPresignClient(e.plainClient(rootAccessKey, rootSecretKey))
			p, err := pc.PresignGetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(secBucket), Key: aws.String("obj")})
			must(t, err, "PresignGetObject")
			u, _ := url.Parse(p.URL)
			u.Path = "/sec-other/secret"
			r := presignedDo(t, "GET", u.String(), p.SignedHeader, nil)
			wantRaw(t, r, 403, "SignatureDoesNotMatch")
		}},
		{"key with .. segments or NUL/400", func(t *testing.T) {
			for _, p := range []string{
				"/" + secBucket + "/../sec-other/secret",
				"/" + secBucket + "/a/../../sec-other/secret",
				"/" + secBucket + "/a/../obj",
				"/" + secBucket + "/..",
				"/" + secBucket + "/a/./b",
				"/" + secBucket + "/%2e%2e/sec-other/secret",
				"/" + secBucket + "/a/%2E%2E/%2E%2E/sec-other/x",
				"/" + secBucket + "/..%2fsec-other%2fsecret",
				"/" + secBucket + "/a%00b",
				"/" + secBucket + "/%00",
			} {
				for _, method := range []string{"PUT", "GET", "DELETE"} {
					t.Run(method+" "+p, func(t *testing.T) {
						before := storeDigest(t, e.Store)
						var body []byte
						if method == "PUT" {
							body = []byte("escaped!")
						}
						r := e.rawSigned(t, method, p, "", body, nil)
						// A write is refused as a bad key; a read may also answer
						// NoSuchKey (such a key cannot exist), as long as it
						// never reads outside the bucket.
						bad := r.Status == 400 && (r.Code == "InvalidArgument" || r.Code == "InvalidURI")
						if method == "GET" && r.Status == 404 && r.Code == "NoSuchKey" {
							bad = true
						}
						if !bad {
							t.Errorf("%s %s: %d %q (%s), want 400 InvalidArgument/InvalidURI", method, p, r.Status, r.Code, tailString(string(r.Body), 300))
						}
						if strings.Contains(string(r.Body), "secret") && strings.Contains(string(r.Body), "other bucket") {
							t.Errorf("%s %s read another bucket: %s", method, p, r.Body)
						}
						assertUnchanged(t, e.Store, before)
					})
				}
			}
		}},
		{"Content-Length 10 GiB with no body", func(t *testing.T) {
			const huge = int64(10) << 30
			cases := []struct {
				name      string
				signed    bool
				send      string
				closeSend bool
				statuses  []int
				codes     []string
			}{
				// AWS refuses a single PUT over 5 GiB before reading the body.
				{"signed, headers only, connection kept open", true, "", false, []int{400}, []string{"EntityTooLarge"}},
				{"signed, a few bytes then half-close", true, "only a few bytes", true, []int{400}, []string{"EntityTooLarge", "IncompleteBody"}},
				{"unsigned, headers only", false, "", false, []int{403, 400}, []string{"AccessDenied", "EntityTooLarge"}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before := storeDigest(t, e.Store)
					req := e.rawRequest(t, "PUT", "/"+secBucket+"/huge", "", nil, nil)
					req.ContentLength = huge
					if c.signed {
						sign(t, req, rootAccessKey, rootSecretKey, "UNSIGNED-PAYLOAD", time.Now())
					}
					status, code, err := rawTCP(host, req, huge, c.send, c.closeSend, 15*time.Second)
					if err != nil {
						t.Fatalf("no answer within 15 s: %v", err)
					}
					if !containsInt(c.statuses, status) || !contains(c.codes, code) {
						t.Errorf("answer %d %q, want status in %v and code in %v", status, code, c.statuses, c.codes)
					}
					assertUnchanged(t, e.Store, before)
				})
			}
			// A body cut off half way: no version, no staged data left.
			t.Run("signed, 3 of 8 MiB sent, then the connection dropped", func(t *testing.T) {
				before := storeDigest(t, e.Store)
				req := e.rawRequest(t, "PUT", "/"+secBucket+"/cut", "", nil, nil)
				req.ContentLength = 8 << 20
				sign(t, req, rootAccessKey, rootSecretKey, "UNSIGNED-PAYLOAD", time.Now())
				seen := e.seen.Load()
				conn, err := net.DialTimeout("tcp", host, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				fmt.Fprintf(&b, "PUT %s HTTP/1.1\r\nHost: %s\r\n", req.URL.RequestURI(), host)
				for k, vs := range req.Header {
					for _, v := range vs {
						fmt.Fprintf(&b, "%s: %s\r\n", k, v)
					}
				}
				fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", 8<<20)
				conn.SetDeadline(time.Now().Add(15 * time.Second))
				if _, err := io.WriteString(conn, b.String()); err != nil {
					t.Fatal(err)
				}
				if _, err := conn.Write(bytes.Repeat([]byte("cut-off "), 3<<20/8)); err != nil {
					t.Fatal(err)
				}
				conn.Close()
				e.waitIdle(t, seen) // the listener has read what came and given up
				assertUnchanged(t, e.Store, before)
				if _, err := e.Store.Get(secBucket, "cut", ""); err == nil {
					t.Fatal("a version of the cut-off PUT exists")
				}
			})
			// The listener still serves.
			if got := e.getBody(t, secBucket, "obj", ""); got != "original content" {
				t.Fatalf("after the huge PUTs obj = %q", got)
			}
		}},
		{"user without the needed grant/403 AccessDenied", func(t *testing.T) {
			reader := e.client(grantUsers[0].AccessKey, grantUsers[0].SecretKey)
			writer := e.client(grantUsers[1].AccessKey, grantUsers[1].SecretKey)
			refused(t, e, 403, "AccessDenied", func() error {
				_, err := reader.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(secBucket), Key: aws.String("obj"), Body: strings.NewReader("reader write")})
				return err
			})
			// DeleteObjects by a reader: refused as a whole, or (as AWS does)
			// 200 with AccessDenied for every key; either way nothing changes.
			before := storeDigest(t, e.Store)
			out, err := reader.DeleteObjects(t.Context(), &s3.DeleteObjectsInput{Bucket: aws.String(secBucket), Delete: &types.Delete{
				Objects: []types.ObjectIdentifier{{Key: aws.String("obj")}, {Key: aws.String("obj"), VersionId: aws.String(vid)}}}})
			if err == nil {
				if len(out.Deleted) != 0 || len(out.Errors) != 2 {
					t.Errorf("reader DeleteObjects: Deleted %+v Errors %+v, want 2 AccessDenied errors", out.Deleted, out.Errors)
				}
				for _, er := range out.Errors {
					if aws.ToString(er.Code) != "AccessDenied" {
						t.Errorf("reader DeleteObjects error %+v, want AccessDenied", er)
					}
				}
			} else {
				wantErr(t, err, 403, "AccessDenied")
			}
			assertUnchanged(t, e.Store, before)
			refused(t, e, 403, "AccessDenied", func() error {
				_, err := writer.PutObjectLegalHold(t.Context(), &s3.PutObjectLegalHoldInput{Bucket: aws.String(secBucket), Key: aws.String("held"),
					LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff}})
				return err
			})
			refused(t, e, 403, "AccessDenied", func() error {
				_, err := writer.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(secBucket), Key: aws.String("held"),
					VersionId: aws.String(held), BypassGovernanceRetention: aws.Bool(true)})
				return err
			})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
	if got := e.getBody(t, secBucket, "obj", vid); got != "original content" {
		t.Fatalf("obj@%s = %q after the attacks", vid, got)
	}
	if vs, _ := e.Store.Versions(secBucket, "obj"); len(vs) != 1 {
		t.Fatalf("obj has %d versions after the attacks, want 1", len(vs))
	}
}

// tamperClient changes the request body on the wire, after the SDK has
// signed it and computed its checksums.
type tamperClient struct {
	inner interface {
		Do(*http.Request) (*http.Response, error)
	}
	old, new string
}

func (c *tamperClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		b = bytes.ReplaceAll(b, []byte(c.old), []byte(c.new))
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return c.inner.Do(req)
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// rawTCP writes req's request line and headers with Content-Length n on a
// fresh TCP connection, then send, then (closeSend) half-closes, and reads
// one response within wait.
func rawTCP(host string, req *http.Request, n int64, send string, closeSend bool, wait time.Duration) (int, string, error) {
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(wait)); err != nil {
		return 0, "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), host)
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", n, send)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return 0, "", err
	}
	if closeSend {
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			return 0, "", err
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	code := ""
	if i := strings.Index(string(body), "<Code>"); i >= 0 {
		rest := string(body)[i+len("<Code>"):]
		if j := strings.Index(rest, "</Code>"); j >= 0 {
			code = rest[:j]
		}
	}
	return resp.StatusCode, code, nil
}
