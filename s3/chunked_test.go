package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// chunkedSpec drives the test encoder of aws-chunked bodies, written from
// the AWS documentation (sigv4-streaming.html, sigv4-streaming-trailers.html)
// independently of chunked.go.
type chunkedSpec struct {
	signed      bool
	seed        string // request signature (hex), for signed chunks
	key         []byte
	amzDate     string
	scope       string
	chunkSize   int
	trailers    [][2]string // written in this order
	signTrailer bool
}

func encodeChunked(data []byte, s chunkedSpec) []byte {
	var out bytes.Buffer
	prev := s.seed
	sign := func(sts string) string {
		sig := hex.EncodeToString(hmacTest(s.key, sts))
		prev = sig
		return sig
	}
	chunk := func(d []byte) {
		out.WriteString(strconv.FormatInt(int64(len(d)), 16))
		if s.signed {
			sum := sha256.Sum256(d)
			out.WriteString(";chunk-signature=")
			out.WriteString(sign("AWS4-HMAC-SHA256-PAYLOAD\n" + s.amzDate + "\n" + s.scope + "\n" + prev + "\n" + emptySHA256Hex + "\n" + hex.EncodeToString(sum[:])))
		}
		out.WriteString("\r\n")
		if len(d) > 0 {
			out.Write(d)
			out.WriteString("\r\n")
		}
	}
	for off := 0; off < len(data); off += s.chunkSize {
		chunk(data[off:min(off+s.chunkSize, len(data))])
	}
	chunk(nil)
	for _, t := range s.trailers {
		out.WriteString(t[0] + ":" + t[1] + "\r\n")
	}
	if s.signTrailer {
		sorted := append([][2]string(nil), s.trailers...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i][0] < sorted[j][0] })
		var canon strings.Builder
		for _, t := range sorted {
			canon.WriteString(t[0] + ":" + t[1] + "\n")
		}
		out.WriteString("x-amz-trailer-signature:" + sign("AWS4-HMAC-SHA256-TRAILER\n"+s.amzDate+"\n"+s.scope+"\n"+prev+"\n"+sha256HexTest(canon.String())) + "\r\n")
	}
	out.WriteString("\r\n")
	return out.Bytes()
}

// testChecksum computes an S3 checksum with the standard library directly.
func testChecksum(alg string, data []byte) string {
	var sum []byte
	switch alg {
	case "CRC32":
		sum = crc32.NewIEEE().Sum(nil)
		h := crc32.NewIEEE()
		h.Write(data)
		sum = h.Sum(nil)
	case "CRC32C":
		h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
		h.Write(data)
		sum = h.Sum(nil)
	case "SHA1":
		s := sha1.Sum(data)
		sum = s[:]
	case "SHA256":
		s := sha256.Sum256(data)
		sum = s[:]
	case "CRC64NVME":
		h := crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
		h.Write(data)
		sum = h.Sum(nil)
	default:
		panic(alg)
	}
	return base64.StdEncoding.EncodeToString(sum)
}

var allChecksums = []string{"CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"}

// chunkedReq describes one aws-chunked request for newChunked.
type chunkedReq struct {
	mode         string // x-amz-content-sha256
	data         []byte
	chunkSize    int
	alg          string // trailer checksum ("" none)
	trailerValue string // overrides the computed trailer value
	noDeclared   bool   // omit x-amz-decoded-content-length
	declared     int64  // overrides x-amz-decoded-content-length when > 0
	header       map[string]string
	o            signOpts
	seedOverride string              // sign chunks with another seed
	mutate       func([]byte) []byte // applied to the encoded body after signing
}

