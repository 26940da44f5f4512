package s3

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"hash"
	"io"
	"sort"
	"strconv"
	"strings"
)

// The aws-chunked body (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html):
//
//	<hex size>[;chunk-signature=<64 hex>]\r\n<size bytes>\r\n   repeated
//	0[;chunk-signature=<64 hex>]\r\n                              final chunk
//	<name>:<value>\r\n ...                                        trailers (TRAILER modes)
//	[x-amz-trailer-signature:<64 hex>\r\n]                        signed trailer
//	\r\n
//
// Chunk signatures chain from the request's signature; the trailer signature
// continues the chain. Nothing may follow the final CRLF.
const (
	maxChunkLine   = 4096 // a chunk header or trailer line
	maxTrailers    = 16
	chunkBufSize   = 32 << 10
	trailerSigName = "x-amz-trailer-signature"
)

type chunkState int

const (
	chunkHeader chunkState = iota
	chunkData
	chunkDone
)

// chunkReader decodes an aws-chunked body and checks its framing, its
// declared decoded length, its chunk and trailer signatures. It returns
// io.EOF only after all of them have passed; trailer values are then in
// trailers (lowercase names). Checksums are the Body's job.
type chunkReader struct {
	br       *bufio.Reader
	mode     payloadMode
	chain    *chunkSigner    // signed modes
	declared int64           // x-amz-decoded-content-length, -1 unknown
	allowed  map[string]bool // trailer names announced by x-amz-trailer

	state     chunkState
	total     int64 // decoded bytes of the chunks seen so far (sizes)
	remaining int64 // bytes left in the current chunk
	chunkHash hash.Hash
	chunkSig  []byte
	err       error
	trailers  map[string]string
}

func newChunkReader(src io.Reader, mode payloadMode, chain *chunkSigner, declared int64, allowed map[string]bool) *chunkReader {
	if src == nil {
		src = eofReader{}
	}
	c := &chunkReader{br: bufio.NewReaderSize(src, chunkBufSize), mode: mode, chain: chain, declared: declared, allowed: allowed}
	if mode.signedChunks() {
		c.chunkHash = sha256.New()
	}
	return c
}

// Read returns decoded payload bytes.
func (c *chunkReader) Read(p []byte) (int, error) {
	for c.err == nil {
		switch c.state {
		case chunkDone:
			return 0, io.EOF
		case chunkHeader:
			c.err = c.readHeader()
		case chunkData:
			if len(p) == 0 {
				return 0, nil
			}
			if int64(len(p)) > c.remaining {
				p = p[:c.remaining]
			}
			n, err := c.br.Read(p)
			if n > 0 {
				c.remaining -= int64(n)
				if c.chunkHash != nil {
					c.chunkHash.Write(p[:n])
				}
				if c.remaining == 0 {
					err = c.endChunk()
				} else if err == io.EOF {
					err = nil // the next Read reports the short chunk
				}
			} else if err == nil {
				continue
			}
			if err != nil {
				c.err = bodyReadError(err)
			}
			return n, c.err
		}
	}
	return 0, c.err
}

// readLine reads one CRLF-terminated line (without the CRLF).
func (c *chunkReader) readLine(what string) (string, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(line) > maxChunkLine {
		return "", ErrInvalidChunk.WithMessage("The aws-chunked %s is too long.", what)
	}
	if err != nil {
		return "", bodyReadError(err)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", ErrInvalidChunk.WithMessage("The aws-chunked %s does not end with CRLF.", what)
	}
	return string(line[:len(line)-2]), nil
}

