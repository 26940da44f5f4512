package s3

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// maxBodySize is the largest payload one request may carry: S3's limit for
// a single PUT (and for one part of a multipart upload).
const maxBodySize int64 = 5 << 30

// crc64NVMEPoly is the NVMe CRC64 polynomial 0xad93d23594c93659, bit-reversed
// as hash/crc64.MakeTable wants it (the same constant aws-sdk-go-v2 uses).
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5

var (
	crc32cTable    = crc32.MakeTable(crc32.Castagnoli)
	crc64NVMETable = crc64.MakeTable(crc64NVMEPoly)
)

// checksumAlg is one of the x-amz-checksum-* algorithms S3 accepts.
type checksumAlg struct {
	name   string // S3 name: "CRC32", "CRC32C", ...
	header string // lowercase header name: "x-amz-checksum-crc32"
	size   int    // raw digest length in bytes
	new    func() hash.Hash
}

var checksumAlgs = []*checksumAlg{
	{name: "CRC32", size: 4, new: func() hash.Hash { return crc32.NewIEEE() }},
	{name: "CRC32C", size: 4, new: func() hash.Hash { return crc32.New(crc32cTable) }},
	{name: "SHA1", size: sha1.Size, new: sha1.New},
	{name: "SHA256", size: sha256.Size, new: sha256.New},
	{name: "CRC64NVME", size: 8, new: func() hash.Hash { return crc64.New(crc64NVMETable) }},
}

func init() {
	for _, a := range checksumAlgs {
		a.header = "x-amz-checksum-" + strings.ToLower(a.name)
	}
}

// checksumByName finds an algorithm by its S3 name, case-insensitively.
func checksumByName(name string) *checksumAlg {
	for _, a := range checksumAlgs {
		if strings.EqualFold(a.name, name) {
			return a
		}
	}
	return nil
}

// checksumByHeader finds an algorithm by its header name (any case).
func checksumByHeader(h string) *checksumAlg {
	for _, a := range checksumAlgs {
		if strings.EqualFold(a.header, h) {
			return a
		}
	}
	return nil
}

// decodeChecksum decodes a base64 checksum value of alg, or fails.
func decodeChecksum(alg *checksumAlg, v string) ([]byte, bool) {
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(v))
	if err != nil || len(raw) != alg.size {
		return nil, false
	}
	return raw, true
}

// checksumHeaders that are not a checksum of the request payload.
var notPayloadChecksum = map[string]bool{
	"x-amz-checksum-type":      true, // CreateMultipartUpload: FULL_OBJECT / COMPOSITE
	"x-amz-checksum-algorithm": true, // CreateMultipartUpload
	"x-amz-checksum-mode":      true, // GetObject / HeadObject
}

// Body is the request payload as the handler must read it. Every integrity
// check the request asked for runs while it is read; Read returns io.EOF only
// once all of them have passed, and otherwise the *APIError that failed. A
// handler must discard what it read when Read returns any other error.
type Body struct {
	src     io.Reader    // the decoded payload
	chunked *chunkReader // non-nil for aws-chunked bodies (trailers)
	size    int64        // decoded length, -1 unknown
	n       int64        // decoded bytes delivered so far

	md5       hash.Hash
	sha256    hash.Hash // only when x-amz-content-sha256 is a hex digest
	wantSHA   []byte
	wantMD5   []byte
	alg       *checksumAlg // the declared x-amz-checksum algorithm, or nil
	algHash   hash.Hash
	wantAlg   []byte // from the header; nil when it comes in a trailer or not at all
	inTrailer bool   // the checksum value arrives as a trailer
	integrity bool

	state error // sticky: io.EOF after success, else the failure
	sums  map[string]string
}