// newChunked builds a signed aws-chunked PUT the way an SDK does: headers,
// Content-Length of the encoded body, SigV4 by aws-sdk-go-v2's signer, then
// the body encoded with the request signature as seed.
func newChunked(t testing.TB, c chunkedReq) *http.Request {
	t.Helper()
	if c.chunkSize == 0 {
		c.chunkSize = 8 << 10
	}
	o := c.o
	o.payloadHash = c.mode
	o = o.withDefaults(nil)
	signed := c.mode == streamingSigned || c.mode == streamingSignedTrailer
	spec := chunkedSpec{
		signed:      signed,
		seed:        strings.Repeat("0", 64),
		key:         testSigningKey(o.sk, o.at.Format("20060102"), o.region),
		amzDate:     o.at.Format(amzDateFormat),
		scope:       o.at.Format("20060102") + "/" + o.region + "/s3/aws4_request",
		chunkSize:   c.chunkSize,
		signTrailer: c.mode == streamingSignedTrailer,
	}
	r := httptest.NewRequest("PUT", "http://127.0.0.1:9000/bucket/object", nil)
	r.Header.Set("Content-Encoding", "aws-chunked")
	if !c.noDeclared {
		n := int64(len(c.data))
		if c.declared > 0 {
			n = c.declared
		}
		r.Header.Set("X-Amz-Decoded-Content-Length", itoa(n))
	}
	if c.alg != "" {
		v := c.trailerValue
		if v == "" {
			v = testChecksum(c.alg, c.data)
		}
		name := "x-amz-checksum-" + strings.ToLower(c.alg)
		spec.trailers = [][2]string{{name, v}}
		r.Header.Set("X-Amz-Trailer", name)
		r.Header.Set("X-Amz-Sdk-Checksum-Algorithm", c.alg)
	}
	for k, v := range c.header {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	r.ContentLength = int64(len(encodeChunked(c.data, spec)))
	r.Header.Set("Content-Length", itoa(r.ContentLength))
	r.Header.Set("X-Amz-Content-Sha256", c.mode)
	sdkSign(t, r, o)
	spec.seed = seedSignature(t, r)
	if c.seedOverride != "" {
		spec.seed = c.seedOverride
	}
	body := encodeChunked(c.data, spec)
	if c.mutate != nil {
		body = c.mutate(body)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return r
}

func testPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i*7%26)
	}
	return b
}

// flipAt flips one bit of the encoded body at the first occurrence of
// marker plus off.
func flipAt(marker string, off int) func([]byte) []byte {
	return func(b []byte) []byte {
		i := bytes.Index(b, []byte(marker))
		if i < 0 {
			panic("marker not found: " + marker)
		}
		b = bytes.Clone(b)
		b[i+off] ^= 1
		return b
	}
}

// changeHexAt replaces the hex digit at marker+off with another hex digit.
func changeHexAt(marker string, off int) func([]byte) []byte {
	return func(b []byte) []byte {
		i := bytes.Index(b, []byte(marker))
		if i < 0 {
			panic("marker not found: " + marker)
		}
		b = bytes.Clone(b)
		if b[i+off] == '0' {
			b[i+off] = '1'
		} else {
			b[i+off] = '0'
		}
		return b
	}
}

