package integration

// Signed aws-chunked bodies (x-amz-content-sha256:
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD), framed and signed here with the
// SDK's own SigV4 chunk signer: a good one is stored, a changed chunk or
// chunk signature is refused and changes nothing.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signedChunkedPut sends data to rawPath as a signed aws-chunked PUT in
// chunks of chunkSize. tamper, when set, may change each chunk's data and
// signature after signing (i counts chunks from 0, the final empty one
// included).
func (e *s3Env) signedChunkedPut(t *testing.T, rawPath string, data []byte, chunkSize int,
	tamper func(i int, data []byte, sig string) ([]byte, string)) *rawResp {
	t.Helper()
	var chunks [][]byte
	for off := 0; off < len(data); off += chunkSize {
		chunks = append(chunks, data[off:min(off+chunkSize, len(data))])
	}
	chunks = append(chunks, nil) // the final, empty chunk
	const sigLen = 64
	encLen := 0
	for _, c := range chunks {
		encLen += len(fmt.Sprintf("%x;chunk-signature=", len(c))) + sigLen + 2 + len(c) + 2
	}
	req := e.rawRequest(t, "PUT", rawPath, "", nil, http.Header{
		"Content-Encoding":             {"aws-chunked"},
		"X-Amz-Decoded-Content-Length": {fmt.Sprint(len(data))},
	})
	req.ContentLength = int64(encLen)
	at := time.Now()
	sign(t, req, rootAccessKey, rootSecretKey, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", at)
	auth := req.Header.Get("Authorization")
	i := strings.Index(auth, "Signature=")
	if i < 0 {
		t.Fatalf("no signature in %q", auth)
	}
	seed, err := hex.DecodeString(auth[i+len("Signature="):])
	if err != nil {
		t.Fatal(err)
	}
	ss := v4.NewStreamSigner(aws.Credentials{AccessKeyID: rootAccessKey, SecretAccessKey: rootSecretKey}, "s3", testRegion, seed)
	var body bytes.Buffer
	for n, c := range chunks {
		sigb, err := ss.GetSignature(t.Context(), nil, c, at)
		if err != nil {
			t.Fatal(err)
		}
		sig := hex.EncodeToString(sigb)
		if tamper != nil {
			c, sig = tamper(n, append([]byte{}, c...), sig)
		}
		fmt.Fprintf(&body, "%x;chunk-signature=%s\r\n", len(c), sig)
		body.Write(c)
		body.WriteString("\r\n")
	}
	req.Body = http.NoBody
	if body.Len() > 0 {
		b := body.Bytes()
		req.Body = readCloser{bytes.NewReader(b)}
		req.ContentLength = int64(len(b))
	}
	return do(t, req)
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestS3SignedStreaming(t *testing.T) {
	e := testS3(t)
	const b = "stream-bucket"
	e.lockBucket(t, b)
	data := randBytes(t, 200<<10+123) // four chunks of 64 KiB, the last one short

	t.Run("valid signed chunks are stored", func(t *testing.T) {
		r := e.signedChunkedPut(t, "/"+b+"/good", data, 64<<10, nil)
		if r.Status != 200 {
			t.Fatalf("signed aws-chunked PUT: %d %s", r.Status, r.Body)
		}
		if got := e.getBody(t, b, "good", ""); got != string(data) {
			t.Fatalf("stored %d bytes that differ from the %d sent", len(got), len(data))
		}
		if v := e.storeVersion(t, b, "good", ""); v.ETag != md5hex(data) || v.Size != int64(len(data)) {
			t.Errorf("store version etag %s size %d", v.ETag, v.Size)
		}
	})
	tests := []struct {
		name   string
		tamper func(i int, data []byte, sig string) ([]byte, string)
	}{
		{"a byte of the third chunk changed", func(i int, d []byte, sig string) ([]byte, string) {
			if i == 2 {
				d[100] ^= 0xff
			}
			return d, sig
		}},
		{"the second chunk's signature is another chunk's", func() func(int, []byte, string) ([]byte, string) {
			var first string
			return func(i int, d []byte, sig string) ([]byte, string) {
				if i == 0 {
					first = sig
				}
				if i == 1 {
					return d, first
				}
				return d, sig
			}
		}()},
		{"the final chunk's signature is zeros", func(i int, d []byte, sig string) ([]byte, string) {
			if d == nil || len(d) == 0 {
				return d, strings.Repeat("0", 64)
			}
			return d, sig
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/403 SignatureDoesNotMatch", func(t *testing.T) {
			refusedRaw(t, e, 403, "SignatureDoesNotMatch", func() *rawResp {
				return e.signedChunkedPut(t, "/"+b+"/good", data, 64<<10, tc.tamper)
			})
		})
	}
}
