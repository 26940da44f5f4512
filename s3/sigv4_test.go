package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestSigAWSDocumentedExample checks the GET example of the S3 SigV4 guide
// ("Example: GET Object"), signature computed by AWS, not by us or the SDK.
func TestSigAWSDocumentedExample(t *testing.T) {
	const (
		ak  = "AKIAIOSFODNN7EXAMPLE"
		sk  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		sig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	)
	now := time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC)
	a, err := NewAuthenticator(ak, sk, nil, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	build := func(signature, rng string) *http.Request {
		r := httptest.NewRequest("GET", "http://examplebucket.s3.amazonaws.com/test.txt", nil)
		r.Header.Set("Range", rng)
		r.Header.Set("X-Amz-Content-Sha256", emptySHA256Hex)
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+ak+"/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature="+signature)
		return r
	}
	cases := []struct {
		name string
		r    *http.Request
		want *APIError
	}{
		{"as documented", build(sig, "bytes=0-9"), nil},
		{"range changed", build(sig, "bytes=0-10"), ErrSignatureDoesNotMatch},
		{"signature changed", build(strings.Replace(sig, "f0e8", "f0e9", 1), "bytes=0-9"), ErrSignatureDoesNotMatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _, _, err := authenticateAndRead(t, a, c.r)
			checkAPIError(t, err, c.want, "")
			if err == nil && (!p.Root || p.AccessKey != ak) {
				t.Fatalf("principal = %+v", p)
			}
		})
	}
}