// TestChunkAWSDocumentedExample replays the signed streaming PUT of the S3
// guide ("Example: PUT Object", sigv4-streaming.html) with its published
// seed and chunk signatures, and checks that the test encoder reproduces
// those signatures.
func TestChunkAWSDocumentedExample(t *testing.T) {
	const (
		ak   = "AKIAIOSFODNN7EXAMPLE"
		sk   = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
		sig1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
		sig2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
		sig3 = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
	)
	data := bytes.Repeat([]byte{'a'}, 66560)
	enc := encodeChunked(data, chunkedSpec{signed: true, seed: seed, key: testSigningKey(sk, "20130524", "us-east-1"),
		amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request", chunkSize: 65536})
	for _, s := range []string{sig1, sig2, sig3} {
		if !bytes.Contains(enc, []byte("chunk-signature="+s)) {
			t.Fatalf("test encoder does not reproduce AWS's chunk signature %s", s)
		}
	}
	if len(enc) != 66824 {
		t.Fatalf("encoded length %d, AWS says 66824", len(enc))
	}
	now := time.Date(2013, 5, 24, 0, 1, 0, 0, time.UTC)
	a, err := NewAuthenticator(ak, sk, nil, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	build := func(body []byte) *http.Request {
		r := httptest.NewRequest("PUT", "http://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(body))
		r.ContentLength = 66824
		r.Header.Set("Content-Length", "66824")
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
		r.Header.Set("X-Amz-Content-Sha256", streamingSigned)
		r.Header.Set("Content-Encoding", "aws-chunked")
		r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+ak+"/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature="+seed)
		return r
	}
	_, b, got, err := authenticateAndRead(t, a, build(enc))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) || b.Size() != 66560 {
		t.Fatalf("decoded %d bytes, size %d", len(got), b.Size())
	}
	_, _, _, err = authenticateAndRead(t, a, build(flipAt("\r\naaaa", 100)(enc)))
	checkAPIError(t, err, ErrSignatureDoesNotMatch, "chunk")
}

func TestChunkSigned(t *testing.T) {
	a := testAuthenticator(t)
	data := testPayload(3*8192 + 1234)
	cases := []struct {
		name string
		req  chunkedReq
		want *APIError
		msg  string
	}{
		{"good, four chunks", chunkedReq{mode: streamingSigned, data: data}, nil, ""},
		{"good, one chunk", chunkedReq{mode: streamingSigned, data: data, chunkSize: 1 << 20}, nil, ""},
		{"good, 1-byte chunks", chunkedReq{mode: streamingSigned, data: data[:300], chunkSize: 1}, nil, ""},
		{"good, empty body", chunkedReq{mode: streamingSigned, data: nil}, nil, ""},
		{"good, other content encodings too", chunkedReq{mode: streamingSigned, data: data, header: map[string]string{"Content-Encoding": "gzip, aws-chunked"}}, nil, ""},
		{"good, user key", chunkedReq{mode: streamingSigned, data: data, o: signOpts{ak: testWriterAK, sk: testWriterSK}}, nil, ""},
		{"wrong secret", chunkedReq{mode: streamingSigned, data: data, o: signOpts{ak: testRootAK, sk: "not-the-secret"}}, ErrSignatureDoesNotMatch, ""},
		{"tampered chunk data", chunkedReq{mode: streamingSigned, data: data, mutate: flipAt("\r\n", 5000)}, ErrSignatureDoesNotMatch, "chunk"},
		{"tampered last chunk data", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte {
			i := bytes.LastIndex(b, []byte("\r\n0;chunk-signature"))
			b = bytes.Clone(b)
			b[i-1] ^= 1
			return b
		}}, ErrSignatureDoesNotMatch, "chunk"},
		{"tampered chunk signature", chunkedReq{mode: streamingSigned, data: data, mutate: changeHexAt("chunk-signature=", 20)}, ErrSignatureDoesNotMatch, "chunk"},
		{"tampered final chunk signature", chunkedReq{mode: streamingSigned, data: data, mutate: changeHexAt("\r\n0;chunk-signature=", 27)}, ErrSignatureDoesNotMatch, "final"},
		{"chain from another seed", chunkedReq{mode: streamingSigned, data: data, seedOverride: strings.Repeat("ab", 32)}, ErrSignatureDoesNotMatch, ""},
		{"chunks swapped", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte {
			// Swap the first two (equal-sized) chunks.
			n := len("2000;chunk-signature=") + 64 + 2 + 8192 + 2
			out := append(append(append([]byte(nil), b[n:2*n]...), b[:n]...), b[2*n:]...)
			return out
		}}, ErrSignatureDoesNotMatch, ""},
		{"chunk dropped", chunkedReq{mode: streamingSigned, data: data, declared: int64(len(data) - 8192), mutate: func(b []byte) []byte {
			n := len("2000;chunk-signature=") + 64 + 2 + 8192 + 2
			return append(append([]byte(nil), b[:n]...), b[2*n:]...)
		}}, ErrSignatureDoesNotMatch, ""},
		{"truncated in the final chunk", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte { return b[:len(b)-10] }}, ErrIncompleteBody, ""},
		{"truncated in data", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte { return b[:9000] }}, ErrIncompleteBody, ""},
		{"final chunk missing", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte {
			return b[:bytes.LastIndex(b, []byte("0;chunk-signature"))]
		}}, ErrIncompleteBody, ""},
		{"data after the final chunk", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte { return append(bytes.Clone(b), "extra"...) }}, ErrInvalidChunk, "after"},
		{"declared length larger", chunkedReq{mode: streamingSigned, data: data, declared: int64(len(data) + 1)}, ErrIncompleteBody, "x-amz-decoded-content-length"},
		{"declared length smaller", chunkedReq{mode: streamingSigned, data: data, declared: int64(len(data) - 1)}, ErrInvalidChunk, "add up"},
		{"declared length missing", chunkedReq{mode: streamingSigned, data: data, noDeclared: true}, ErrMissingContentLength, ""},
		{"declared length malformed", chunkedReq{mode: streamingSigned, data: data, header: map[string]string{"X-Amz-Decoded-Content-Length": "12x"}}, ErrInvalidChunk, ""},
		{"declared length over 5 GiB", chunkedReq{mode: streamingSigned, data: data, header: map[string]string{"X-Amz-Decoded-Content-Length": "5368709121"}}, ErrEntityTooLarge, ""},
		{"chunk size larger than its data", chunkedReq{mode: streamingSigned, data: data, declared: int64(len(data) + 1), mutate: func(b []byte) []byte {
			return bytes.Replace(b, []byte("2000;"), []byte("2001;"), 1)
		}}, ErrInvalidChunk, "CRLF"},
		{"chunk size not hex", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte {
			return bytes.Replace(b, []byte("2000;"), []byte("20x0;"), 1)
		}}, ErrInvalidChunk, "hexadecimal"},
		{"chunk size negative", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte {
			return bytes.Replace(b, []byte("2000;"), []byte("-2000;"), 1)
		}}, ErrInvalidChunk, "hexadecimal"},
		{"chunk size huge", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte {
			return bytes.Replace(b, []byte("2000;"), []byte("ffffffffffffffff;"), 1)
		}}, ErrEntityTooLarge, ""},
		{"chunk-signature missing", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte {
			i := bytes.Index(b, []byte(";chunk-signature="))
			return append(append([]byte(nil), b[:i]...), b[i+len(";chunk-signature=")+64:]...)
		}}, ErrInvalidChunk, "chunk-signature"},
		{"chunk header without CRLF", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte {
			i := bytes.Index(b, []byte("\r\n"))
			b = bytes.Clone(b)
			b[i] = ' '
			return b
		}}, ErrInvalidChunk, ""},
		{"chunk header line too long", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte {
			return append([]byte("2000;"+strings.Repeat("x", 40000)), b...)
		}}, ErrInvalidChunk, "too long"},
		{"trailer in a mode without trailers", chunkedReq{mode: streamingSigned, data: data, mutate: func(b []byte) []byte {
			return append(bytes.Clone(b[:len(b)-2]), "x-amz-checksum-crc32:AAAAAA==\r\n\r\n"...)
		}}, ErrInvalidChunk, "trailers"},
		{"x-amz-trailer in a mode without trailers", chunkedReq{mode: streamingSigned, data: data, header: map[string]string{"X-Amz-Trailer": "x-amz-checksum-crc32"}}, ErrMalformedTrailer, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, b, got, err := authenticateAndRead(t, a, newChunked(t, c.req))
			checkAPIError(t, err, c.want, c.msg)
			if c.want == nil {
				if !bytes.Equal(got, c.req.data) {
					t.Fatalf("decoded %d bytes, want %d", len(got), len(c.req.data))
				}
				if b.Size() != int64(len(c.req.data)) {
					t.Fatalf("Size = %d", b.Size())
				}
				if b.Checksums()["MD5"] != md5Hex(c.req.data) {
					t.Fatal("MD5 of the decoded payload is wrong")
				}
			}
		})
	}
}

