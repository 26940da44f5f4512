package s3

import (
	"crypto/md5"
	"encoding/base64"
	"strings"
	"testing"
)

// TestChecksumKnownVectors checks each algorithm against the published
// values for "hello world" in aws-sdk-go-v2's checksum package tests
// (service/internal/checksum/algorithms_test.go and
// middleware_compute_input_checksum_test.go).
func TestChecksumKnownVectors(t *testing.T) {
	want := map[string]string{
		"CRC32":     "DUoRhQ==",
		"CRC32C":    "yZRlqg==",
		"SHA1":      "Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
		"SHA256":    "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
		"CRC64NVME": "jSnVw/bqjr4=",
	}
	for _, name := range allChecksums {
		t.Run(name, func(t *testing.T) {
			alg := checksumByName(strings.ToLower(name))
			if alg == nil || alg.name != name || alg.header != "x-amz-checksum-"+strings.ToLower(name) {
				t.Fatalf("checksumByName(%q) = %+v", name, alg)
			}
			if checksumByHeader("X-Amz-Checksum-"+name) != alg {
				t.Fatal("checksumByHeader does not find it")
			}
			h := alg.new()
			h.Write([]byte("hello world"))
			got := base64.StdEncoding.EncodeToString(h.Sum(nil))
			if got != want[name] {
				t.Fatalf("%s(hello world) = %s, want %s", name, got, want[name])
			}
			if len(h.Sum(nil)) != alg.size {
				t.Fatalf("size %d, digest %d", alg.size, len(h.Sum(nil)))
			}
			// The test helper (standard library directly) agrees.
			if testChecksum(name, []byte("hello world")) != want[name] {
				t.Fatal("test helper disagrees")
			}
		})
	}
	if checksumByName("MD5") != nil || checksumByName("CRC64") != nil {
		t.Fatal("unknown algorithm found")
	}
}

