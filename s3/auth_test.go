package s3

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Test credentials. The root pair and three users with different grants.
const (
	testRootAK   = "ROOTACCESSKEY"
	testRootSK   = "root/secret+key-1234567890"
	testReaderAK = "reader"
	testReaderSK = "reader-secret-123"
	testWriterAK = "writer"
	testWriterSK = "writer-secret-456"
	testRegion   = "us-east-1"
)

// testNow is the server's clock in unit tests (the signer's time, too).
var testNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func testAuthenticator(t testing.TB) *Authenticator {
	t.Helper()
	a, err := NewAuthenticator(testRootAK, testRootSK, []User{
		{AccessKey: testReaderAK, SecretKey: testReaderSK, Allow: []string{"read"}},
		{AccessKey: testWriterAK, SecretKey: testWriterSK, Allow: []string{"read", "write", "lock"}},
	}, func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signOpts says how newSigned signs a request with aws-sdk-go-v2's signer.
type signOpts struct {
	ak, sk      string
	at          time.Time
	region      string
	payloadHash string // x-amz-content-sha256; "" means the hex SHA-256 of the body
	header      map[string]string
	noSHAHeader bool // do not send x-amz-content-sha256 (it is still signed as payloadHash)
}

func (o signOpts) withDefaults(body []byte) signOpts {
	if o.ak == "" {
		o.ak, o.sk = testRootAK, testRootSK
	}
	if o.at.IsZero() {
		o.at = testNow
	}
	if o.region == "" {
		o.region = testRegion
	}
	if o.payloadHash == "" {
		sum := sha256.Sum256(body)
		o.payloadHash = hex.EncodeToString(sum[:])
	}
	return o
}

// newSigned builds a server-side request (as net/http hands it to a
// handler) signed in its Authorization header by the SDK's SigV4 signer,
// configured the way the S3 client configures it.
func newSigned(t testing.TB, method, target string, body []byte, o signOpts) *http.Request {
	t.Helper()
	o = o.withDefaults(body)
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	for k, v := range o.header {
		r.Header.Set(k, v)
	}
	if !o.noSHAHeader {
		r.Header.Set("X-Amz-Content-Sha256", o.payloadHash)
	}
	sdkSign(t, r, o)
	if r.ContentLength > 0 {
		r.Header.Set("Content-Length", itoa(r.ContentLength))
	}
	return r
}

func sdkSign(t testing.TB, r *http.Request, o signOpts) {
	t.Helper()
	signer := v4.NewSigner(func(so *v4.SignerOptions) { so.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: o.ak, SecretAccessKey: o.sk}
	if err := signer.SignHTTP(context.Background(), creds, r, o.payloadHash, "s3", o.region, o.at); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// seedSignature is the signature of the Authorization header of r.
func seedSignature(t testing.TB, r *http.Request) string {
	t.Helper()
	h := r.Header.Get("Authorization")
	i := strings.Index(h, "Signature=")
	if i < 0 {
		t.Fatalf("no signature in %q", h)
	}
	return h[i+len("Signature="):]
}

// testSigningKey derives the SigV4 key independently of the code under test.
func testSigningKey(secret, date, region string) []byte {
	mac := func(k []byte, s string) []byte {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	return mac(mac(mac(mac([]byte("AWS4"+secret), date), region), "s3"), "aws4_request")
}

// authenticateAndRead runs Authenticate and, on success, reads the body to
// the end. It returns the principal, the body, what was read and the first
// error from either step.
func authenticateAndRead(t testing.TB, a *Authenticator, r *http.Request) (*Principal, *Body, []byte, error) {
	t.Helper()
	p, b, err := a.Authenticate(r)
	if err != nil {
		if p != nil || b != nil {
			t.Errorf("Authenticate returned a principal or body with error %v", err)
		}
		return nil, nil, nil, err
	}
	data, err := readBody(b)
	return p, b, data, err
}

// readBody reads b the way a handler does, with a small buffer so chunk
// boundaries fall inside reads, and insists on the io.Reader contract.
func readBody(b *Body) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, 1000)
	for {
		n, err := b.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			// Sticky: another Read gives EOF again.
			if n2, err2 := b.Read(buf); n2 != 0 || err2 != io.EOF {
				return out.Bytes(), errors.New("Read after EOF did not return 0, EOF")
			}
			return out.Bytes(), nil
		}
		if err != nil {
			if n2, err2 := b.Read(buf); n2 != 0 || err2 == nil || err2 == io.EOF {
				return out.Bytes(), errors.New("Read after an error did not repeat the error")
			}
			return out.Bytes(), err
		}
	}
}

// checkAPIError asserts err is the table row want (code and status), or
// nil when want is nil. msg, when set, must be part of the message.
func checkAPIError(t testing.TB, err error, want *APIError, msg string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v (%T), want %s %d", err, err, want.Code, want.Status)
	}
	if ae.Code != want.Code || ae.Status != want.Status {
		t.Fatalf("error = %s %d (%s), want %s %d", ae.Code, ae.Status, ae.Message, want.Code, want.Status)
	}
	if msg != "" && !strings.Contains(ae.Message, msg) {
		t.Fatalf("error message = %q, want it to contain %q", ae.Message, msg)
	}
}

func TestAuthenticateMechanisms(t *testing.T) {
	a := testAuthenticator(t)
	cases := []struct {
		name  string
		build func() *http.Request
		want  *APIError
		msg   string
	}{
		{"no auth at all", func() *http.Request {
			return httptest.NewRequest("GET", "http://127.0.0.1:9000/bucket/key", nil)
		}, ErrAccessDenied, "Anonymous"},
		{"no auth, PUT with body", func() *http.Request {
			return httptest.NewRequest("PUT", "http://127.0.0.1:9000/bucket/key", strings.NewReader("data"))
		}, ErrAccessDenied, ""},
		{"signature v2 header", func() *http.Request {
			r := httptest.NewRequest("GET", "http://127.0.0.1:9000/bucket/key", nil)
			r.Header.Set("Authorization", "AWS "+testRootAK+":frJIUN8DYpKDtOLCwo//yllqDzg=")
			return r
		}, ErrUnsupportedSignature, ""},
		{"signature v2 query", func() *http.Request {
			return httptest.NewRequest("GET", "http://127.0.0.1:9000/bucket/key?AWSAccessKeyId="+testRootAK+"&Expires=1&Signature=abc", nil)
		}, ErrUnsupportedSignature, ""},
		{"sigv4a header", func() *http.Request {
			r := httptest.NewRequest("GET", "http://127.0.0.1:9000/bucket/key", nil)
			r.Header.Set("Authorization", "AWS4-ECDSA-P256-SHA256 Credential=x/20261130/s3/aws4_request, SignedHeaders=host, Signature=00")
			return r
		}, ErrUnsupportedSignature, ""},
		{"header and presigned query", func() *http.Request {
			r := newSigned(t, "GET", "http://127.0.0.1:9000/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256", nil, signOpts{})
			return r
		}, ErrMultipleAuthMechanisms, ""},
		{"two Authorization headers", func() *http.Request {
			r := newSigned(t, "GET", "http://127.0.0.1:9000/bucket/key", nil, signOpts{})
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return r
		}, ErrAuthorizationMalformed, ""},
		{"session token", func() *http.Request {
			r := httptest.NewRequest("GET", "http://127.0.0.1:9000/bucket/key", nil)
			r.Header.Set("X-Amz-Security-Token", "token")
			r.Header.Set("X-Amz-Content-Sha256", emptySHA256Hex)
			sdkSign(t, r, signOpts{}.withDefaults(nil))
			return r
		}, ErrInvalidSecurityTokenUse, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := authenticateAndRead(t, a, c.build())
			checkAPIError(t, err, c.want, c.msg)
		})
	}
}