func TestChunkTrailers(t *testing.T) {
	a := testAuthenticator(t)
	data := testPayload(70000)
	type tc struct {
		name string
		req  chunkedReq
		want *APIError
		msg  string
	}
	var cases []tc
	for _, mode := range []string{streamingUnsignedTrailer, streamingSignedTrailer} {
		short, tamperWant := "unsigned", ErrBadDigest // the CRC catches tampered data
		if mode == streamingSignedTrailer {
			short, tamperWant = "signed", ErrSignatureDoesNotMatch // the chunk signature does
		}
		for _, alg := range allChecksums {
			cases = append(cases,
				tc{short + " " + alg + " good", chunkedReq{mode: mode, data: data, alg: alg, chunkSize: 64 << 10}, nil, ""},
				tc{short + " " + alg + " wrong checksum", chunkedReq{mode: mode, data: data, alg: alg, trailerValue: testChecksum(alg, data[1:])}, ErrBadDigest, alg},
				tc{short + " " + alg + " malformed checksum", chunkedReq{mode: mode, data: data, alg: alg, trailerValue: "!!notbase64"}, ErrInvalidDigest, ""},
			)
		}
		cases = append(cases,
			tc{short + " good, empty body", chunkedReq{mode: mode, data: nil, alg: "CRC32"}, nil, ""},
			tc{short + " good, no declared length", chunkedReq{mode: mode, data: data, alg: "CRC32", noDeclared: true}, nil, ""},
			tc{short + " trailer announced but not sent", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: func(b []byte) []byte {
				i := bytes.Index(b, []byte("x-amz-checksum-crc32:"))
				return append(bytes.Clone(b[:i]), "\r\n"...)
			}}, ErrMalformedTrailer, ""},
			tc{short + " trailer not announced", chunkedReq{mode: mode, data: data, alg: "CRC32", header: map[string]string{"X-Amz-Trailer": "", "X-Amz-Sdk-Checksum-Algorithm": ""}}, ErrMalformedTrailer, "announced"},
			tc{short + " trailer line malformed", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: func(b []byte) []byte {
				return bytes.Replace(b, []byte("x-amz-checksum-crc32:"), []byte("x-amz-checksum-crc32 "), 1)
			}}, ErrMalformedTrailer, ""},
			tc{short + " trailer sent twice", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: func(b []byte) []byte {
				i := bytes.Index(b, []byte("x-amz-checksum-crc32:"))
				j := i + bytes.Index(b[i:], []byte("\r\n")) + 2
				line := b[i:j]
				return append(append(append([]byte(nil), b[:j]...), line...), b[j:]...)
			}}, ErrMalformedTrailer, ""},
			tc{short + " terminating CRLF missing", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: func(b []byte) []byte { return b[:len(b)-2] }}, ErrIncompleteBody, ""},
			tc{short + " tampered data", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: flipAt("\r\n", 3000)}, tamperWant, ""},
			tc{short + " two checksum trailers", chunkedReq{mode: mode, data: data, alg: "CRC32", header: map[string]string{"X-Amz-Trailer": "x-amz-checksum-crc32,x-amz-checksum-sha1"}}, ErrMultipleChecksums, ""},
			tc{short + " trailer and header checksum", chunkedReq{mode: mode, data: data, alg: "CRC32", header: map[string]string{"X-Amz-Checksum-Sha256": testChecksum("SHA256", data)}}, ErrMultipleChecksums, ""},
			tc{short + " sdk algorithm disagrees", chunkedReq{mode: mode, data: data, alg: "CRC32", header: map[string]string{"X-Amz-Sdk-Checksum-Algorithm": "SHA1"}}, ErrMultipleChecksums, ""},
			tc{short + " unsupported trailer algorithm", chunkedReq{mode: mode, data: data, header: map[string]string{"X-Amz-Trailer": "x-amz-checksum-md5"}}, ErrUnsupportedChecksum, ""},
			tc{short + " non-checksum trailer", chunkedReq{mode: mode, data: data, header: map[string]string{"X-Amz-Trailer": "x-amz-meta-foo"}}, ErrMalformedTrailer, ""},
			tc{short + " data after the end", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: func(b []byte) []byte { return append(bytes.Clone(b), 'x') }}, ErrInvalidChunk, "after"},
		)
		if mode == streamingSignedTrailer {
			cases = append(cases,
				tc{"signed trailer signature tampered", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: changeHexAt("x-amz-trailer-signature:", 30)}, ErrSignatureDoesNotMatch, "trailer"},
				tc{"signed trailer value changed with valid checksum of other data", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: func(b []byte) []byte {
					return bytes.Replace(b, []byte(testChecksum("CRC32", data)), []byte(testChecksum("CRC32", data[1:])), 1)
				}}, ErrSignatureDoesNotMatch, "trailer"},
				tc{"signed trailer signature missing", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: func(b []byte) []byte {
					i := bytes.Index(b, []byte("x-amz-trailer-signature:"))
					return append(bytes.Clone(b[:i]), "\r\n"...)
				}}, ErrMalformedTrailer, "x-amz-trailer-signature"},
				tc{"signed trailer signature malformed", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: func(b []byte) []byte {
					return bytes.Replace(b, []byte("x-amz-trailer-signature:"), []byte("x-amz-trailer-signature:zz"), 1)
				}}, ErrMalformedTrailer, ""},
			)
		} else {
			cases = append(cases,
				tc{"unsigned trailer signature in unsigned mode", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: func(b []byte) []byte {
					return append(bytes.Clone(b[:len(b)-2]), "x-amz-trailer-signature:"+strings.Repeat("0", 64)+"\r\n\r\n"...)
				}}, ErrMalformedTrailer, ""},
				tc{"unsigned no trailer at all", chunkedReq{mode: mode, data: data}, nil, ""},
				tc{"unsigned chunk with extension", chunkedReq{mode: mode, data: data, alg: "CRC32", mutate: func(b []byte) []byte {
					return bytes.Replace(b, []byte("2000\r\n"), []byte("2000;foo=bar\r\n"), 1)
				}}, nil, ""},
			)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, b, got, err := authenticateAndRead(t, a, newChunked(t, c.req))
			checkAPIError(t, err, c.want, c.msg)
			if c.want != nil {
				return
			}
			if !bytes.Equal(got, c.req.data) {
				t.Fatalf("decoded %d bytes, want %d", len(got), len(c.req.data))
			}
			sums := b.Checksums()
			if c.req.alg != "" {
				if sums[c.req.alg] != testChecksum(c.req.alg, c.req.data) {
					t.Fatalf("Checksums()[%s] = %q, want %q", c.req.alg, sums[c.req.alg], testChecksum(c.req.alg, c.req.data))
				}
				if b.ChecksumAlgorithm() != c.req.alg || !b.HasIntegrity() {
					t.Fatalf("ChecksumAlgorithm = %q, HasIntegrity = %v", b.ChecksumAlgorithm(), b.HasIntegrity())
				}
			} else if b.HasIntegrity() || b.ChecksumAlgorithm() != "" {
				t.Fatal("integrity reported without a checksum")
			}
			if sums["MD5"] != md5Hex(c.req.data) {
				t.Fatal("MD5 wrong")
			}
		})
	}
}

