package integration

// Helpers of the end-to-end S3 suite: a real listener (package s3) over a
// real Badger store, served on 127.0.0.1 over TLS (so that aws-sdk-go-v2 at
// its default settings sends aws-chunked bodies with CRC32 trailers,
// STREAMING-UNSIGNED-PAYLOAD-TRAILER) and over plain HTTP (the AWS CLI
// commands of the seeds, raw requests), and real aws-sdk-go-v2 clients.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/wormfs/wormfs/meta"
	"github.com/wormfs/wormfs/meta/metatest"
	wormfs3 "github.com/wormfs/wormfs/s3"
)

// The root pair of every test listener (SPEC §1: may do everything).
const (
	rootAccessKey = "WORMFSTESTROOTKEY001"
	rootSecretKey = "wormfs/test/root/secret+key/0123456789"
	testRegion    = "us-east-1"
)

// s3Env is one listener over one store, reachable over TLS and plain HTTP.
type s3Env struct {
	Store    *meta.Store
	Server   *wormfs3.Server
	URL      string // https://127.0.0.1:PORT (TLS; SDK default client)
	PlainURL string // http://127.0.0.1:PORT
	TLSPort  string
	CertPEM  []byte         // the TLS listener's certificate (AWS_CA_BUNDLE)
	Roots    *x509.CertPool // trusts CertPEM
	Client   *s3.Client     // root user, path-style, over TLS, SDK defaults
	Log      *bytes.Buffer  // the listener's log
	noConfig string         // an empty shared config file

	// Requests seen and in flight at the listener (counted by a wrapper
	// of the handler in the test), so a test can wait until the listener
	// has finished with a request whose client went away.
	seen, inflight atomic.Int64
}

// waitIdle waits (at most 10 s) until the listener has seen more than
// seenBefore requests and none is in flight.
func (e *s3Env) waitIdle(t *testing.T, seenBefore int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.seen.Load() <= seenBefore || e.inflight.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("listener not idle after 10 s: seen %d (before %d), in flight %d", e.seen.Load(), seenBefore, e.inflight.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockedBuffer is a bytes.Buffer safe for the listener's concurrent logging.
type syncWriter struct {
	mu  chan struct{}
	buf *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu <- struct{}{}
	defer func() { <-w.mu }()
	return w.buf.Write(p)
}

// testS3 starts a listener with the root pair only.
func testS3(t *testing.T) *s3Env {
	return testS3With(t, nil)
}

// testS3With starts a listener with the root pair and users. Everything
// stops in t.Cleanup (servers first, then the store).
func testS3With(t *testing.T, users []wormfs3.User) *s3Env {
	t.Helper()
	st, err := meta.Open(meta.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("meta.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	logBuf := &bytes.Buffer{}
	lw := &syncWriter{mu: make(chan struct{}, 1), buf: logBuf}
	srv, err := wormfs3.New(st, wormfs3.Options{
		AccessKey: rootAccessKey,
		SecretKey: rootSecretKey,
		Users:     users,
		Region:    testRegion,
		Logger:    log.New(lw, "s3: ", log.LstdFlags|log.Lmicroseconds),
	})
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	certPEM, cert := testCert(t)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)

	e := &s3Env{}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.seen.Add(1)
		e.inflight.Add(1)
		defer e.inflight.Add(-1)
		srv.ServeHTTP(w, r)
	})
	tlsSrv := httptest.NewUnstartedServer(counted)
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	tlsSrv.StartTLS()
	plain := httptest.NewServer(counted)
	t.Cleanup(func() {
		plain.Close()
		tlsSrv.Close()
		if t.Failed() && logBuf.Len() > 0 {
			t.Logf("listener log:\n%s", tailString(logBuf.String(), 4000))
		}
	})
	_, port, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())
	e.Store, e.Server = st, srv
	e.URL, e.PlainURL, e.TLSPort = tlsSrv.URL, plain.URL, port
	e.CertPEM, e.Roots, e.Log = certPEM, roots, logBuf
	e.noConfig = filepath.Join(t.TempDir(), "empty-aws-config")
	if err := os.WriteFile(e.noConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Client = e.client(rootAccessKey, rootSecretKey)
	return e
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// testCert makes a self-signed certificate for 127.0.0.1, localhost and
// *.localhost (virtual-host-style requests).
func testCert(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "wormfs test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost", "*.localhost", vhostBucket + ".localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, cert
}

// httpClient is the SDK's own buildable client, trusting the test
// certificate, with names under localhost dialled on 127.0.0.1 (glibc does
// not resolve b.localhost; the SDK would otherwise fail to connect for
// virtual-host-style requests).
func (e *s3Env) httpClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.RootCAs = e.Roots
		d := &net.Dialer{Timeout: 10 * time.Second}
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if host == "localhost" || strings.HasSuffix(host, ".localhost") {
				host = "127.0.0.1"
			}
			if host != "127.0.0.1" {
				return nil, fmt.Errorf("test client dials loopback only, not %q", addr)
			}
			return d.DialContext(ctx, network, net.JoinHostPort(host, port))
		}
	})
}