func TestSigHeaderAuth(t *testing.T) {
	a := testAuthenticator(t)
	body := []byte("hello world, this is the object body")
	const url = "http://127.0.0.1:9000/bucket/dir/key.txt"
	cases := []struct {
		name     string
		build    func() *http.Request
		want     *APIError
		msg      string
		wantBody string
	}{
		{"good PUT with hex sha256", func() *http.Request {
			return newSigned(t, "PUT", url, body, signOpts{})
		}, nil, "", string(body)},
		{"good GET", func() *http.Request {
			return newSigned(t, "GET", url, nil, signOpts{})
		}, nil, "", ""},
		{"good UNSIGNED-PAYLOAD", func() *http.Request {
			return newSigned(t, "PUT", url, body, signOpts{payloadHash: unsignedPayload})
		}, nil, "", string(body)},
		{"good user key", func() *http.Request {
			return newSigned(t, "PUT", url, body, signOpts{ak: testWriterAK, sk: testWriterSK})
		}, nil, "", string(body)},
		{"good other region in scope", func() *http.Request {
			return newSigned(t, "GET", url, nil, signOpts{region: "eu-central-1"})
		}, nil, "", ""},
		{"good virtual-host style Host", func() *http.Request {
			return newSigned(t, "GET", "http://bucket.s3.127.0.0.1.nip.io:9000/dir/key.txt", nil, signOpts{})
		}, nil, "", ""},
		{"good key with spaces, unicode and reserved characters", func() *http.Request {
			return newSigned(t, "PUT", "http://127.0.0.1:9000/bucket/a%20b/%C3%A9t%C3%A9%2B%21%28x%29%3D%26.txt", body, signOpts{})
		}, nil, "", string(body)},
		{"good query parameters signed", func() *http.Request {
			return newSigned(t, "GET", "http://127.0.0.1:9000/bucket?list-type=2&prefix=a%2Fb%20c&delimiter=%2F&max-keys=10", nil, signOpts{})
		}, nil, "", ""},
		{"good valueless query parameter", func() *http.Request {
			return newSigned(t, "GET", "http://127.0.0.1:9000/bucket?versioning", nil, signOpts{})
		}, nil, "", ""},
		{"good Date header instead of X-Amz-Date", func() *http.Request {
			r := httptest.NewRequest("GET", url, nil)
			r.Header.Set("X-Amz-Content-Sha256", emptySHA256Hex)
			r.Header.Set("Date", testNow.Format(http.TimeFormat))
			date := testNow.Format(amzDateFormat)
			cr := "GET\n/bucket/dir/key.txt\n\ndate:" + r.Header.Get("Date") + "\nhost:127.0.0.1:9000\nx-amz-content-sha256:" + emptySHA256Hex + "\n\ndate;host;x-amz-content-sha256\n" + emptySHA256Hex
			sts := "AWS4-HMAC-SHA256\n" + date + "\n20261130/us-east-1/s3/aws4_request\n" + sha256HexTest(cr)
			sig := hex.EncodeToString(hmacTest(testSigningKey(testRootSK, "20261130", "us-east-1"), sts))
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testRootAK+"/20261130/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256, Signature="+sig)
			return r
		}, nil, "", ""},
		{"wrong secret", func() *http.Request {
			return newSigned(t, "PUT", url, body, signOpts{ak: testRootAK, sk: testRootSK + "x"})
		}, ErrSignatureDoesNotMatch, "", ""},
		{"another user's secret", func() *http.Request {
			return newSigned(t, "PUT", url, body, signOpts{ak: testReaderAK, sk: testWriterSK})
		}, ErrSignatureDoesNotMatch, "", ""},
		{"unknown access key", func() *http.Request {
			return newSigned(t, "PUT", url, body, signOpts{ak: "nobody", sk: testRootSK})
		}, ErrInvalidAccessKeyID, "", ""},
		{"tampered body", func() *http.Request {
			r := newSigned(t, "PUT", url, body, signOpts{})
			tampered := bytes.Clone(body)
			tampered[0] ^= 1
			r.Body = ioNopCloser(tampered)
			return r
		}, ErrContentSHA256Mismatch, "", ""},
		{"tampered x-amz-content-sha256", func() *http.Request {
			r := newSigned(t, "PUT", url, body, signOpts{})
			sum := sha256.Sum256([]byte("other"))
			r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"tampered signed header", func() *http.Request {
			r := newSigned(t, "PUT", url, body, signOpts{header: map[string]string{"X-Amz-Object-Lock-Mode": "GOVERNANCE"}})
			r.Header.Set("X-Amz-Object-Lock-Mode", "COMPLIANCE")
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"tampered Host", func() *http.Request {
			r := newSigned(t, "GET", url, nil, signOpts{})
			r.Host = "127.0.0.1:9001"
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"tampered path", func() *http.Request {
			r := newSigned(t, "GET", url, nil, signOpts{})
			r.URL.Path = "/bucket/dir/other.txt"
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"tampered query", func() *http.Request {
			r := newSigned(t, "GET", "http://127.0.0.1:9000/bucket?versionId=1", nil, signOpts{})
			r.URL.RawQuery = "versionId=2"
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"added query parameter", func() *http.Request {
			r := newSigned(t, "DELETE", url, nil, signOpts{})
			r.URL.RawQuery = "versionId=abc"
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"tampered method", func() *http.Request {
			r := newSigned(t, "GET", url, nil, signOpts{})
			r.Method = "DELETE"
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"date skewed 16 minutes behind", func() *http.Request {
			return newSigned(t, "GET", url, nil, signOpts{at: testNow.Add(-16 * time.Minute)})
		}, ErrRequestTimeTooSkewed, "", ""},
		{"date skewed 16 minutes ahead", func() *http.Request {
			return newSigned(t, "GET", url, nil, signOpts{at: testNow.Add(16 * time.Minute)})
		}, ErrRequestTimeTooSkewed, "", ""},
		{"date 14 minutes behind is fine", func() *http.Request {
			return newSigned(t, "GET", url, nil, signOpts{at: testNow.Add(-14 * time.Minute)})
		}, nil, "", ""},
		{"missing x-amz-content-sha256", func() *http.Request {
			return newSigned(t, "GET", url, nil, signOpts{noSHAHeader: true})
		}, ErrMissingContentSHA256, "", ""},
		{"invalid x-amz-content-sha256", func() *http.Request {
			return newSigned(t, "PUT", url, body, signOpts{payloadHash: "not-a-hash"})
		}, ErrInvalidContentSHA256, "", ""},
		{"missing date", func() *http.Request {
			r := newSigned(t, "GET", url, nil, signOpts{})
			r.Header.Del("X-Amz-Date")
			return r
		}, ErrAccessDenied, "Date", ""},
		{"malformed x-amz-date", func() *http.Request {
			r := newSigned(t, "GET", url, nil, signOpts{})
			r.Header.Set("X-Amz-Date", "2026-11-30T12:00:00Z")
			return r
		}, ErrAccessDenied, "Date", ""},
		{"credential date differs from x-amz-date", func() *http.Request {
			r := newSigned(t, "GET", url, nil, signOpts{})
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20261130/", "/20261129/", 1))
			return r
		}, ErrAuthorizationMalformed, "credential date", ""},
		{"service is not s3", func() *http.Request {
			r := newSigned(t, "GET", url, nil, signOpts{})
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/s3/", "/iam/", 1))
			return r
		}, ErrAuthorizationMalformed, "service", ""},
		{"region changed after signing", func() *http.Request {
			r := newSigned(t, "GET", url, nil, signOpts{})
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/us-east-1/", "/us-west-2/", 1))
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"x-amz-security-token", func() *http.Request {
			r := newSigned(t, "GET", url, nil, signOpts{})
			r.Header.Set("X-Amz-Security-Token", "FQoGZXIvYXdzE")
			return r
		}, ErrInvalidSecurityTokenUse, "", ""},
		{"body larger than 5 GiB", func() *http.Request {
			r := newSigned(t, "PUT", url, nil, signOpts{payloadHash: unsignedPayload})
			r.ContentLength = 5<<30 + 1
			return r
		}, ErrEntityTooLarge, "", ""},
		{"PUT without Content-Length", func() *http.Request {
			r := newSigned(t, "PUT", url, nil, signOpts{payloadHash: unsignedPayload})
			r.ContentLength = -1
			return r
		}, ErrMissingContentLength, "", ""},
		{"body shorter than Content-Length", func() *http.Request {
			r := newSigned(t, "PUT", url, body, signOpts{payloadHash: unsignedPayload})
			r.Body = ioNopCloser(body[:10])
			return r
		}, ErrIncompleteBody, "", ""},
		{"body longer than Content-Length", func() *http.Request {
			r := newSigned(t, "PUT", url, body, signOpts{payloadHash: unsignedPayload})
			r.Body = ioNopCloser(append(bytes.Clone(body), "more"...))
			return r
		}, ErrIncompleteBody, "longer", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, b, data, err := authenticateAndRead(t, a, c.build())
			checkAPIError(t, err, c.want, c.msg)
			if c.want == nil {
				if string(data) != c.wantBody {
					t.Fatalf("body = %q, want %q", data, c.wantBody)
				}
				if got, want := b.Checksums()["MD5"], md5Hex(data); got != want {
					t.Fatalf("MD5 = %q, want %q", got, want)
				}
			}
		})
	}
}

// TestSigLooselyEncodedPath: a client that sends reserved characters raw
// but signs the AWS encoding of the path is accepted too.
func TestSigLooselyEncodedPath(t *testing.T) {
	a := testAuthenticator(t)
	r := httptest.NewRequest("GET", "http://127.0.0.1:9000/bucket/a!b(c)*.txt", nil)
	r.Header.Set("X-Amz-Content-Sha256", emptySHA256Hex)
	r.Header.Set("X-Amz-Date", testNow.Format(amzDateFormat))
	cr := "GET\n/bucket/a%21b%28c%29%2A.txt\n\nhost:127.0.0.1:9000\nx-amz-content-sha256:" + emptySHA256Hex + "\nx-amz-date:" + testNow.Format(amzDateFormat) + "\n\nhost;x-amz-content-sha256;x-amz-date\n" + emptySHA256Hex
	sts := "AWS4-HMAC-SHA256\n" + testNow.Format(amzDateFormat) + "\n20261130/us-east-1/s3/aws4_request\n" + sha256HexTest(cr)
	sig := hex.EncodeToString(hmacTest(testSigningKey(testRootSK, "20261130", "us-east-1"), sts))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testRootAK+"/20261130/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature="+sig)
	if _, _, _, err := authenticateAndRead(t, a, r); err != nil {
		t.Fatal(err)
	}
}

func TestSigParseAuthorization(t *testing.T) {
	const good = "AWS4-HMAC-SHA256 Credential=AKID/20261130/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cases := []struct {
		name string
		h    string
		want *APIError
		msg  string
	}{
		{"good", good, nil, ""},
		{"good without spaces", strings.ReplaceAll(good, ", ", ","), nil, ""},
		{"good, parts reordered", "AWS4-HMAC-SHA256 Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef,SignedHeaders=host,Credential=AKID/20261130/us-east-1/s3/aws4_request", nil, ""},
		{"empty", "", ErrUnsupportedSignature, ""},
		{"algorithm only", "AWS4-HMAC-SHA256", ErrAuthorizationMalformed, ""},
		{"lowercase algorithm", strings.Replace(good, "AWS4-HMAC-SHA256", "aws4-hmac-sha256", 1), ErrUnsupportedSignature, ""},
		{"signature v2", "AWS AKID:c2lnbmF0dXJl", ErrUnsupportedSignature, ""},
		{"bearer", "Bearer abc", ErrUnsupportedSignature, ""},
		{"missing Signature", "AWS4-HMAC-SHA256 Credential=AKID/20261130/us-east-1/s3/aws4_request, SignedHeaders=host", ErrAuthorizationMalformed, ""},
		{"missing SignedHeaders", "AWS4-HMAC-SHA256 Credential=AKID/20261130/us-east-1/s3/aws4_request, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ErrAuthorizationMalformed, ""},
		{"missing Credential", "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ErrAuthorizationMalformed, ""},
		{"duplicate part", good + ", Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ErrAuthorizationMalformed, "twice"},
		{"unknown part", good + ", Foo=bar", ErrAuthorizationMalformed, "unknown"},
		{"part without =", good + ", junk", ErrAuthorizationMalformed, ""},
		{"credential with 4 parts", strings.Replace(good, "/us-east-1/", "/", 1), ErrAuthorizationMalformed, "credential"},
		{"credential with 6 parts", strings.Replace(good, "AKID/", "AK/ID/", 1), ErrAuthorizationMalformed, "credential"},
		{"empty access key", strings.Replace(good, "AKID/", "/", 1), ErrAuthorizationMalformed, "access key"},
		{"bad date", strings.Replace(good, "20261130", "2026113x", 1), ErrAuthorizationMalformed, "date"},
		{"impossible date", strings.Replace(good, "20261130", "20261340", 1), ErrAuthorizationMalformed, "date"},
		{"empty region", strings.Replace(good, "/us-east-1/", "//", 1), ErrAuthorizationMalformed, "region"},
		{"region with space", strings.Replace(good, "/us-east-1/", "/us east/", 1), ErrAuthorizationMalformed, "region"},
		{"service not s3", strings.Replace(good, "/s3/", "/ec2/", 1), ErrAuthorizationMalformed, "service"},
		{"terminator wrong", strings.Replace(good, "aws4_request", "aws4_reqest", 1), ErrAuthorizationMalformed, "aws4_request"},
		{"signed headers without host", strings.Replace(good, "host;x-amz-date", "x-amz-date", 1), ErrAuthorizationMalformed, "host"},
		{"signed headers empty", strings.Replace(good, "host;x-amz-date", "", 1), ErrAuthorizationMalformed, ""},
		{"signed headers uppercase", strings.Replace(good, "host;x-amz-date", "host;X-Amz-Date", 1), ErrAuthorizationMalformed, ""},
		{"signed headers empty entry", strings.Replace(good, "host;x-amz-date", "host;;x-amz-date", 1), ErrAuthorizationMalformed, ""},
		{"signed headers duplicate", strings.Replace(good, "host;x-amz-date", "host;host", 1), ErrAuthorizationMalformed, "twice"},
		{"signature short", strings.Replace(good, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "0123", 1), ErrAuthorizationMalformed, "signature"},
		{"signature not hex", strings.Replace(good, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", strings.Repeat("zz", 32), 1), ErrAuthorizationMalformed, "signature"},
		{"signature uppercase", strings.Replace(good, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", strings.Repeat("AB", 32), 1), ErrAuthorizationMalformed, "signature"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := parseAuthorization(c.h)
			checkAPIError(t, err, c.want, c.msg)
			if err == nil && (f.cred.accessKey != "AKID" || len(f.signature) != 32) {
				t.Fatalf("parsed %+v", f)
			}
		})
	}
	// Each malformed header also fails Authenticate with the same code and
	// does not get as far as the signature.
	a := testAuthenticator(t)
	for _, c := range cases {
		if c.want == nil {
			continue
		}
		r := httptest.NewRequest("GET", "http://127.0.0.1:9000/bucket", nil)
		r.Header.Set("X-Amz-Date", testNow.Format(amzDateFormat))
		r.Header.Set("X-Amz-Content-Sha256", emptySHA256Hex)
		r.Header.Set("Authorization", c.h)
		_, _, err := a.Authenticate(r)
		checkAPIError(t, err, c.want, c.msg)
	}
}

func TestSigCanonicalQuery(t *testing.T) {
	cases := []struct {
		name, raw, skip, want string
	}{
		{"empty", "", "", ""},
		{"sorted by key", "b=2&a=1", "", "a=1&b=2"},
		{"valueless", "acl", "", "acl="},
		{"encoded slash and space", "prefix=a%2Fb+c&delimiter=/", "", "delimiter=%2F&prefix=a%2Fb%20c"},
		{"sorted after encoding", "k=a-b&k=a/b", "", "k=a%2Fb&k=a-b"},
		{"skip signature", "X-Amz-Signature=abc&X-Amz-Date=1", "X-Amz-Signature", "X-Amz-Date=1"},
		{"unreserved kept, others encoded", "k=~._-!*'()", "", "k=~._-%21%2A%27%28%29"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := canonicalQuery(c.raw, c.skip)
			if err != nil || got != c.want {
				t.Fatalf("canonicalQuery(%q) = %q, %v; want %q", c.raw, got, err, c.want)
			}
		})
	}
	if _, err := canonicalQuery("a=%zz", ""); err == nil {
		t.Fatal("bad escape accepted")
	}
}

func sha256HexTest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestSigSDKOperations drives a real aws-sdk-go-v2 S3 client, path-style and
// virtual-host-style (Host "bucket.s3.wormfs.test:port", dialled to the
// loopback server), through operations with awkward keys and query
// parameters; every request must authenticate and a wrong key must not.
func TestSigSDKOperations(t *testing.T) {
	a, err := NewAuthenticator(testRootAK, testRootSK, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, useTLS := range []bool{false, true} {
		srv, seen := sdkServer(t, useTLS, a)
		for _, virtualHost := range []bool{false, true} {
			name := map[bool]string{false: "http", true: "https"}[useTLS] + map[bool]string{false: " path-style", true: " virtual-host"}[virtualHost]
			t.Run(name, func(t *testing.T) {
				client := sdkOpsClient(t, srv, virtualHost, testRootSK)
				ctx := context.Background()
				keys := []string{"plain.txt", "dir/sub dir/file name.txt", "ünïcødé/日本語.bin", "a+b=c&d;e,f@g$h!i'j(k)l*m~n.txt", "percent%20sign%2F.txt", "  leading and trailing  ", "dots/./and/../segments"}
				for _, key := range keys {
					calls := []struct {
						op   string
						call func() error
					}{
						{"PutObject", func() error {
							_, err := client.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key), Body: strings.NewReader("content of " + key),
								Metadata: map[string]string{"note": "x  y"}, ContentType: aws.String("text/plain; charset=utf-8")})
							return err
						}},
						{"GetObject", func() error {
							out, err := client.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key), Range: aws.String("bytes=0-9"), VersionId: aws.String("v1/+=")})
							if err == nil {
								out.Body.Close()
							}
							return err
						}},
						{"HeadObject", func() error {
							_, err := client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)})
							return err
						}},
						{"DeleteObject", func() error {
							_, err := client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key), VersionId: aws.String("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"), BypassGovernanceRetention: aws.Bool(true)})
							return err
						}},
						{"PutObjectLegalHold", func() error {
							_, err := client.PutObjectLegalHold(ctx, &awss3.PutObjectLegalHoldInput{Bucket: aws.String("bucket"), Key: aws.String(key), LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}})
							return err
						}},
					}
					for _, c := range calls {
						if err := c.call(); err != nil {
							t.Fatalf("%s %q: %v", c.op, key, err)
						}
						got := recvCaptured(t, seen)
						if got.err != nil {
							t.Fatalf("%s %q: server: %v", c.op, key, got.err)
						}
						wantPath, wantHost := "/bucket/"+key, "bucket.s3.wormfs.test:"
						if !virtualHost {
							wantHost = "127.0.0.1:"
						} else {
							wantPath = "/" + key
						}
						if got.path != wantPath || !strings.HasPrefix(got.host, wantHost) {
							t.Fatalf("%s: server saw Host %q path %q, want %s… %q", c.op, got.host, got.path, wantHost, wantPath)
						}
					}
				}
				// The lock call's XML body carried a checksum the server verified.
				_, err := client.PutObjectRetention(ctx, &awss3.PutObjectRetentionInput{Bucket: aws.String("bucket"), Key: aws.String("k"),
					Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(time.Now().Add(time.Hour))}})
				if err != nil {
					t.Fatal(err)
				}
				if got := recvCaptured(t, seen); got.err != nil || !got.integrity {
					t.Fatalf("PutObjectRetention: err %v, integrity %v", got.err, got.integrity)
				}
				// A wrong secret fails with the code the SDK reports.
				_, err = sdkOpsClient(t, srv, virtualHost, "not-the-root-secret").HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bucket"), Key: aws.String("k")})
				checkAPIError(t, recvCaptured(t, seen).err, ErrSignatureDoesNotMatch, "")
				if err == nil {
					t.Fatal("HeadObject with a wrong secret succeeded")
				}
			})
		}
	}
}