// TestChunkNoEOFBeforeChecks: for every failing body, no Read returns
// io.EOF, and Checksums stays nil.
func TestChunkNoEOFBeforeChecks(t *testing.T) {
	a := testAuthenticator(t)
	data := testPayload(20000)
	for _, req := range []chunkedReq{
		{mode: streamingUnsignedTrailer, data: data, alg: "CRC64NVME", trailerValue: testChecksum("CRC64NVME", data[:1])},
		{mode: streamingSigned, data: data, mutate: flipAt("\r\n", 100)},
		{mode: streamingSignedTrailer, data: data, alg: "SHA256", mutate: changeHexAt("x-amz-trailer-signature:", 40)},
	} {
		_, b, err := a.Authenticate(newChunked(t, req))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 333)
		for i := 0; ; i++ {
			_, err := b.Read(buf)
			if err == io.EOF {
				t.Fatal("a failing body reached EOF")
			}
			if err != nil {
				break
			}
			if i > 1000 {
				t.Fatal("no end")
			}
		}
		if b.Checksums() != nil {
			t.Fatal("Checksums of a failed body")
		}
	}
}

// captured is what the test server's handler saw of one request.
type captured struct {
	host      string
	path      string
	header    http.Header
	body      []byte
	sums      map[string]string
	alg       string
	integrity bool
	size      int64
	err       error
}