// Read implements io.Reader over the decoded, verified payload.
func (b *Body) Read(p []byte) (int, error) {
	if b.state != nil {
		return 0, b.state
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.src.Read(p)
	if n > 0 {
		b.n += int64(n)
		if b.md5 != nil {
			b.md5.Write(p[:n])
		}
		if b.sha256 != nil {
			b.sha256.Write(p[:n])
		}
		if b.algHash != nil {
			b.algHash.Write(p[:n])
		}
		switch {
		case b.size >= 0 && b.n > b.size:
			err = ErrIncompleteBody.WithMessage("The request body is longer than the %d bytes its length header declares.", b.size)
		case b.n > maxBodySize:
			err = ErrEntityTooLarge
		}
	}
	switch {
	case err == io.EOF:
		b.state = b.finish()
	case err != nil:
		b.state = bodyReadError(err)
	}
	if n > 0 && b.state != nil {
		// Deliver the bytes now and the verdict on the next call, so a
		// caller that drops data on error never takes it for the end.
		return n, nil
	}
	return n, b.state
}

// finish runs the end-of-payload checks; nil is turned into io.EOF.
func (b *Body) finish() error {
	if b.size >= 0 && b.n < b.size {
		return ErrIncompleteBody.WithMessage("The request body ended after %d of the %d bytes its length header declares.", b.n, b.size)
	}
	if b.sha256 != nil && !equalBytes(b.sha256.Sum(nil), b.wantSHA) {
		return ErrContentSHA256Mismatch
	}
	if b.wantMD5 != nil && !equalBytes(b.md5.Sum(nil), b.wantMD5) {
		return ErrBadDigest.WithMessage("The Content-MD5 you specified did not match what we received.")
	}
	if b.alg != nil {
		want := b.wantAlg
		if b.inTrailer {
			v, ok := b.chunked.trailers[b.alg.header]
			if !ok {
				return ErrMalformedTrailer.WithMessage("The declared trailer %s was not sent.", b.alg.header)
			}
			raw, ok := decodeChecksum(b.alg, v)
			if !ok {
				return ErrInvalidDigest.WithMessage("Value for %s trailing header is invalid.", b.alg.header)
			}
			want = raw
		}
		if want != nil && !equalBytes(b.algHash.Sum(nil), want) {
			return ErrBadDigest.WithMessage("The %s you specified did not match the calculated checksum.", b.alg.name)
		}
	}
	b.sums = map[string]string{}
	if b.md5 != nil {
		b.sums["MD5"] = hex.EncodeToString(b.md5.Sum(nil))
	}
	if b.alg != nil {
		b.sums[b.alg.name] = base64.StdEncoding.EncodeToString(b.algHash.Sum(nil))
	}
	return io.EOF
}

// SkipMD5 tells the Body that its reader computes the payload's MD5
// itself (meta.Writer does, for the ETag): unless a Content-MD5 header must
// be verified, the Body then does not hash the payload with MD5 a second
// time, and Checksums has no "MD5". Call it before the first Read.
func (b *Body) SkipMD5() {
	if b.wantMD5 == nil && b.n == 0 {
		b.md5 = nil
	}
}

// Size is the decoded payload length: Content-Length, or
// x-amz-decoded-content-length for aws-chunked; -1 if unknown.
func (b *Body) Size() int64 { return b.size }

// Checksums returns, once Read has returned io.EOF, the verified or computed
// checksums: S3 algorithm name → base64 value for the algorithm the request
// named, and "MD5" → hex of the whole payload. Before that it returns nil.
func (b *Body) Checksums() map[string]string {
	if b.state != io.EOF {
		return nil
	}
	out := make(map[string]string, len(b.sums))
	for k, v := range b.sums {
		out[k] = v
	}
	return out
}

// ChecksumAlgorithm is the one x-amz-checksum algorithm the request declared
// ("" if none).
func (b *Body) ChecksumAlgorithm() string {
	if b.alg == nil {
		return ""
	}
	return b.alg.name
}

// HasIntegrity reports whether the request carried Content-MD5 or an
// x-amz-checksum-* value (header or trailer).
func (b *Body) HasIntegrity() bool { return b.integrity }

// bodyReadError turns a failure of the connection under the body into the
// S3 answer: a body that stops early is IncompleteBody, whatever the cause.
func bodyReadError(err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return ErrEntityTooLarge
	}
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return ErrIncompleteBody.WithMessage("The request body was not delivered before the read timeout.")
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrIncompleteBody
	}
	return ErrIncompleteBody.WithMessage("Reading the request body failed: %v", err)
}

// bodyOptions is what Authenticate learned about the payload.
type bodyOptions struct {
	mode    payloadMode
	wantSHA []byte       // payloadSHA256
	chain   *chunkSigner // signed chunk modes
}