// sdkOpsClient is sdkClient, optionally virtual-host style: the endpoint
// host is s3.wormfs.test, and every connection goes to srv.
func sdkOpsClient(t *testing.T, srv *httptest.Server, virtualHost bool, sk string) *awss3.Client {
	t.Helper()
	c := sdkClient(t, srv, testRootAK, sk, nil)
	if !virtualHost {
		return c
	}
	addr := srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	scheme := "http"
	if strings.HasPrefix(srv.URL, "https") {
		scheme = "https"
	}
	copied := *srv.Client()
	tr := copied.Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	if tr.TLSClientConfig != nil {
		tr.TLSClientConfig.InsecureSkipVerify = true // the test certificate names 127.0.0.1 / example.com
	}
	copied.Transport = tr
	return awss3.New(c.Options(), func(o *awss3.Options) {
		o.BaseEndpoint = aws.String(scheme + "://s3.wormfs.test:" + port)
		o.UsePathStyle = false
		o.HTTPClient = &copied
	})
}

// TestSigAWSCLI runs the real aws CLI (botocore) against loopback servers
// whose handler authenticates and reads each body: put-object over HTTP
// (signed payload, checksum header) and over HTTPS (botocore's default
// aws-chunked CRC32 trailer), a lock call with its checksummed XML body, and
// a URL made by `aws s3 presign`. Skipped when the CLI is not installed.
func TestSigAWSCLI(t *testing.T) {
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not installed")
	}
	a, err := NewAuthenticator(testRootAK, testRootSK, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, plainSeen := sdkServer(t, false, a)
	secure, secureSeen := sdkServer(t, true, a)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	payload := testPayload(300 << 10)
	file := filepath.Join(dir, "payload.bin")
	if err := os.WriteFile(file, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	// aws CLI v1 presigns with SigV2 unless told otherwise (wormfs answers
	// SigV2 with InvalidRequest "use AWS4-HMAC-SHA256"); this config asks
	// for SigV4 the way a v1 user has to.
	configFile := filepath.Join(dir, "config")
	if err := os.WriteFile(configFile, []byte("[default]\ns3 =\n  signature_version = s3v4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(sk string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, cli, args...)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env,
			"AWS_ACCESS_KEY_ID="+testRootAK, "AWS_SECRET_ACCESS_KEY="+sk, "AWS_DEFAULT_REGION="+testRegion,
			"AWS_CONFIG_FILE="+configFile, "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
			"AWS_CA_BUNDLE="+caFile)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	cases := []struct {
		name        string
		srv         *httptest.Server
		seen        <-chan captured
		args        []string
		wantPayload string // "hex" for a digest
		wantAlg     string
		wantBody    []byte
	}{
		{"put-object over HTTP", plain, plainSeen, []string{"s3api", "put-object", "--bucket", "bucket", "--key", "dir/a b.bin", "--body", file}, "hex", "CRC32", payload},
		{"put-object over HTTPS", secure, secureSeen, []string{"s3api", "put-object", "--bucket", "bucket", "--key", "dir/a b.bin", "--body", file}, streamingUnsignedTrailer, "CRC32", payload},
		{"put-object with SHA256 over HTTPS", secure, secureSeen, []string{"s3api", "put-object", "--bucket", "bucket", "--key", "k", "--body", file, "--checksum-algorithm", "SHA256"}, streamingUnsignedTrailer, "SHA256", payload},
		{"put-object-legal-hold over HTTP", plain, plainSeen, []string{"s3api", "put-object-legal-hold", "--bucket", "bucket", "--key", "k", "--legal-hold", "Status=ON"}, "hex", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(testRootSK, append(c.args, "--endpoint-url", c.srv.URL)...)
			if err != nil {
				t.Fatalf("aws %v: %v\n%s", c.args, err, out)
			}
			got := recvCaptured(t, c.seen)
			if got.err != nil {
				t.Fatalf("server: %v", got.err)
			}
			payloadHash := got.header.Get("X-Amz-Content-Sha256")
			if c.wantPayload == "hex" {
				if payloadHash != sha256HexTest(string(got.body)) {
					t.Fatalf("x-amz-content-sha256 %q is not the body's digest", payloadHash)
				}
			} else if payloadHash != c.wantPayload {
				t.Fatalf("x-amz-content-sha256 = %q, want %q", payloadHash, c.wantPayload)
			}
			if c.wantBody != nil && !bytes.Equal(got.body, c.wantBody) {
				t.Fatalf("body: %d bytes", len(got.body))
			}
			if c.wantAlg != "" && (got.alg != c.wantAlg || got.sums[c.wantAlg] != testChecksum(c.wantAlg, got.body)) {
				t.Fatalf("checksum %q %v", got.alg, got.sums)
			}
			if !got.integrity {
				t.Fatal("no integrity value: the CLI always sends one for these calls")
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		out, err := run("not-the-root-secret", "s3api", "head-object", "--bucket", "bucket", "--key", "k", "--endpoint-url", plain.URL)
		if err == nil {
			t.Fatalf("head-object with a wrong secret succeeded: %s", out)
		}
		checkAPIError(t, recvCaptured(t, plainSeen).err, ErrSignatureDoesNotMatch, "")
	})
	t.Run("presign", func(t *testing.T) {
		out, err := run(testRootSK, "s3", "presign", "s3://bucket/dir/file name.txt", "--expires-in", "300", "--endpoint-url", plain.URL)
		if err != nil {
			t.Fatalf("aws s3 presign: %v\n%s", err, out)
		}
		resp, err := http.Get(strings.TrimSpace(out))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := recvCaptured(t, plainSeen); got.err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("presigned GET: %v, status %d", got.err, resp.StatusCode)
		}
	})
}

// recvCaptured waits (boundedly) for what the test server saw.
func recvCaptured(t *testing.T, seen <-chan captured) captured {
	t.Helper()
	select {
	case c := <-seen:
		return c
	case <-time.After(30 * time.Second):
		t.Fatal("the server saw no request")
		return captured{}
	}
}