// sdkServer starts a loopback server whose handler authenticates each
// request and reads its body to the end, like the listener's handlers do.
func sdkServer(t *testing.T, useTLS bool, a *Authenticator) (*httptest.Server, <-chan captured) {
	t.Helper()
	seen := make(chan captured, 16)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := captured{host: r.Host, path: r.URL.Path, header: r.Header.Clone()}
		_, b, err := a.Authenticate(r)
		if err == nil {
			c.body, err = io.ReadAll(b)
			c.sums, c.alg, c.integrity, c.size = b.Checksums(), b.ChecksumAlgorithm(), b.HasIntegrity(), b.Size()
		}
		c.err = err
		seen <- c
		if err != nil {
			writeError(w, r, nil, "test-request", err)
			return
		}
		w.Header().Set("ETag", `"`+c.sums["MD5"]+`"`)
		w.WriteHeader(http.StatusOK)
	})
	var srv *httptest.Server
	if useTLS {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, seen
}

// sdkClient is an S3 client with the SDK's default configuration (as
// config.LoadDefaultConfig gives it: checksums "when supported"), pointed at
// srv, ignoring any shared config files of the machine.
func sdkClient(t testing.TB, srv *httptest.Server, ak, sk string, rt func(http.RoundTripper) http.RoundTripper) *awss3.Client {
	t.Helper()
	copied := *srv.Client() // srv.Client() is shared: wrap a copy
	hc := &copied
	if rt != nil {
		hc.Transport = rt(hc.Transport)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(testRegion),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(ak, sk, "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithRetryMaxAttempts(1),
	)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenSupported {
		t.Fatalf("the SDK default is not WhenSupported here (%v): is AWS_REQUEST_CHECKSUM_CALCULATION set?", cfg.RequestChecksumCalculation)
	}
	return awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.UsePathStyle = true
		o.HTTPClient = hc
	})
}

// tamper flips one byte of every request body at offset at, after the SDK
// has computed its checksums and signature.
type tamper struct {
	base http.RoundTripper
	at   int
}

func (t tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = &flipReader{r: r.Body, at: t.at}
	}
	return t.base.RoundTrip(r)
}

type flipReader struct {
	r   io.ReadCloser
	at  int
	off int
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+n {
		p[f.at-f.off] ^= 0x20
	}
	f.off += n
	return n, err
}

func (f *flipReader) Close() error { return f.r.Close() }

// onlyReader hides Seek, so the SDK cannot know the length in advance.
type onlyReader struct{ io.Reader }

