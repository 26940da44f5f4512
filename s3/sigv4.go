package s3

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SigV4 constants (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html).
const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"
	scopeTerminator = "aws4_request"
	sigV4Service    = "s3"
	maxClockSkew    = 15 * time.Minute
	emptySHA256Hex  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// payloadMode is what x-amz-content-sha256 says about the body.
type payloadMode int

const (
	payloadSHA256                payloadMode = iota // plain body, hex SHA-256 verified
	payloadUnsigned                                 // plain body, UNSIGNED-PAYLOAD
	payloadStreamSigned                             // aws-chunked, signed chunks
	payloadStreamSignedTrailer                      // aws-chunked, signed chunks and trailer
	payloadStreamUnsignedTrailer                    // aws-chunked, unsigned, checksum trailer
)

func (m payloadMode) chunked() bool { return m >= payloadStreamSigned }
func (m payloadMode) signedChunks() bool {
	return m == payloadStreamSigned || m == payloadStreamSignedTrailer
}
func (m payloadMode) hasTrailer() bool {
	return m == payloadStreamSignedTrailer || m == payloadStreamUnsignedTrailer
}

// parsePayloadHash classifies an x-amz-content-sha256 value.
func parsePayloadHash(v string) (payloadMode, []byte, error) {
	switch v {
	case unsignedPayload:
		return payloadUnsigned, nil, nil
	case streamingSigned:
		return payloadStreamSigned, nil, nil
	case streamingSignedTrailer:
		return payloadStreamSignedTrailer, nil, nil
	case streamingUnsignedTrailer:
		return payloadStreamUnsignedTrailer, nil, nil
	case "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER":
		return 0, nil, ErrUnsupportedSignature
	}
	if len(v) != 2*sha256.Size {
		return 0, nil, ErrInvalidContentSHA256
	}
	raw, err := hex.DecodeString(v)
	if err != nil {
		return 0, nil, ErrInvalidContentSHA256
	}
	return payloadSHA256, raw, nil
}

// credential is the parsed Credential / X-Amz-Credential value:
// <access key>/<yyyymmdd>/<region>/s3/aws4_request.
type credential struct {
	accessKey string
	date      string
	region    string
	service   string
}

func (c credential) scope() string {
	return c.date + "/" + c.region + "/" + c.service + "/" + scopeTerminator
}

// sigV4Fields are the three parts of a SigV4 authorization, from the
// Authorization header or the presigned query.
type sigV4Fields struct {
	cred          credential
	signedHeaders []string
	signature     []byte // 32 bytes
}

// parseAuthorization parses an Authorization header value:
//
//	AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request,
//	  SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=<64 hex>
//
// Errors are *APIError values (AuthorizationHeaderMalformed, or
// InvalidRequest for another scheme).
func parseAuthorization(h string) (*sigV4Fields, error) {
	algo, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || algo != sigV4Algorithm {
		if algo == sigV4Algorithm {
			return nil, ErrAuthorizationMalformed.WithMessage("The authorization header has no Credential, SignedHeaders and Signature.")
		}
		return nil, ErrUnsupportedSignature
	}
	var cred, signed, sig string
	var seen [3]bool
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, ErrAuthorizationMalformed.WithMessage("The authorization header part %q is not key=value.", trimForMessage(part))
		}
		var i int
		switch k {
		case "Credential":
			i, cred = 0, v
		case "SignedHeaders":
			i, signed = 1, v
		case "Signature":
			i, sig = 2, v
		default:
			return nil, ErrAuthorizationMalformed.WithMessage("The authorization header has an unknown part %q.", trimForMessage(k))
		}
		if seen[i] {
			return nil, ErrAuthorizationMalformed.WithMessage("The authorization header has %s twice.", k)
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return nil, ErrAuthorizationMalformed.WithMessage("The authorization header must have Credential, SignedHeaders and Signature.")
	}
	return parseSigV4Fields(cred, signed, sig, ErrAuthorizationMalformed)
}

// parseSigV4Fields validates the three parts; bad is the error row to use.
func parseSigV4Fields(cred, signed, sig string, bad *APIError) (*sigV4Fields, error) {
	c, err := parseCredential(cred, bad)
	if err != nil {
		return nil, err
	}
	headers, err := parseSignedHeaders(signed, bad)
	if err != nil {
		return nil, err
	}
	raw, err := parseSignature(sig, bad)
	if err != nil {
		return nil, err
	}
	return &sigV4Fields{cred: c, signedHeaders: headers, signature: raw}, nil
}