// client returns an aws-sdk-go-v2 S3 client at its default settings (as
// config.LoadDefaultConfig makes them: CRC32 checksums when supported,
// standard retries) but for the endpoint (the TLS listener), region, static
// credentials and path style. Shared config files are not read (a
// developer's ~/.aws must not change the test). optFns may change more (a
// test says why when it does).
func (e *s3Env) client(ak, sk string, optFns ...func(*s3.Options)) *s3.Client {
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(testRegion),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(ak, sk, "")),
		config.WithHTTPClient(e.httpClient()),
		config.WithSharedConfigFiles([]string{e.noConfig}),
		config.WithSharedCredentialsFiles([]string{e.noConfig}),
	)
	if err != nil {
		panic(fmt.Sprintf("LoadDefaultConfig: %v", err))
	}
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) {
		o.BaseEndpoint = aws.String(e.URL)
		o.UsePathStyle = true
		// Logging only: GETs of objects stored without a checksum would
		// print a DEBUG line each.
		o.DisableLogOutputChecksumValidationSkipped = true
	}}, optFns...)...)
}

// plainClient is like client but over plain HTTP (the SDK then sends a
// signed payload hash and an x-amz-checksum-crc32 header instead of a
// trailer).
func (e *s3Env) plainClient(ak, sk string) *s3.Client {
	return e.client(ak, sk, func(o *s3.Options) { o.BaseEndpoint = aws.String(e.PlainURL) })
}

// ---- assertions on S3 errors ----

// apiErr returns the S3 error code and HTTP status of err ("" and 0 when
// err is nil or carries none).
func apiErr(err error) (string, int) {
	if err == nil {
		return "", 0
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

// wantErr fails unless err is the S3 error (status, code).
func wantErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %d %s, got success", status, code)
	}
	gotCode, gotStatus := apiErr(err)
	if gotCode != code || gotStatus != status {
		t.Fatalf("want %d %s, got %d %q: %v", status, code, gotStatus, gotCode, err)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		code, status := apiErr(err)
		t.Fatalf("%s: %v (status %d, code %q)", what, err, status, code)
	}
}

// ---- small S3 helpers ----

func (e *s3Env) ctx(t *testing.T) context.Context { return t.Context() }

// lockBucket creates a bucket with Object Lock (and so versioning) enabled.
func (e *s3Env) lockBucket(t *testing.T, name string) {
	t.Helper()
	_, err := e.Client.CreateBucket(t.Context(), &s3.CreateBucketInput{
		Bucket:                     aws.String(name),
		ObjectLockEnabledForBucket: aws.Bool(true),
	})
	must(t, err, "CreateBucket "+name)
}

// plainBucket creates a bucket without Object Lock, in versioning state
// "" (unversioned), "Enabled" or "Suspended".
func (e *s3Env) plainBucket(t *testing.T, name, versioning string) {
	t.Helper()
	_, err := e.Client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	must(t, err, "CreateBucket "+name)
	if versioning != "" {
		_, err = e.Client.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(name),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatus(versioning)},
		})
		must(t, err, "PutBucketVersioning "+name)
	}
}

// put writes an object with the default client and returns its version id.
func (e *s3Env) put(t *testing.T, bucket, key, body string, optFns ...func(*s3.PutObjectInput)) string {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}
	for _, f := range optFns {
		f(in)
	}
	out, err := e.Client.PutObject(t.Context(), in)
	must(t, err, "PutObject "+bucket+"/"+key)
	return aws.ToString(out.VersionId)
}