// TestChunkSDKPutObject sends PutObject with a real aws-sdk-go-v2 S3 client
// through a loopback server whose handler calls Authenticate and reads the
// body: over TLS the SDK's default is STREAMING-UNSIGNED-PAYLOAD-TRAILER with
// a CRC32 trailer; over plain HTTP a hex SHA-256 and a checksum header.
func TestChunkSDKPutObject(t *testing.T) {
	a, err := NewAuthenticator(testRootAK, testRootSK, []User{{AccessKey: testWriterAK, SecretKey: testWriterSK, Allow: []string{"write"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv, tlsSeen := sdkServer(t, true, a)
	plainSrv, plainSeen := sdkServer(t, false, a)
	data := testPayload(200 << 10)
	cases := []struct {
		name        string
		tls         bool
		alg         types.ChecksumAlgorithm
		md5         bool
		unseekable  bool
		wantPayload string // x-amz-content-sha256 the SDK sent ("hex" for a digest)
		wantAlg     string
		wantTrailer bool
	}{
		{name: "TLS default", tls: true, wantPayload: streamingUnsignedTrailer, wantAlg: "CRC32", wantTrailer: true},
		{name: "TLS CRC32", tls: true, alg: types.ChecksumAlgorithmCrc32, wantPayload: streamingUnsignedTrailer, wantAlg: "CRC32", wantTrailer: true},
		{name: "TLS CRC32C", tls: true, alg: types.ChecksumAlgorithmCrc32c, wantPayload: streamingUnsignedTrailer, wantAlg: "CRC32C", wantTrailer: true},
		{name: "TLS SHA1", tls: true, alg: types.ChecksumAlgorithmSha1, wantPayload: streamingUnsignedTrailer, wantAlg: "SHA1", wantTrailer: true},
		{name: "TLS SHA256", tls: true, alg: types.ChecksumAlgorithmSha256, wantPayload: streamingUnsignedTrailer, wantAlg: "SHA256", wantTrailer: true},
		{name: "TLS CRC64NVME", tls: true, alg: types.ChecksumAlgorithmCrc64nvme, wantPayload: streamingUnsignedTrailer, wantAlg: "CRC64NVME", wantTrailer: true},
		{name: "TLS unseekable body", tls: true, unseekable: true, wantPayload: streamingUnsignedTrailer, wantAlg: "CRC32", wantTrailer: true},
		{name: "HTTP default", wantPayload: "hex", wantAlg: "CRC32"},
		{name: "HTTP CRC64NVME", alg: types.ChecksumAlgorithmCrc64nvme, wantPayload: "hex", wantAlg: "CRC64NVME"},
		{name: "HTTP with Content-MD5", md5: true, wantPayload: "hex", wantAlg: "CRC32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, seen := plainSrv, plainSeen
			if c.tls {
				srv, seen = tlsSrv, tlsSeen
			}
			in := &awss3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("dir/obj ect.bin"), Body: bytes.NewReader(data), ChecksumAlgorithm: c.alg}
			if c.unseekable {
				in.Body = onlyReader{bytes.NewReader(data)}
			}
			if c.md5 {
				s := md5.Sum(data)
				in.ContentMD5 = aws.String(base64.StdEncoding.EncodeToString(s[:]))
			}
			out, err := sdkClient(t, srv, testWriterAK, testWriterSK, nil).PutObject(context.Background(), in)
			got := recvCaptured(t, seen)
			if err != nil {
				t.Fatalf("PutObject: %v (server saw %v)", err, got.err)
			}
			if got.err != nil || !bytes.Equal(got.body, data) {
				t.Fatalf("server: err %v, %d bytes", got.err, len(got.body))
			}
			payload := got.header.Get("X-Amz-Content-Sha256")
			if c.wantPayload == "hex" {
				if payload != sha256HexTest(string(data)) {
					t.Fatalf("x-amz-content-sha256 = %q, want the hex digest", payload)
				}
			} else if payload != c.wantPayload {
				t.Fatalf("x-amz-content-sha256 = %q, want %q", payload, c.wantPayload)
			}
			if trailer := got.header.Get("X-Amz-Trailer"); (trailer != "") != c.wantTrailer {
				t.Fatalf("x-amz-trailer = %q", trailer)
			}
			if got.alg != c.wantAlg || !got.integrity {
				t.Fatalf("algorithm %q, integrity %v", got.alg, got.integrity)
			}
			if got.sums[c.wantAlg] != testChecksum(c.wantAlg, data) || got.sums["MD5"] != md5Hex(data) {
				t.Fatalf("checksums %v", got.sums)
			}
			if !c.unseekable && got.size != int64(len(data)) {
				t.Fatalf("Size = %d", got.size)
			}
			if aws.ToString(out.ETag) != `"`+md5Hex(data)+`"` {
				t.Fatalf("ETag %q", aws.ToString(out.ETag))
			}
		})
	}
}

// TestChunkSDKRejects: what the SDK sends, tampered on the wire or signed
// with the wrong key, is refused with the code the SDK reports.
func TestChunkSDKRejects(t *testing.T) {
	a, err := NewAuthenticator(testRootAK, testRootSK, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv, tlsSeen := sdkServer(t, true, a)
	plainSrv, plainSeen := sdkServer(t, false, a)
	data := testPayload(100 << 10)
	flip := func(rt http.RoundTripper) http.RoundTripper { return tamper{base: rt, at: 50 << 10} }
	cases := []struct {
		name     string
		tls      bool
		alg      types.ChecksumAlgorithm
		sk       string
		rt       func(http.RoundTripper) http.RoundTripper
		wantCode string
		want     *APIError
	}{
		{"TLS trailer CRC32, body tampered", true, "", testRootSK, flip, "BadDigest", ErrBadDigest},
		{"TLS trailer CRC64NVME, body tampered", true, types.ChecksumAlgorithmCrc64nvme, testRootSK, flip, "BadDigest", ErrBadDigest},
		{"HTTP hex sha256, body tampered", false, "", testRootSK, flip, "XAmzContentSHA256Mismatch", ErrContentSHA256Mismatch},
		{"TLS wrong secret", true, "", "wrong-secret-key", nil, "SignatureDoesNotMatch", ErrSignatureDoesNotMatch},
		{"HTTP wrong secret", false, "", "wrong-secret-key", nil, "SignatureDoesNotMatch", ErrSignatureDoesNotMatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, seen := plainSrv, plainSeen
			if c.tls {
				srv, seen = tlsSrv, tlsSeen
			}
			_, err := sdkClient(t, srv, testRootAK, c.sk, c.rt).PutObject(context.Background(), &awss3.PutObjectInput{
				Bucket: aws.String("bucket"), Key: aws.String("k"), Body: bytes.NewReader(data), ChecksumAlgorithm: c.alg})
			got := recvCaptured(t, seen)
			checkAPIError(t, got.err, c.want, "")
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != c.wantCode {
				t.Fatalf("SDK error = %v, want code %s", err, c.wantCode)
			}
		})
	}
}

// TestChunkIncompleteBodyOnTheWire: a client that announces more bytes than
// it sends gets IncompleteBody, whether it hangs up or goes quiet (then the
// server's read timeout ends the wait).
func TestChunkIncompleteBodyOnTheWire(t *testing.T) {
	a := testAuthenticator(t)
	nowA := *a
	nowA.now = time.Now
	seen := make(chan error, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, b, err := nowA.Authenticate(r)
		if err == nil {
			_, err = io.ReadAll(b)
		}
		seen <- err
		w.WriteHeader(http.StatusBadRequest)
	}))
	srv.Config.ReadTimeout = 700 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	for _, hangUp := range []bool{true, false} {
		name := "client goes quiet"
		if hangUp {
			name = "client hangs up"
		}
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("PUT", "http://"+host+"/bucket/key", nil)
			r.ContentLength = 1000
			r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
			sdkSign(t, r, signOpts{payloadHash: unsignedPayload, at: time.Now()}.withDefaults(nil))
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var head strings.Builder
			head.WriteString("PUT /bucket/key HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 1000\r\n")
			for k, vs := range r.Header {
				for _, v := range vs {
					head.WriteString(k + ": " + v + "\r\n")
				}
			}
			head.WriteString("\r\n")
			if _, err := io.WriteString(conn, head.String()+strings.Repeat("x", 10)); err != nil {
				t.Fatal(err)
			}
			if hangUp {
				conn.(*net.TCPConn).CloseWrite()
			}
			select {
			case err := <-seen:
				checkAPIError(t, err, ErrIncompleteBody, "")
			case <-time.After(10 * time.Second):
				t.Fatal("the handler is still waiting for the body")
			}
		})
	}
}

