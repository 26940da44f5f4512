package s3

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseAuthorization: any Authorization header is parsed without a
// panic; what parses is well-formed; and Authenticate accepts only the one
// header that was really signed for the request.
func FuzzParseAuthorization(f *testing.F) {
	a := testAuthenticator(f)
	seed := newSigned(f, "GET", "http://127.0.0.1:9000/bucket/key?acl", nil, signOpts{})
	good := seed.Header.Get("Authorization")
	goodFields, err := parseAuthorization(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(strings.ReplaceAll(good, ", ", ","))
	f.Add("AWS4-HMAC-SHA256 Credential=a/20261130/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("0", 64))
	f.Add("AWS4-HMAC-SHA256 Credential=//////, SignedHeaders=;;, Signature=")
	f.Add("AWS AKID:sig")
	f.Add("AWS4-HMAC-SHA256 ,,,==,")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		fields, err := parseAuthorization(h)
		if err == nil {
			if len(fields.signature) != 32 || fields.cred.service != "s3" || fields.cred.accessKey == "" || !validRegion(fields.cred.region) {
				t.Fatalf("accepted malformed fields %+v", fields)
			}
			host := false
			for _, n := range fields.signedHeaders {
				host = host || n == "host"
			}
			if !host {
				t.Fatal("accepted SignedHeaders without host")
			}
		} else if _, ok := err.(*APIError); !ok {
			t.Fatalf("error %T is not an *APIError", err)
		}
		r := seed.Clone(seed.Context())
		r.Header.Set("Authorization", h)
		_, _, err = a.Authenticate(r)
		if err == nil && !reflect.DeepEqual(fields, goodFields) {
			t.Fatalf("accepted a header that was not signed: %q", h)
		}
	})
}

// FuzzChunkedDecoder: any aws-chunked body is decoded without a panic, and a
// body is accepted only when all its checks hold: for signed chunks only the
// signed payload itself; for the unsigned trailer only a payload whose
// CRC32 is the one in the trailer; and always exactly the declared length.
func FuzzChunkedDecoder(f *testing.F) {
	payload := testPayload(300)
	const chunk = 100
	modes := []payloadMode{payloadStreamSigned, payloadStreamSignedTrailer, payloadStreamUnsignedTrailer}
	secret := testRootSK
	key := testSigningKey(secret, "20261130", "us-east-1")
	seedSig := strings.Repeat("5a", 32)
	spec := func(m payloadMode) chunkedSpec {
		s := chunkedSpec{
			signed: m.signedChunks(), seed: seedSig, key: key, amzDate: "20261130T120000Z",
			scope: "20261130/us-east-1/s3/aws4_request", chunkSize: chunk, signTrailer: m == payloadStreamSignedTrailer,
		}
		switch m {
		case payloadStreamSignedTrailer:
			s.trailers = [][2]string{{"x-amz-checksum-crc32c", testChecksum("CRC32C", payload)}}
		case payloadStreamUnsignedTrailer:
			s.trailers = [][2]string{{"x-amz-checksum-crc32", testChecksum("CRC32", payload)}}
		}
		return s
	}
	for i, m := range modes {
		enc := encodeChunked(payload, spec(m))
		f.Add(enc, uint8(i))
		f.Add(enc[:len(enc)-3], uint8(i))
		f.Add(append(bytes.Clone(enc), "0\r\n\r\n"...), uint8(i))
		f.Add(bytes.Replace(enc, []byte("64"), []byte("65"), 1), uint8(i))
	}
	f.Add([]byte("0\r\n\r\n"), uint8(2))
	f.Add([]byte("12c\r\n"+string(payload)+"\r\n0\r\nx-amz-checksum-crc32:"+testChecksum("CRC32", payload)+"\r\n\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, body []byte, modeIdx uint8) {
		m := modes[int(modeIdx)%len(modes)]
		r, _ := http.NewRequest("PUT", "http://127.0.0.1:9000/bucket/key", bytes.NewReader(body))
		r.Header.Set("X-Amz-Decoded-Content-Length", "300")
		r.Header.Set("Content-Encoding", "aws-chunked")
		var alg string
		switch m {
		case payloadStreamSignedTrailer:
			alg = "CRC32C"
		case payloadStreamUnsignedTrailer:
			alg = "CRC32"
		}
		if alg != "" {
			r.Header.Set("X-Amz-Trailer", "x-amz-checksum-"+strings.ToLower(alg))
		}
		o := bodyOptions{mode: m}
		if m.signedChunks() {
			prev, _ := parseSignature(seedSig, ErrInvalidChunk)
			o.chain = &chunkSigner{key: key, amzDate: "20261130T120000Z", scope: "20261130/us-east-1/s3/aws4_request", prev: prev}
		}
		b, err := newBody(r, o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(b)
		if err != nil {
			if _, ok := err.(*APIError); !ok {
				t.Fatalf("error %T %v is not an *APIError", err, err)
			}
			if b.Checksums() != nil {
				t.Fatal("checksums of a failed body")
			}
			return
		}
		if len(got) != 300 {
			t.Fatalf("accepted %d bytes, 300 declared", len(got))
		}
		if m.signedChunks() && !bytes.Equal(got, payload) {
			t.Fatalf("accepted a signed body with other data: %q", got)
		}
		if alg != "" {
			want := testChecksum(alg, got)
			if !bytes.Contains(body, []byte(":"+want)) || b.Checksums()[alg] != want {
				t.Fatalf("accepted a body whose %s trailer is not %s", alg, want)
			}
		}
		if b.Checksums()["MD5"] != md5Hex(got) {
			t.Fatal("MD5 of the accepted body is wrong")
		}
	})
}

// FuzzPresignQuery: any query string is handled without a panic, and only
// the presigned query itself (up to re-encoding and parameter order) is
// accepted.
func FuzzPresignQuery(f *testing.F) {
	a := testAuthenticator(f)
	seed := presigned(f, "GET", "http://127.0.0.1:9000/bucket/key?versionId=v1", "", presignOpts{})
	goodQuery, err := url.ParseQuery(seed.URL.RawQuery)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed.URL.RawQuery)
	f.Add(strings.Replace(seed.URL.RawQuery, "X-Amz-Expires=900", "X-Amz-Expires=604801", 1))
	f.Add(strings.Replace(seed.URL.RawQuery, "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Algorithm=x", 1))
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Date=x&X-Amz-Expires=-1&X-Amz-SignedHeaders=&X-Amz-Signature=")
	f.Add("X-Amz-Signature=%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{
			Method: "GET",
			URL:    &url.URL{Path: "/bucket/key", RawQuery: raw},
			Host:   seed.Host,
			Header: http.Header{},
			Body:   http.NoBody,
		}
		_, b, err := a.Authenticate(r)
		if err != nil {
			if _, ok := err.(*APIError); !ok {
				t.Fatalf("error %T is not an *APIError", err)
			}
			return
		}
		q, perr := url.ParseQuery(raw)
		if perr != nil || !reflect.DeepEqual(q, goodQuery) {
			t.Fatalf("accepted a query that was not presigned: %q", raw)
		}
		if _, err := io.ReadAll(b); err != nil {
			t.Fatal(err)
		}
	})
}