func parseCredential(s string, bad *APIError) (credential, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 5 {
		return credential{}, bad.WithMessage("The credential %q is not <access key>/<date>/<region>/s3/aws4_request.", trimForMessage(s))
	}
	c := credential{accessKey: parts[0], date: parts[1], region: parts[2], service: parts[3]}
	if c.accessKey == "" {
		return credential{}, bad.WithMessage("The credential has no access key.")
	}
	if _, err := time.Parse(scopeDateFormat, c.date); err != nil || len(c.date) != 8 {
		return credential{}, bad.WithMessage("The credential date %q is not yyyymmdd.", trimForMessage(c.date))
	}
	if !validRegion(c.region) {
		return credential{}, bad.WithMessage("The credential region %q is not valid.", trimForMessage(c.region))
	}
	if c.service != sigV4Service {
		return credential{}, bad.WithMessage("The credential service must be s3, not %q.", trimForMessage(c.service))
	}
	if parts[4] != scopeTerminator {
		return credential{}, bad.WithMessage("The credential must end with aws4_request, not %q.", trimForMessage(parts[4]))
	}
	return c, nil
}

// validRegion accepts any region name a client may put in the scope
// (us-east-1, eu-central-1, a private "garage" ...): 1 to 64 bytes of
// letters, digits, '-', '_' and '.'.
func validRegion(r string) bool {
	if r == "" || len(r) > 64 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func parseSignedHeaders(s string, bad *APIError) ([]string, error) {
	if s == "" {
		return nil, bad.WithMessage("SignedHeaders is empty.")
	}
	names := strings.Split(s, ";")
	if len(names) > 128 {
		return nil, bad.WithMessage("SignedHeaders lists too many headers.")
	}
	host := false
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" || !validHeaderName(n) || strings.ToLower(n) != n {
			return nil, bad.WithMessage("SignedHeaders entry %q is not a lowercase header name.", trimForMessage(n))
		}
		if seen[n] {
			return nil, bad.WithMessage("SignedHeaders lists %q twice.", n)
		}
		seen[n] = true
		host = host || n == "host"
	}
	if !host {
		return nil, bad.WithMessage("SignedHeaders must include host.")
	}
	return names, nil
}

func validHeaderName(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func parseSignature(s string, bad *APIError) ([]byte, error) {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != sha256.Size || strings.ToLower(s) != s {
		return nil, bad.WithMessage("The signature must be 64 lowercase hex digits.")
	}
	return raw, nil
}

// trimForMessage keeps client text in error messages short and printable.
func trimForMessage(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.ToValidUTF8(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s), "?")
}