// BenchmarkChunkDecode measures Authenticate plus reading an 8 MiB body in
// each payload mode (64 KiB chunks), checksums included.
func BenchmarkChunkDecode(b *testing.B) {
	a := testAuthenticator(b)
	data := testPayload(8 << 20)
	for _, bc := range []struct {
		name string
		req  func() *http.Request
	}{
		{"signed-chunks", func() *http.Request {
			return newChunked(b, chunkedReq{mode: streamingSigned, data: data, chunkSize: 64 << 10})
		}},
		{"unsigned-trailer-crc32", func() *http.Request {
			return newChunked(b, chunkedReq{mode: streamingUnsignedTrailer, data: data, chunkSize: 64 << 10, alg: "CRC32"})
		}},
		{"unsigned-trailer-crc64nvme", func() *http.Request {
			return newChunked(b, chunkedReq{mode: streamingUnsignedTrailer, data: data, chunkSize: 64 << 10, alg: "CRC64NVME"})
		}},
		{"plain-sha256", func() *http.Request { return newSigned(b, "PUT", "http://127.0.0.1:9000/b/k", data, signOpts{}) }},
		{"plain-unsigned", func() *http.Request {
			return newSigned(b, "PUT", "http://127.0.0.1:9000/b/k", data, signOpts{payloadHash: unsignedPayload})
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				r := bc.req()
				b.StartTimer()
				_, body, err := a.Authenticate(r)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