func (e *s3Env) getBody(t *testing.T, bucket, key, versionID string) string {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := e.Client.GetObject(t.Context(), in)
	must(t, err, "GetObject "+bucket+"/"+key)
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// retain sets retention on a version with the root client.
func (e *s3Env) retain(t *testing.T, bucket, key, vid string, mode types.ObjectLockRetentionMode, until time.Time) {
	t.Helper()
	_, err := e.Client.PutObjectRetention(t.Context(), &s3.PutObjectRetentionInput{
		Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(vid),
		Retention: &types.ObjectLockRetention{Mode: mode, RetainUntilDate: aws.Time(until)},
	})
	must(t, err, "PutObjectRetention")
}

// future is now + d, truncated to the second (S3 dates carry no more).
func future(d time.Duration) time.Time { return time.Now().Add(d).UTC().Truncate(time.Second) }

// storeVersion returns the store's record of a version ("" = latest).
func (e *s3Env) storeVersion(t *testing.T, bucket, key, vid string) *meta.Version {
	t.Helper()
	v, err := e.Store.Get(bucket, key, vid)
	if err != nil {
		t.Fatalf("store Get %s/%s@%s: %v", bucket, key, vid, err)
	}
	return v
}

// ---- the store digest: what "the store is unchanged" means ----

// bucketDigest is the part of storeDigest about one bucket (for tests
// that change other buckets at the same time).
func bucketDigest(t *testing.T, st *meta.Store, bucket string) string {
	t.Helper()
	var out []string
	in := false
	for _, line := range strings.Split(storeDigest(t, st), "\n") {
		switch {
		case strings.HasPrefix(line, "bucket "):
			in = strings.HasPrefix(line, "bucket "+bucket+" ")
		case !strings.HasPrefix(line, "  "):
			in = false
		}
		if in {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		t.Fatalf("bucket %s not in the store", bucket)
	}
	return strings.Join(out, "\n")
}

// storeDigest and assertUnchanged: "the store is unchanged" (metatest).
func storeDigest(t *testing.T, st *meta.Store) string { t.Helper(); return metatest.Digest(t, st) }

func assertUnchanged(t *testing.T, st *meta.Store, before string) {
	t.Helper()
	metatest.Unchanged(t, st, before)
}

// ---- raw signed requests (what the SDK will not send) ----

type rawResp struct {
	Status  int
	Code    string // <Error><Code>
	Message string
	Header  http.Header
	Body    []byte
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// rawRequest builds a request to the plain listener. rawPath is sent as is
// (no cleaning, no escaping beyond what the caller wrote).
func (e *s3Env) rawRequest(t *testing.T, method, rawPath, rawQuery string, body []byte, hdr http.Header) *http.Request {
	t.Helper()
	target := e.PlainURL + rawPath
	if rawQuery != "" {
		target += "?" + rawQuery
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("parse %q: %v", target, err)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.PlainURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL = u
	req.Host = u.Host
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req
}

// sign signs req with SigV4 for payloadHash (the X-Amz-Content-Sha256
// header is set to it first).
func sign(t *testing.T, req *http.Request, ak, sk, payloadHash string, at time.Time) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	err := signer.SignHTTP(t.Context(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, req, payloadHash, "s3", testRegion, at)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
}

// do sends req with a plain client and parses an S3 error body.
func do(t *testing.T, req *http.Request) *rawResp {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	r := &rawResp{Status: resp.StatusCode, Header: resp.Header, Body: body}
	var xe struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &xe) == nil {
		r.Code, r.Message = xe.Code, xe.Message
	}
	return r
}

// rawSigned sends a request signed by the root user with the real payload
// hash of body.
func (e *s3Env) rawSigned(t *testing.T, method, rawPath, rawQuery string, body []byte, hdr http.Header) *rawResp {
	t.Helper()
	req := e.rawRequest(t, method, rawPath, rawQuery, body, hdr)
	sign(t, req, rootAccessKey, rootSecretKey, sha256Hex(body), time.Now())
	return do(t, req)
}

func wantRaw(t *testing.T, r *rawResp, status int, code string) {
	t.Helper()
	if r.Status != status || r.Code != code {
		t.Fatalf("want %d %s, got %d %q (%s)", status, code, r.Status, r.Code, tailString(string(r.Body), 500))
	}
}

// requireEnv reports whether env name is "1" (CI requires the tool).
func requireEnv(name string) bool { return os.Getenv(name) == "1" }