// signingKey derives the SigV4 key for one scope.
func signingKey(secret string, c credential) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), c.date)
	k = hmacSHA256(k, c.region)
	k = hmacSHA256(k, c.service)
	return hmacSHA256(k, scopeTerminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// equalBytes compares in constant time (for equal lengths).
func equalBytes(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// stringToSign builds the SigV4 string to sign of a canonical request.
func stringToSign(amzDate string, c credential, canonicalRequest string) string {
	return sigV4Algorithm + "\n" + amzDate + "\n" + c.scope() + "\n" + sha256Hex(canonicalRequest)
}

// canonicalRequest builds the SigV4 canonical request.
func canonicalRequest(r *http.Request, uri, query string, signedHeaders []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalHeaderValue is the trimmed, space-collapsed, comma-joined value
// of one signed header as the client sent it. net/http moves some headers
// out of r.Header; they are put back here.
func canonicalHeaderValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	default:
		values = r.Header.Values(name)
		if len(values) == 0 {
			switch name {
			case "content-length":
				if r.ContentLength >= 0 {
					values = []string{strconv.FormatInt(r.ContentLength, 10)}
				}
			case "transfer-encoding":
				values = []string{strings.Join(r.TransferEncoding, ",")}
			}
		}
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = collapseSpaces(v)
	}
	return strings.Join(out, ",")
}

func collapseSpaces(v string) string {
	v = strings.Trim(v, " ")
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	prev := false
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' {
			if prev {
				continue
			}
			prev = true
		} else {
			prev = false
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// canonicalURIs returns the canonical URI candidates of r: the path as the
// client sent it (aws-sdk-go-v2, boto3 and the CLI sign exactly that), and
// the decoded path encoded the AWS way (RFC 3986 unreserved characters kept,
// each other byte %XX, '/' kept), for clients that send a looser encoding
// than they sign. S3 does not double-encode.
func canonicalURIs(u *url.URL) []string {
	sent := u.EscapedPath()
	if sent == "" {
		sent = "/"
	}
	aws := awsEncode(u.Path, false)
	if aws == "" {
		aws = "/"
	}
	if aws == sent {
		return []string{sent}
	}
	return []string{sent, aws}
}

// awsEncode is SigV4's UriEncode: unreserved characters stay, everything
// else is %XX with uppercase hex; '/' stays unless encodeSlash.
func awsEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// canonicalQuery builds the canonical query string from the raw query,
// leaving out the parameter named skip (X-Amz-Signature for presigned
// requests). Parameters are decoded, re-encoded the SigV4 way, and sorted
// by encoded name then value.
func canonicalQuery(rawQuery, skip string) (string, error) {
	type kv struct{ k, v string }
	var params []kv
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			return "", err
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return "", err
		}
		if skip != "" && dk == skip {
			continue
		}
		params = append(params, kv{awsEncode(dk, true), awsEncode(dv, true)})
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String(), nil
}

// checkAmzHeadersSigned refuses a request carrying an x-amz-* header that
// the signature does not cover, as AWS does ("There were headers present in
// the request which were not signed"). Otherwise anyone holding a signed
// request or a presigned URL could add x-amz-bypass-governance-retention,
// Object Lock headers or x-amz-copy-source to it. x-amz-content-sha256 is
// tolerated unsigned, as by AWS.
func checkAmzHeadersSigned(r *http.Request, signed []string) error {
	var missing []string
	for name := range r.Header {
		l := strings.ToLower(name)
		if !strings.HasPrefix(l, "x-amz-") || l == "x-amz-content-sha256" || slices.Contains(signed, l) {
			continue
		}
		missing = append(missing, l)
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return ErrHeadersNotSigned.WithMessage("There were headers present in the request which were not signed: %s", trimForMessage(strings.Join(missing, ", ")))
}

// verifySignature checks sig against every canonical URI candidate of r,
// in constant time per candidate.
func verifySignature(r *http.Request, key []byte, amzDate string, f *sigV4Fields, query, payloadHash string) bool {
	ok := false
	for _, uri := range canonicalURIs(r.URL) {
		cr := canonicalRequest(r, uri, query, f.signedHeaders, payloadHash)
		mac := hmacSHA256(key, stringToSign(amzDate, f.cred, cr))
		if hmac.Equal(mac, f.signature) {
			ok = true
		}
	}
	return ok
}

// chunkSigner carries the signature chain of a signed aws-chunked body:
// each chunk's signature signs its data and the previous signature, starting
// from the request's (seed) signature.
type chunkSigner struct {
	key     []byte
	amzDate string
	scope   string
	prev    []byte
}

// chunkStringToSign is the string to sign of one chunk with data hash h.
func (s *chunkSigner) chunkStringToSign(dataSHA256 []byte) string {
	return "AWS4-HMAC-SHA256-PAYLOAD\n" + s.amzDate + "\n" + s.scope + "\n" +
		hex.EncodeToString(s.prev) + "\n" + emptySHA256Hex + "\n" + hex.EncodeToString(dataSHA256)
}

// trailerStringToSign is the string to sign of the trailer block, where
// canonical is the trailers as "name:value\n" lines, sorted by name.
func (s *chunkSigner) trailerStringToSign(canonical string) string {
	return "AWS4-HMAC-SHA256-TRAILER\n" + s.amzDate + "\n" + s.scope + "\n" +
		hex.EncodeToString(s.prev) + "\n" + sha256Hex(canonical)
}

// check verifies sig over sts and advances the chain.
func (s *chunkSigner) check(sts string, sig []byte) bool {
	if !hmac.Equal(hmacSHA256(s.key, sts), sig) {
		return false
	}
	s.prev = append(s.prev[:0], sig...)
	return true
}
