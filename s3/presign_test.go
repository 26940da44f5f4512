package s3

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// presignOpts says how presigned builds a presigned URL with the SDK signer.
type presignOpts struct {
	ak, sk  string
	at      time.Time
	expires time.Duration
	header  map[string]string
}

// presigned returns a server-side request for a URL presigned by
// aws-sdk-go-v2's signer (the way the S3 presign client does it), carrying
// the headers the signer said were signed.
func presigned(t testing.TB, method, target, body string, o presignOpts) *http.Request {
	t.Helper()
	if o.ak == "" {
		o.ak, o.sk = testRootAK, testRootSK
	}
	if o.at.IsZero() {
		o.at = testNow
	}
	if o.expires == 0 {
		o.expires = 15 * time.Minute
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("X-Amz-Expires", itoa(int64(o.expires/time.Second)))
	u.RawQuery = q.Encode()
	req, err := http.NewRequest(method, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range o.header {
		req.Header.Set(k, v)
	}
	signer := v4.NewSigner(func(so *v4.SignerOptions) { so.DisableURIPathEscaping = true })
	signedURL, signedHeaders, err := signer.PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: o.ak, SecretAccessKey: o.sk},
		req, unsignedPayload, "s3", testRegion, o.at)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(method, signedURL, strings.NewReader(body))
	for k, vs := range signedHeaders {
		if strings.EqualFold(k, "host") {
			continue
		}
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return r
}

// TestPresignAWSDocumentedExample checks the presigned GET example of the S3
// guide ("Authenticating Requests: Using Query Parameters").
func TestPresignAWSDocumentedExample(t *testing.T) {
	const target = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	cases := []struct {
		name string
		now  time.Time
		url  string
		want *APIError
		msg  string
	}{
		{"as documented", time.Date(2013, 5, 24, 1, 0, 0, 0, time.UTC), target, nil, ""},
		{"one second before expiry", time.Date(2013, 5, 24, 23, 59, 59, 0, time.UTC), target, nil, ""},
		{"a day and a second later", time.Date(2013, 5, 25, 0, 0, 1, 0, time.UTC), target, ErrExpiredPresign, "Request has expired"},
		{"expires changed", time.Date(2013, 5, 24, 1, 0, 0, 0, time.UTC), strings.Replace(target, "Expires=86400", "Expires=86401", 1), ErrSignatureDoesNotMatch, ""},
		{"path changed", time.Date(2013, 5, 24, 1, 0, 0, 0, time.UTC), strings.Replace(target, "test.txt", "test2.txt", 1), ErrSignatureDoesNotMatch, ""},
		{"not valid yet", time.Date(2013, 5, 23, 23, 0, 0, 0, time.UTC), target, ErrRequestNotYetValid, "not valid yet"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := c.now
			a, err := NewAuthenticator("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", nil, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			_, _, _, err = authenticateAndRead(t, a, httptest.NewRequest("GET", c.url, nil))
			checkAPIError(t, err, c.want, c.msg)
		})
	}
}

func TestPresignSDK(t *testing.T) {
	a := testAuthenticator(t)
	const target = "http://127.0.0.1:9000/bucket/dir/key%20name.txt"
	cases := []struct {
		name     string
		build    func() *http.Request
		want     *APIError
		msg      string
		wantBody string
	}{
		{"good GET", func() *http.Request { return presigned(t, "GET", target, "", presignOpts{}) }, nil, "", ""},
		{"good PUT with body", func() *http.Request {
			return presigned(t, "PUT", target, "uploaded through a presigned URL", presignOpts{})
		}, nil, "", "uploaded through a presigned URL"},
		{"good with signed header", func() *http.Request {
			return presigned(t, "PUT", target, "x", presignOpts{header: map[string]string{"Content-Type": "text/plain"}})
		}, nil, "", "x"},
		{"good maximum expiry", func() *http.Request {
			return presigned(t, "GET", target, "", presignOpts{expires: 7 * 24 * time.Hour, at: testNow.Add(-7*24*time.Hour + time.Minute)})
		}, nil, "", ""},
		{"good user", func() *http.Request {
			return presigned(t, "GET", target, "", presignOpts{ak: testReaderAK, sk: testReaderSK})
		}, nil, "", ""},
		{"expired", func() *http.Request {
			return presigned(t, "GET", target, "", presignOpts{at: testNow.Add(-16 * time.Minute)})
		}, ErrExpiredPresign, "Request has expired", ""},
		{"expiry beyond a week", func() *http.Request {
			return presigned(t, "GET", target, "", presignOpts{expires: 7*24*time.Hour + time.Second})
		}, ErrAuthorizationQuery, "604800", ""},
		{"signed in the future", func() *http.Request {
			return presigned(t, "GET", target, "", presignOpts{at: testNow.Add(time.Hour)})
		}, ErrRequestNotYetValid, "", ""},
		{"wrong secret", func() *http.Request {
			return presigned(t, "GET", target, "", presignOpts{ak: testRootAK, sk: "wrong-secret-key"})
		}, ErrSignatureDoesNotMatch, "", ""},
		{"unknown key", func() *http.Request {
			return presigned(t, "GET", target, "", presignOpts{ak: "stranger", sk: testRootSK})
		}, ErrInvalidAccessKeyID, "", ""},
		{"method changed", func() *http.Request {
			r := presigned(t, "GET", target, "", presignOpts{})
			r.Method = "DELETE"
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"signed header changed", func() *http.Request {
			r := presigned(t, "PUT", target, "x", presignOpts{header: map[string]string{"Content-Type": "text/plain"}})
			r.Header.Set("Content-Type", "text/html")
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"query parameter added", func() *http.Request {
			r := presigned(t, "GET", target, "", presignOpts{})
			r.URL.RawQuery += "&versionId=1"
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"expires extended", func() *http.Request {
			r := presigned(t, "GET", target, "", presignOpts{at: testNow.Add(-16 * time.Minute)})
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=900", "X-Amz-Expires=9000", 1)
			return r
		}, ErrSignatureDoesNotMatch, "", ""},
		{"session token", func() *http.Request {
			r := presigned(t, "GET", target, "", presignOpts{})
			r.URL.RawQuery += "&X-Amz-Security-Token=abc"
			return r
		}, ErrInvalidSecurityTokenUse, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, data, err := authenticateAndRead(t, a, c.build())
			checkAPIError(t, err, c.want, c.msg)
			if c.want == nil && string(data) != c.wantBody {
				t.Fatalf("body = %q, want %q", data, c.wantBody)
			}
		})
	}
}

func TestPresignQueryParameters(t *testing.T) {
	good := presigned(t, "GET", "http://127.0.0.1:9000/bucket/key", "", presignOpts{}).URL.Query()
	edit := func(f func(q url.Values)) string {
		q := url.Values{}
		for k, v := range good {
			q[k] = append([]string(nil), v...)
		}
		f(q)
		return q.Encode()
	}
	a := testAuthenticator(t)
	cases := []struct {
		name string
		raw  string
		want *APIError
		msg  string
	}{
		{"good", edit(func(url.Values) {}), nil, ""},
		{"missing algorithm", edit(func(q url.Values) { q.Del("X-Amz-Algorithm") }), ErrAuthorizationQuery, "X-Amz-Algorithm"},
		{"missing credential", edit(func(q url.Values) { q.Del("X-Amz-Credential") }), ErrAuthorizationQuery, "X-Amz-Credential"},
		{"missing date", edit(func(q url.Values) { q.Del("X-Amz-Date") }), ErrAuthorizationQuery, "X-Amz-Date"},
		{"missing expires", edit(func(q url.Values) { q.Del("X-Amz-Expires") }), ErrAuthorizationQuery, "X-Amz-Expires"},
		{"missing signed headers", edit(func(q url.Values) { q.Del("X-Amz-SignedHeaders") }), ErrAuthorizationQuery, "X-Amz-SignedHeaders"},
		{"missing signature", edit(func(q url.Values) { q.Del("X-Amz-Signature") }), ErrAuthorizationQuery, "X-Amz-Signature"},
		{"other algorithm", edit(func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA512") }), ErrAuthorizationQuery, "AWS4-HMAC-SHA256"},
		{"date malformed", edit(func(q url.Values) { q.Set("X-Amz-Date", "2026-11-30") }), ErrAuthorizationQuery, "ISO8601"},
		{"expires not a number", edit(func(q url.Values) { q.Set("X-Amz-Expires", "soon") }), ErrAuthorizationQuery, "number"},
		{"expires zero", edit(func(q url.Values) { q.Set("X-Amz-Expires", "0") }), ErrAuthorizationQuery, "at least"},
		{"expires negative", edit(func(q url.Values) { q.Set("X-Amz-Expires", "-5") }), ErrAuthorizationQuery, "at least"},
		{"expires 604801", edit(func(q url.Values) { q.Set("X-Amz-Expires", "604801") }), ErrAuthorizationQuery, "604800"},
		{"expires huge", edit(func(q url.Values) { q.Set("X-Amz-Expires", "99999999999999999999999") }), ErrAuthorizationQuery, "number"},
		{"signature twice", edit(func(q url.Values) { q.Add("X-Amz-Signature", q.Get("X-Amz-Signature")) }), ErrAuthorizationQuery, "more than once"},
		{"credential malformed", edit(func(q url.Values) { q.Set("X-Amz-Credential", testRootAK+"/20261130/us-east-1/s3") }), ErrAuthorizationQuery, "credential"},
		{"credential date not X-Amz-Date", edit(func(q url.Values) {
			q.Set("X-Amz-Credential", strings.Replace(q.Get("X-Amz-Credential"), "20261130", "20261201", 1))
		}), ErrAuthorizationQuery, "credential date"},
		{"signed headers without host", edit(func(q url.Values) { q.Set("X-Amz-SignedHeaders", "x-amz-date") }), ErrAuthorizationQuery, "host"},
		{"signature malformed", edit(func(q url.Values) { q.Set("X-Amz-Signature", "abc") }), ErrAuthorizationQuery, "signature"},
		{"signature of another URL", edit(func(q url.Values) { q.Set("X-Amz-Signature", strings.Repeat("ab", 32)) }), ErrSignatureDoesNotMatch, ""},
		{"only a signature", "X-Amz-Signature=" + good.Get("X-Amz-Signature"), ErrAuthorizationQuery, ""},
		{"bad escape", edit(func(url.Values) {}) + "&x=%zz", ErrAuthorizationQuery, "encoded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://127.0.0.1:9000/bucket/key?"+c.raw, nil)
			_, _, _, err := authenticateAndRead(t, a, r)
			checkAPIError(t, err, c.want, c.msg)
		})
	}
}

// TestPresignS3Client presigns with the S3 client's own presigner (all its
// middleware: path escaping, hoisted headers) and replays the URL.
func TestPresignS3Client(t *testing.T) {
	a, err := NewAuthenticator(testRootAK, testRootSK, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := awss3.New(awss3.Options{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(testRootAK, testRootSK, ""),
		BaseEndpoint: aws.String("http://127.0.0.1:9000"),
		UsePathStyle: true,
	})
	ps := awss3.NewPresignClient(client, awss3.WithPresignExpires(10*time.Minute))
	get, err := ps.PresignGetObject(context.Background(), &awss3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String("a dir/ü+&=.txt"), VersionId: aws.String("v1")})
	if err != nil {
		t.Fatal(err)
	}
	put, err := ps.PresignPutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("k"), ContentType: aws.String("text/plain")})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		name string
		req  *v4.PresignedHTTPRequest
		body string
	}{{"GetObject", get, ""}, {"PutObject", put, "presigned put"}} {
		t.Run(p.name, func(t *testing.T) {
			r := httptest.NewRequest(p.req.Method, p.req.URL, strings.NewReader(p.body))
			for k, vs := range p.req.SignedHeader {
				if !strings.EqualFold(k, "host") {
					r.Header[k] = vs
				}
			}
			_, _, data, err := authenticateAndRead(t, a, r)
			if err != nil {
				t.Fatalf("%s %s: %v", p.req.Method, p.req.URL, err)
			}
			if string(data) != p.body {
				t.Fatalf("body %q", data)
			}
		})
	}
}