// newBody checks the integrity headers of r and builds the Body that
// verifies them. Errors are *APIError values.
func newBody(r *http.Request, o bodyOptions) (*Body, error) {
	b := &Body{md5: md5.New(), size: -1}
	h := r.Header

	if vs, ok := h["Content-Md5"]; ok {
		raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(strings.Join(vs, ",")))
		if err != nil || len(raw) != md5.Size || len(vs) != 1 {
			return nil, ErrInvalidDigest.WithMessage("The Content-MD5 you specified is not valid.")
		}
		b.wantMD5 = raw
		b.integrity = true
	}

	// CompleteMultipartUpload carries the object's checksum, not the XML's.
	objectLevel := r.Method == http.MethodPost && r.URL.Query().Has("uploadId")

	// x-amz-checksum-<alg> header.
	if !objectLevel {
		for name, vs := range h {
			lname := strings.ToLower(name)
			if !strings.HasPrefix(lname, "x-amz-checksum-") || notPayloadChecksum[lname] {
				continue
			}
			alg := checksumByHeader(lname)
			if alg == nil {
				return nil, ErrUnsupportedChecksum.WithMessage("The checksum header %s names an algorithm that is not supported; use CRC32, CRC32C, SHA1, SHA256 or CRC64NVME.", lname)
			}
			if b.alg != nil || len(vs) != 1 {
				return nil, ErrMultipleChecksums
			}
			raw, ok := decodeChecksum(alg, vs[0])
			if !ok {
				return nil, ErrInvalidDigest.WithMessage("Value for %s header is invalid.", lname)
			}
			b.alg, b.wantAlg, b.integrity = alg, raw, true
		}
	}

	// x-amz-trailer: the checksum comes after the payload.
	var trailers []string
	for _, v := range h.Values("X-Amz-Trailer") {
		for _, t := range strings.Split(v, ",") {
			if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
				trailers = append(trailers, t)
			}
		}
	}
	if len(trailers) > 0 {
		if !o.mode.hasTrailer() {
			return nil, ErrMalformedTrailer.WithMessage("x-amz-trailer needs x-amz-content-sha256 STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.")
		}
		if len(trailers) > 1 || b.alg != nil {
			return nil, ErrMultipleChecksums
		}
		alg := checksumByHeader(trailers[0])
		if alg == nil {
			if strings.HasPrefix(trailers[0], "x-amz-checksum-") {
				return nil, ErrUnsupportedChecksum.WithMessage("The trailer %s names an algorithm that is not supported.", trailers[0])
			}
			return nil, ErrMalformedTrailer.WithMessage("The trailer %s is not supported; only x-amz-checksum-* trailers are.", trailers[0])
		}
		b.alg, b.inTrailer, b.integrity = alg, true, true
	}

	// x-amz-sdk-checksum-algorithm names the algorithm (and must agree).
	if vs := h.Values("X-Amz-Sdk-Checksum-Algorithm"); len(vs) > 0 && !objectLevel {
		alg := checksumByName(strings.TrimSpace(vs[0]))
		if alg == nil || len(vs) != 1 {
			return nil, ErrUnsupportedChecksum.WithMessage("Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
		if b.alg != nil && b.alg != alg {
			return nil, ErrMultipleChecksums.WithMessage("x-amz-sdk-checksum-algorithm %s does not match the %s checksum sent.", alg.name, b.alg.name)
		}
		b.alg = alg
	}
	if b.alg != nil {
		b.algHash = b.alg.new()
	}

	if o.mode.chunked() {
		if vs := h.Values("X-Amz-Decoded-Content-Length"); len(vs) > 0 {
			n, err := strconv.ParseInt(strings.TrimSpace(vs[0]), 10, 64)
			if err != nil || n < 0 || len(vs) != 1 {
				return nil, ErrInvalidChunk.WithMessage("x-amz-decoded-content-length %q is not a valid length.", vs[0])
			}
			b.size = n
		} else if o.mode == payloadStreamSigned {
			return nil, ErrMissingContentLength.WithMessage("You must provide the x-amz-decoded-content-length header with STREAMING-AWS4-HMAC-SHA256-PAYLOAD.")
		}
		if b.size > maxBodySize {
			return nil, ErrEntityTooLarge
		}
		var declared map[string]bool
		if b.inTrailer {
			declared = map[string]bool{b.alg.header: true}
		}
		b.chunked = newChunkReader(r.Body, o.mode, o.chain, b.size, declared)
		b.src = b.chunked
		return b, nil
	}

	for _, ce := range h.Values("Content-Encoding") {
		for _, tok := range strings.Split(ce, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "aws-chunked") {
				return nil, ErrInvalidChunk.WithMessage("Content-Encoding aws-chunked needs an x-amz-content-sha256 STREAMING-* value.")
			}
		}
	}
	b.size = r.ContentLength
	if b.size > maxBodySize {
		return nil, ErrEntityTooLarge
	}
	if b.size < 0 && r.Method == http.MethodPut {
		return nil, ErrMissingContentLength
	}
	if o.mode == payloadSHA256 {
		b.sha256, b.wantSHA = sha256.New(), o.wantSHA
	}
	if r.Body == nil || r.Body == http.NoBody {
		b.src = eofReader{}
	} else {
		b.src = r.Body
	}
	return b, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