func TestChecksumHeaders(t *testing.T) {
	a := testAuthenticator(t)
	body := []byte("the payload whose integrity is checked")
	md5b64 := func(b []byte) string { s := md5.Sum(b); return base64.StdEncoding.EncodeToString(s[:]) }
	type tc struct {
		name      string
		header    map[string]string
		method    string
		query     string
		unsigned  bool
		want      *APIError
		msg       string
		alg       string
		integrity bool
	}
	cases := []tc{
		{name: "no integrity headers", integrity: false},
		{name: "Content-MD5 good", header: map[string]string{"Content-Md5": md5b64(body)}, integrity: true},
		{name: "Content-MD5 mismatch", header: map[string]string{"Content-Md5": md5b64(body[1:])}, want: ErrBadDigest, msg: "Content-MD5"},
		{name: "Content-MD5 mismatch, unsigned payload", unsigned: true, header: map[string]string{"Content-Md5": md5b64(body[1:])}, want: ErrBadDigest},
		{name: "Content-MD5 not base64", header: map[string]string{"Content-Md5": "not base64!"}, want: ErrInvalidDigest},
		{name: "Content-MD5 wrong length", header: map[string]string{"Content-Md5": base64.StdEncoding.EncodeToString([]byte("short"))}, want: ErrInvalidDigest},
		{name: "Content-MD5 hex instead of base64", header: map[string]string{"Content-Md5": md5Hex(body)}, want: ErrInvalidDigest},
		{name: "two checksum headers", header: map[string]string{"X-Amz-Checksum-Crc32": testChecksum("CRC32", body), "X-Amz-Checksum-Sha1": testChecksum("SHA1", body)}, want: ErrMultipleChecksums},
		{name: "unsupported checksum header", header: map[string]string{"X-Amz-Checksum-Md5": md5b64(body)}, want: ErrUnsupportedChecksum},
		{name: "sdk algorithm unknown", header: map[string]string{"X-Amz-Sdk-Checksum-Algorithm": "MD5"}, want: ErrUnsupportedChecksum},
		{name: "sdk algorithm disagrees with header", header: map[string]string{"X-Amz-Sdk-Checksum-Algorithm": "CRC32C", "X-Amz-Checksum-Crc32": testChecksum("CRC32", body)}, want: ErrMultipleChecksums},
		{name: "sdk algorithm alone is computed", header: map[string]string{"X-Amz-Sdk-Checksum-Algorithm": "crc32c"}, alg: "CRC32C"},
		{name: "checksum type header is not a checksum", header: map[string]string{"X-Amz-Checksum-Type": "FULL_OBJECT", "X-Amz-Checksum-Algorithm": "CRC32"}},
		{name: "checksum mode header is not a checksum", method: "GET", header: map[string]string{"X-Amz-Checksum-Mode": "ENABLED"}},
		{name: "CompleteMultipartUpload object checksum is not the body's", method: "POST", query: "?uploadId=abc",
			header: map[string]string{"X-Amz-Checksum-Crc32": "AAAAAA=="}},
		{name: "x-amz-trailer without a trailer mode", header: map[string]string{"X-Amz-Trailer": "x-amz-checksum-crc32"}, want: ErrMalformedTrailer},
		{name: "aws-chunked encoding without a streaming payload", header: map[string]string{"Content-Encoding": "aws-chunked"}, want: ErrInvalidChunk},
	}
	for _, alg := range allChecksums {
		h := "X-Amz-Checksum-" + alg
		cases = append(cases,
			tc{name: alg + " good", header: map[string]string{h: testChecksum(alg, body)}, alg: alg, integrity: true},
			tc{name: alg + " good with sdk algorithm", header: map[string]string{h: testChecksum(alg, body), "X-Amz-Sdk-Checksum-Algorithm": alg}, alg: alg, integrity: true},
			tc{name: alg + " good, unsigned payload", unsigned: true, header: map[string]string{h: testChecksum(alg, body)}, alg: alg, integrity: true},
			tc{name: alg + " mismatch", header: map[string]string{h: testChecksum(alg, body[:len(body)-1])}, want: ErrBadDigest, msg: alg},
			tc{name: alg + " mismatch, unsigned payload", unsigned: true, header: map[string]string{h: testChecksum(alg, []byte("other"))}, want: ErrBadDigest, msg: alg},
			tc{name: alg + " malformed", header: map[string]string{h: "%%%"}, want: ErrInvalidDigest, msg: strings.ToLower(alg)},
			tc{name: alg + " wrong length", header: map[string]string{h: base64.StdEncoding.EncodeToString(make([]byte, 3))}, want: ErrInvalidDigest},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "PUT"
			}
			b := body
			if method == "GET" {
				b = nil
			}
			o := signOpts{header: c.header}
			if c.unsigned {
				o.payloadHash = unsignedPayload
			}
			r := newSigned(t, method, "http://127.0.0.1:9000/bucket/key"+c.query, b, o)
			_, got, data, err := authenticateAndRead(t, a, r)
			checkAPIError(t, err, c.want, c.msg)
			if err != nil {
				return
			}
			if string(data) != string(b) {
				t.Fatalf("body %q", data)
			}
			if got.ChecksumAlgorithm() != c.alg {
				t.Fatalf("ChecksumAlgorithm = %q, want %q", got.ChecksumAlgorithm(), c.alg)
			}
			if got.HasIntegrity() != c.integrity {
				t.Fatalf("HasIntegrity = %v, want %v", got.HasIntegrity(), c.integrity)
			}
			sums := got.Checksums()
			if sums["MD5"] != md5Hex(b) {
				t.Fatalf("MD5 = %q", sums["MD5"])
			}
			if c.alg != "" && sums[c.alg] != testChecksum(c.alg, b) {
				t.Fatalf("Checksums()[%s] = %q, want %q", c.alg, sums[c.alg], testChecksum(c.alg, b))
			}
			wantN := 1
			if c.alg != "" {
				wantN = 2
			}
			if len(sums) != wantN {
				t.Fatalf("Checksums = %v, want %d entries", sums, wantN)
			}
			if got.Size() != int64(len(b)) {
				t.Fatalf("Size = %d", got.Size())
			}
		})
	}
}

// TestChecksumsBeforeEOF: nothing is reported before the payload is read.
func TestChecksumsBeforeEOF(t *testing.T) {
	a := testAuthenticator(t)
	r := newSigned(t, "PUT", "http://127.0.0.1:9000/b/k", []byte("abc"), signOpts{header: map[string]string{"X-Amz-Checksum-Crc32": testChecksum("CRC32", []byte("abc"))}})
	_, b, err := a.Authenticate(r)
	if err != nil {
		t.Fatal(err)
	}
	if b.Checksums() != nil {
		t.Fatal("Checksums before reading")
	}
	if _, err := readBody(b); err != nil {
		t.Fatal(err)
	}
	if b.Checksums()["CRC32"] != testChecksum("CRC32", []byte("abc")) {
		t.Fatal(b.Checksums())
	}
	// The returned map is a copy.
	b.Checksums()["CRC32"] = "x"
	if b.Checksums()["CRC32"] == "x" {
		t.Fatal("Checksums returns internal state")
	}
}