// readHeader reads a chunk header; for the final chunk it also reads the
// trailers and checks that the body ends there.
func (c *chunkReader) readHeader() error {
	line, err := c.readLine("chunk header")
	if err != nil {
		return err
	}
	sizeStr, ext, hasExt := strings.Cut(line, ";")
	if sizeStr == "" || len(sizeStr) > 16 || strings.TrimLeft(sizeStr, "0123456789abcdefABCDEF") != "" {
		return ErrInvalidChunk.WithMessage("The aws-chunked chunk size %q is not hexadecimal.", trimForMessage(sizeStr))
	}
	size, err := strconv.ParseInt(sizeStr, 16, 64)
	if err != nil || size > maxBodySize {
		return ErrEntityTooLarge.WithMessage("An aws-chunked chunk of %s bytes is larger than the maximum object size.", trimForMessage(sizeStr))
	}
	if c.mode.signedChunks() {
		const prefix = "chunk-signature="
		sig, ok := strings.CutPrefix(ext, prefix)
		if !hasExt || !ok {
			return ErrInvalidChunk.WithMessage("The aws-chunked chunk has no chunk-signature.")
		}
		raw, err := parseSignature(sig, ErrInvalidChunk)
		if err != nil {
			return ErrInvalidChunk.WithMessage("The aws-chunked chunk-signature is not 64 lowercase hex digits.")
		}
		c.chunkSig = raw
	}
	if c.declared >= 0 && c.total+size > c.declared {
		return ErrInvalidChunk.WithMessage("The aws-chunked chunk sizes add up to more than x-amz-decoded-content-length %d.", c.declared)
	}
	if c.total+size > maxBodySize {
		return ErrEntityTooLarge
	}
	c.total += size
	if size > 0 {
		c.remaining = size
		c.state = chunkData
		return nil
	}
	// The final chunk.
	if c.chain != nil && !c.chain.check(c.chain.chunkStringToSign(c.chunkHash.Sum(nil)), c.chunkSig) {
		return ErrSignatureDoesNotMatch.WithMessage("The signature of the final aws-chunked chunk does not match.")
	}
	if c.declared >= 0 && c.total < c.declared {
		return ErrIncompleteBody.WithMessage("The aws-chunked body carried %d of the %d bytes x-amz-decoded-content-length declares.", c.total, c.declared)
	}
	if err := c.readTrailers(); err != nil {
		return err
	}
	// Nothing may follow.
	var one [1]byte
	n, err := io.ReadFull(c.br, one[:])
	if n > 0 {
		return ErrInvalidChunk.WithMessage("The aws-chunked body has data after its final chunk.")
	}
	if err != io.EOF {
		return bodyReadError(err)
	}
	c.state = chunkDone
	return nil
}

// endChunk checks the CRLF after a chunk's data and its signature.
func (c *chunkReader) endChunk() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		return bodyReadError(err)
	}
	if crlf != [2]byte{'\r', '\n'} {
		return ErrInvalidChunk.WithMessage("The aws-chunked chunk data is not followed by CRLF; the chunk size does not match its data.")
	}
	if c.chain != nil {
		if !c.chain.check(c.chain.chunkStringToSign(c.chunkHash.Sum(nil)), c.chunkSig) {
			return ErrSignatureDoesNotMatch.WithMessage("The signature of an aws-chunked chunk does not match its data.")
		}
		c.chunkHash.Reset()
	}
	c.state = chunkHeader
	return nil
}

// readTrailers reads the trailer lines up to the empty line and, in signed
// trailer mode, verifies x-amz-trailer-signature.
func (c *chunkReader) readTrailers() error {
	c.trailers = map[string]string{}
	var sig []byte
	for i := 0; ; i++ {
		line, err := c.readLine("trailer")
		if err != nil {
			if e, ok := err.(*APIError); ok && e.Is(ErrInvalidChunk) {
				return ErrMalformedTrailer.WithMessage("%s", e.Message)
			}
			return err
		}
		if line == "" {
			break
		}
		if !c.mode.hasTrailer() {
			return ErrInvalidChunk.WithMessage("The aws-chunked body has trailers but x-amz-content-sha256 announces none.")
		}
		if i >= maxTrailers {
			return ErrMalformedTrailer.WithMessage("The aws-chunked body has too many trailers.")
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if !ok || name == "" || !validHeaderName(name) {
			return ErrMalformedTrailer.WithMessage("The trailer line %q is not name:value.", trimForMessage(line))
		}
		if name == trailerSigName {
			if c.mode != payloadStreamSignedTrailer || sig != nil {
				return ErrMalformedTrailer.WithMessage("Unexpected %s trailer.", trailerSigName)
			}
			raw, err := parseSignature(value, ErrMalformedTrailer)
			if err != nil {
				return err
			}
			sig = raw
			continue
		}
		if !c.allowed[name] {
			return ErrMalformedTrailer.WithMessage("The trailer %s was not announced in x-amz-trailer.", trimForMessage(name))
		}
		if _, dup := c.trailers[name]; dup {
			return ErrMalformedTrailer.WithMessage("The trailer %s is sent twice.", name)
		}
		c.trailers[name] = value
	}
	for name := range c.allowed {
		if _, ok := c.trailers[name]; !ok {
			return ErrMalformedTrailer.WithMessage("The trailer %s announced in x-amz-trailer was not sent.", name)
		}
	}
	if c.mode == payloadStreamSignedTrailer {
		if sig == nil {
			return ErrMalformedTrailer.WithMessage("The signed trailer has no %s.", trailerSigName)
		}
		if !c.chain.check(c.chain.trailerStringToSign(canonicalTrailers(c.trailers)), sig) {
			return ErrSignatureDoesNotMatch.WithMessage("The trailer signature does not match.")
		}
	}
	return nil
}

// canonicalTrailers is the signed form of the trailers: "name:value\n"
// lines sorted by name.
func canonicalTrailers(t map[string]string) string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(t[n])
		b.WriteByte('\n')
	}
	return b.String()
}