// TestPresignQueryHeaders: the x-amz-* parameters of a presigned URL (all
// signed) reach the handlers as request headers, a signed header of the
// same name wins, and a parameter no header could carry is refused with
// InvalidArgument.
func TestPresignQueryHeaders(t *testing.T) {
	a := testAuthenticator(t)
	r := presigned(t, "PUT", "http://127.0.0.1:9000/bucket/key?x-amz-meta-from=query&x-amz-tagging=a%3D1", "", presignOpts{header: map[string]string{"X-Amz-Tagging": "b=2"}})
	if _, _, err := a.Authenticate(r); err != nil {
		t.Fatalf("presigned PUT with query headers: %v", err)
	}
	if got := r.Header.Get("X-Amz-Meta-From"); got != "query" {
		t.Errorf("x-amz-meta-from = %q, want the query's %q", got, "query")
	}
	if got := r.Header.Values("X-Amz-Tagging"); len(got) != 1 || got[0] != "b=2" {
		t.Errorf("x-amz-tagging = %q, want the signed header's [b=2] only", got)
	}
	if r.Header.Get("X-Amz-Signature") != "" || r.Header.Get("X-Amz-Credential") != "" {
		t.Errorf("the signature's own parameters became headers: %v", r.Header)
	}
	for _, bad := range []string{"x-amz-meta-a=line%0Abreak", "x-amz-meta-a=nul%00", "x-amz-bad%20name=1", "x-amz-meta-%C3%BC=1"} {
		r := presigned(t, "PUT", "http://127.0.0.1:9000/bucket/key?"+bad, "", presignOpts{})
		_, _, err := a.Authenticate(r)
		if ae, ok := err.(*APIError); !ok || ae.Code != "InvalidArgument" || ae.Status != 400 {
			t.Errorf("%s: %v, want 400 InvalidArgument", bad, err)
		}
	}
}