func TestAuthenticatePrincipals(t *testing.T) {
	a := testAuthenticator(t)
	cases := []struct {
		name     string
		ak, sk   string
		root     bool
		can, not []Action
	}{
		{"root", testRootAK, testRootSK, true, []Action{ActionRead, ActionWrite, ActionLock, ActionBypassGovernance}, nil},
		{"reader", testReaderAK, testReaderSK, false, []Action{ActionRead}, []Action{ActionWrite, ActionLock, ActionBypassGovernance}},
		{"writer", testWriterAK, testWriterSK, false, []Action{ActionRead, ActionWrite, ActionLock}, []Action{ActionBypassGovernance}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newSigned(t, "GET", "http://127.0.0.1:9000/bucket", nil, signOpts{ak: c.ak, sk: c.sk})
			p, _, _, err := authenticateAndRead(t, a, r)
			if err != nil {
				t.Fatal(err)
			}
			if p.AccessKey != c.ak || p.Root != c.root {
				t.Fatalf("principal = %+v, want %s root=%v", p, c.ak, c.root)
			}
			for _, act := range c.can {
				if !p.Can(act) {
					t.Errorf("%s cannot %v", c.ak, act)
				}
			}
			for _, act := range c.not {
				if p.Can(act) {
					t.Errorf("%s can %v", c.ak, act)
				}
			}
		})
	}
	t.Run("principal is a copy", func(t *testing.T) {
		r := newSigned(t, "GET", "http://127.0.0.1:9000/bucket", nil, signOpts{ak: testReaderAK, sk: testReaderSK})
		p, _, _, _ := authenticateAndRead(t, a, r)
		p.Root = true
		r = newSigned(t, "GET", "http://127.0.0.1:9000/bucket", nil, signOpts{ak: testReaderAK, sk: testReaderSK})
		p2, _, _, _ := authenticateAndRead(t, a, r)
		if p2.Root {
			t.Fatal("changing a returned principal changed the authenticator")
		}
	})
}

func hmacTest(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func ioNopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}
