package s3

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
)

// fuzzSize maps any int64 to a body size (non-negative).
func fuzzSize(v int64) int64 {
	if v < 0 {
		return -(v + 1)
	}
	return v
}

// fuzzRangeSpec is the one single-range form parseRange honours, after the
// header and the part after "bytes=" are trimmed.
var fuzzRangeSpec = regexp.MustCompile(`^([0-9]*)-([0-9]*)$`)

// fuzzInt64 parses a run of decimal digits; false when it is empty or does
// not fit an int64 (such a range is ignored, as TestParseRange documents).
func fuzzInt64(digits string) (int64, bool) {
	n, ok := new(big.Int).SetString(digits, 10)
	if digits == "" || !ok || !n.IsInt64() {
		return 0, false
	}
	return n.Int64(), true
}

// fuzzRangeModel is RFC 9110 §14.1.2 for one range over size bytes: nil,
// nil to serve the whole body; ErrInvalidRange; or the range.
func fuzzRangeModel(s string, size int64) (*byteRange, error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes=")
	if !ok {
		return nil, nil
	}
	m := fuzzRangeSpec.FindStringSubmatch(strings.TrimSpace(spec))
	if m == nil || m[1] == "" && m[2] == "" {
		return nil, nil
	}
	if m[1] == "" { // suffix: the last n bytes
		n, ok := fuzzInt64(m[2])
		switch {
		case !ok:
			return nil, nil
		case n == 0 || size == 0:
			return nil, ErrInvalidRange
		}
		n = min(n, size)
		return &byteRange{start: size - n, length: n}, nil
	}
	first, ok := fuzzInt64(m[1])
	if !ok {
		return nil, nil
	}
	last := size - 1
	if m[2] != "" {
		l, ok := fuzzInt64(m[2])
		if !ok || l < first {
			return nil, nil
		}
		last = min(l, last)
	}
	if first >= size {
		return nil, ErrInvalidRange
	}
	return &byteRange{start: first, length: last - first + 1}, nil
}

// FuzzParseRange: a Range header either is ignored, is unsatisfiable
// (exactly ErrInvalidRange), or gives a non-empty range inside the body,
// as the RFC 9110 model says; an accepted x-amz-copy-source-range lies
// inside the source, agrees with the Range reading of the same text, and
// its canonical spelling parses back to it.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"", "bytes=0-4", "bytes=5-100", "bytes=7-", "bytes=-3", "bytes=-30", "bytes=9-9",
		"bytes=10-", "bytes=-0", "bytes=5-2", "bytes=0-1,3-4", "items=0-1", "bytes=a-b", "bytes=+1-2",
		"bytes=99999999999999999999-", "bytes=-99999999999999999999", " bytes= 1-2 ", "bytes=0-9223372036854775807",
		"bytes=9223372036854775806-", "bytes=-", "bytes=1-2-3", "bytes=0x1-2", "bytes=\t3-\v"} {
		f.Add(s, int64(10))
	}
	f.Add("bytes=0-0", int64(0))
	f.Add("bytes=-1", int64(0))
	f.Add("bytes=-1", int64(9223372036854775807))
	f.Add("bytes=9223372036854775806-", int64(9223372036854775807))
	f.Add("bytes=0-", int64(-1))
	f.Fuzz(func(t *testing.T, s string, sizeV int64) {
		size := fuzzSize(sizeV)

		r, err := parseRange(s, size)
		if err != nil && (err != ErrInvalidRange || r != nil) {
			t.Fatalf("parseRange(%q, %d) = %+v, %v; want ErrInvalidRange alone", s, size, r, err)
		}
		if r != nil && (r.start < 0 || r.start >= size || r.length < 1 || r.length > size-r.start) {
			t.Fatalf("parseRange(%q, %d) = %+v: outside the body", s, size, *r)
		}
		wantR, wantErr := fuzzRangeModel(s, size)
		if err != wantErr || (r == nil) != (wantR == nil) || r != nil && *r != *wantR {
			t.Fatalf("parseRange(%q, %d) = %+v, %v; the model says %+v, %v", s, size, r, err, wantR, wantErr)
		}

		off, n, err := parseCopyRange(s, size)
		if s == "" {
			if err != nil || off != 0 || n != size {
				t.Fatalf("parseCopyRange(\"\", %d) = %d, %d, %v; want the whole source", size, off, n, err)
			}
			return
		}
		if err != nil {
			ae, ok := err.(*APIError)
			switch {
			case !ok:
				t.Fatalf("parseCopyRange(%q): error %T is not an *APIError", s, err)
			case ae.Code == ErrInvalidRange.Code:
				// Well-formed, but the last byte is outside the source: the
				// Range reading of it cannot be a range ending at last.
				if ae.Status != http.StatusRequestedRangeNotSatisfiable {
					t.Fatalf("parseCopyRange(%q, %d): %v with status %d", s, size, ae, ae.Status)
				}
				if r != nil && r.start+r.length < size {
					t.Fatalf("parseCopyRange(%q, %d) unsatisfiable, but Range reads %+v", s, size, *r)
				}
			case ae.Code != ErrInvalidArgument.Code || ae.Status != http.StatusBadRequest:
				t.Fatalf("parseCopyRange(%q, %d): unexpected %v", s, size, ae)
			}
			return
		}
		if off < 0 || n < 1 || off >= size || n > size-off {
			t.Fatalf("parseCopyRange(%q, %d) = %d, %d: outside the source", s, size, off, n)
		}
		if r == nil || r.start != off || r.length != n {
			t.Fatalf("parseCopyRange(%q, %d) = %d, %d but parseRange gives %+v", s, size, off, n, r)
		}
		canon := fmt.Sprintf("bytes=%d-%d", off, off+n-1)
		if o2, n2, err := parseCopyRange(canon, size); err != nil || o2 != off || n2 != n {
			t.Fatalf("parseCopyRange(%q, %d) = %d, %d, %v; want %d, %d", canon, size, o2, n2, err, off, n)
		}
	})
}

// fuzzEscapeKey encodes a key as SDKs put it into x-amz-copy-source: each
// path segment escaped, the slashes kept.
func fuzzEscapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// FuzzParseCopySource: an accepted x-amz-copy-source names a non-empty
// bucket without '/', a non-empty key and a well-formed version id, and
// re-encoding it gives the same source; every valid bucket and key,
// encoded as SDKs do, is read back exactly.
func FuzzParseCopySource(f *testing.F) {
	for _, s := range []string{"src/a/b.txt", "/src/a", "src/a%20b%3F", "src/k?versionId=0000000000000001",
		"src/k?versionId=null", "src/k?versionId=xyz", "src/k?versionId=0000000000000000", "src/k?versionId=000000000000000A",
		"src", "src/", "/", "//k", "src/%zz", "src/%00", "src/a/../b", "src/k?versionId=1&versionId=2", "src/k?%zz",
		"%2Fsrc/k", "src%2Fk", "src/k%3FversionId=0000000000000001", "src/a+b", "src/%E2%82%AC"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCopySource(s)
		if err != nil {
			if ae, ok := err.(*APIError); !ok || ae.Code != "InvalidArgument" || ae.Status != http.StatusBadRequest {
				t.Fatalf("parseCopySource(%q): unexpected error %v", s, err)
			}
		} else {
			if c.bucket == "" || strings.Contains(c.bucket, "/") || c.key == "" {
				t.Fatalf("parseCopySource(%q) = %+v: no bucket/key", s, c)
			}
			if v, err := checkVersionID(c.versionID); err != nil || v != c.versionID {
				t.Fatalf("parseCopySource(%q) = %+v: bad version id", s, c)
			}
			enc := "/" + url.PathEscape(c.bucket) + "/" + fuzzEscapeKey(c.key)
			if c.versionID != "" {
				enc += "?versionId=" + url.QueryEscape(c.versionID)
			}
			if c2, err := parseCopySource(enc); err != nil || c2 != c {
				t.Fatalf("parseCopySource(%q) = %+v; re-encoded as %q it reads %+v, %v", s, c, enc, c2, err)
			}
		}

		// Any valid bucket and key round-trip.
		b, k, ok := strings.Cut(s, "/")
		if !ok || meta.ValidBucketName(b) != nil || meta.ValidKey(k) != nil {
			return
		}
		enc := b + "/" + fuzzEscapeKey(k)
		want := copySource{bucket: b, key: k}
		if c, err := parseCopySource(enc); err != nil || c != want {
			t.Fatalf("parseCopySource(%q) = %+v, %v; want %+v", enc, c, err, want)
		}
	})
}

// FuzzParseHeaders covers the small header parsers of object requests:
//   - x-amz-tagging: accepted tag sets obey S3's limits, are exactly the
//     query's pairs, and survive re-encoding;
//   - the Object Lock headers: mode and date come together, the mode is
//     one of the two, the date is the instant sent (UTC), and what
//     lockHeadersOf answers reads back as the same lock;
//   - conditional dates: a parsed date means "not modified" for an object
//     modified in the same second and "modified" a second later, and it
//     survives a round trip through http.TimeFormat;
//   - x-amz-content-sha256: a digest is 32 bytes spelled in hex; the
//     streaming modes are the exact constants.
func FuzzParseHeaders(f *testing.F) {
	f.Add("k1=v1&k2=v2", "GOVERNANCE", "2030-01-01T00:00:00Z", "ON", "Sun, 06 Nov 1994 08:49:37 GMT", "UNSIGNED-PAYLOAD")
	f.Add("a=1&a=2", "COMPLIANCE", "2030-01-01T00:00:00.123456789+02:00", "OFF", "Sunday, 06-Nov-94 08:49:37 GMT", streamingSigned)
	f.Add("aws:x=1", "governance", "2030-01-01", "on", "Sun Nov  6 08:49:37 1994", streamingSignedTrailer)
	f.Add("&", "", "", "", "", "")
	f.Add("%zz", "FOREVER", "", "", "Sun, 06 Nov 1994 08:49:37.5 GMT", streamingUnsignedTrailer)
	f.Add("1=&2=&3=&4=&5=&6=&7=&8=&9=&10=&11=", "", "2030-01-01T00:00:00Z", "maybe", "yesterday", strings.Repeat("ab", 32))
	f.Add("=v", "COMPLIANCE", " 2030-01-01T00:00:00Z ", "", "Mon, 01 Jan 0001 00:00:00 GMT", strings.Repeat("AB", 32))
	f.Add(strings.Repeat("k", 129)+"=v", "", "", "", "", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
	f.Add("k=%FF", "GOVERNANCE", "9999-12-31T23:59:59.999999999Z", "", "Fri, 31 Dec 9999 23:59:59 GMT", strings.Repeat("g", 64))
	f.Fuzz(func(t *testing.T, tagHdr, mode, until, hold, date, payload string) {
		fuzzTagHeader(t, tagHdr)
		fuzzLockHeaders(t, mode, until, hold)
		fuzzHTTPTime(t, date)
		fuzzPayloadHash(t, payload)
	})
}

func fuzzTagHeader(t *testing.T, s string) {
	tags, err := parseTagHeader(s)
	if err != nil {
		if ae, ok := err.(*APIError); !ok || ae.Code != ErrInvalidTag.Code {
			t.Fatalf("parseTagHeader(%q): unexpected error %v", s, err)
		}
		return
	}
	if s == "" {
		if tags != nil {
			t.Fatalf("parseTagHeader(\"\") = %v", tags)
		}
		return
	}
	if len(tags) > maxTags {
		t.Fatalf("parseTagHeader(%q): %d tags", s, len(tags))
	}
	vals, err := url.ParseQuery(s)
	if err != nil || len(vals) != len(tags) {
		t.Fatalf("parseTagHeader(%q) = %v, but the query is %v, %v", s, tags, vals, err)
	}
	for k, v := range tags {
		if err := checkTag(k, v); err != nil {
			t.Fatalf("parseTagHeader(%q) accepted %q=%q: %v", s, k, v, err)
		}
		if vs := vals[k]; len(vs) != 1 || vs[0] != v {
			t.Fatalf("parseTagHeader(%q): %q=%q, but the query has %q", s, k, v, vs)
		}
	}
	enc := url.Values{}
	for k, v := range tags {
		enc.Set(k, v)
	}
	if again, err := parseTagHeader(enc.Encode()); err != nil || !maps.Equal(again, tags) {
		t.Fatalf("parseTagHeader(%q) = %v; re-encoded as %q it reads %v, %v", s, tags, enc.Encode(), again, err)
	}
}

func fuzzLockHeaders(t *testing.T, mode, until, hold string) {
	h := http.Header{}
	for k, v := range map[string]string{"x-amz-object-lock-mode": mode, "x-amz-object-lock-retain-until-date": until, "x-amz-object-lock-legal-hold": hold} {
		if v != "" {
			h.Set(k, v)
		}
	}
	l, err := parseLockHeaders(h)
	if err != nil {
		ae, ok := err.(*APIError)
		if !ok || ae.Code != "InvalidArgument" || ae.Status != http.StatusBadRequest {
			t.Fatalf("parseLockHeaders(%q, %q, %q): unexpected error %v", mode, until, hold, err)
		}
		if (mode == "") != (until == "") && err != ErrLockHeadersIncomplete {
			t.Fatalf("parseLockHeaders(%q, %q, %q) = %v; want ErrLockHeadersIncomplete", mode, until, hold, err)
		}
		return
	}
	if (mode == "") != (until == "") {
		t.Fatalf("parseLockHeaders(%q, %q, %q) accepted a mode without a date or the reverse", mode, until, hold)
	}
	if l.any != (mode != "" || hold != "") || l.hold != (hold == "ON") || hold != "" && hold != "ON" && hold != "OFF" {
		t.Fatalf("parseLockHeaders(%q, %q, %q) = %+v", mode, until, hold, l)
	}
	if mode == "" {
		if !l.ret.IsZero() {
			t.Fatalf("parseLockHeaders without a mode = %+v", l)
		}
		return
	}
	if m := lockctl.Mode(mode); m != lockctl.ModeGovernance && m != lockctl.ModeCompliance || l.ret.Mode != m {
		t.Fatalf("parseLockHeaders(%q, %q, %q) mode %q", mode, until, hold, l.ret.Mode)
	}
	sent, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(until))
	// Kept to the millisecond, rounded up (issue 14 item 13).
	if err != nil || !l.ret.Until.Equal(lockctl.CeilMilli(sent)) || l.ret.Until.Location() != time.UTC {
		t.Fatalf("parseLockHeaders(%q, %q, %q) until %v; sent %v (%v)", mode, until, hold, l.ret.Until, sent, err)
	}
	// What GetObject/HeadObject answer about the version reads back as
	// the same lock, to the millisecond xmlTime keeps. (Dates past year
	// 9999 cannot be written, but are far beyond any retention maximum.)
	if y := l.ret.Until.Year(); y < 1 || y > 9999 {
		return
	}
	out := http.Header{}
	lockHeadersOf(out, &meta.Version{RetMode: l.ret.Mode, RetUntil: l.ret.Until, LegalHold: l.hold, HoldSet: hold != ""})
	back, err := parseLockHeaders(out)
	if err != nil || back.ret.Mode != l.ret.Mode || back.hold != l.hold || !back.ret.Until.Equal(l.ret.Until.Truncate(time.Millisecond)) {
		t.Fatalf("parseLockHeaders(%q, %q, %q) = %+v; its answer headers %v read %+v, %v", mode, until, hold, l, out, back, err)
	}
}

func fuzzHTTPTime(t *testing.T, s string) {
	at, ok := parseHTTPTime(s)
	if !ok {
		return
	}
	if back, ok := parseHTTPTime(at.UTC().Format(http.TimeFormat)); !ok || !back.Equal(at.Truncate(time.Second)) {
		t.Fatalf("parseHTTPTime(%q) = %v; formatted back it reads %v, %v", s, at, back, ok)
	}
	const etag = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		hdr      string
		modified time.Time
		want     int
	}{
		{"If-Modified-Since", at, http.StatusNotModified},
		{"If-Modified-Since", at.Add(time.Second), 0},
		{"If-Unmodified-Since", at, 0},
		{"If-Unmodified-Since", at.Add(time.Second), http.StatusPreconditionFailed},
	} {
		h := http.Header{}
		h.Set(tc.hdr, s)
		if got := evalConditions(h, etag, tc.modified); got != tc.want {
			t.Fatalf("%s: %q for an object modified at %v: %d, want %d", tc.hdr, s, tc.modified, got, tc.want)
		}
	}
}

func fuzzPayloadHash(t *testing.T, v string) {
	mode, raw, err := parsePayloadHash(v)
	if err != nil {
		if err != ErrInvalidContentSHA256 && err != ErrUnsupportedSignature {
			t.Fatalf("parsePayloadHash(%q): unexpected error %v", v, err)
		}
		if err == ErrUnsupportedSignature && !strings.HasPrefix(v, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD") {
			t.Fatalf("parsePayloadHash(%q): %v", v, err)
		}
		return
	}
	want := map[string]payloadMode{unsignedPayload: payloadUnsigned, streamingSigned: payloadStreamSigned,
		streamingSignedTrailer: payloadStreamSignedTrailer, streamingUnsignedTrailer: payloadStreamUnsignedTrailer}
	if m, ok := want[v]; ok {
		if mode != m || raw != nil {
			t.Fatalf("parsePayloadHash(%q) = %v, %x", v, mode, raw)
		}
		return
	}
	if mode != payloadSHA256 || len(raw) != 32 || hex.EncodeToString(raw) != strings.ToLower(v) {
		t.Fatalf("parsePayloadHash(%q) = %v, %x", v, mode, raw)
	}
}

// FuzzDecodeChecksum: an accepted x-amz-checksum-* value is the base64 of
// exactly the algorithm's digest length, spelled canonically; and every
// digest of that length, base64-encoded, is accepted back.
func FuzzDecodeChecksum(f *testing.F) {
	f.Add(uint8(0), "AAAAAA==", []byte{1, 2, 3, 4})
	f.Add(uint8(1), " yZRlqg== ", []byte{})
	f.Add(uint8(2), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", bytes.Repeat([]byte{0xff}, 20))
	f.Add(uint8(3), base64.StdEncoding.EncodeToString(make([]byte, 32)), []byte("abc"))
	f.Add(uint8(4), "AAAAAAAAAAA=", []byte("12345678"))
	f.Add(uint8(0), "AAAAAB==", []byte{0})
	f.Add(uint8(0), "AAAAAA", []byte{0})
	f.Add(uint8(0), "AAA\nAAA==", []byte{0})
	f.Fuzz(func(t *testing.T, which uint8, v string, digest []byte) {
		alg := checksumAlgs[int(which)%len(checksumAlgs)]
		raw, ok := decodeChecksum(alg, v)
		if ok {
			// Strict base64 still skips CR and LF inside the value.
			canon := strings.NewReplacer("\r", "", "\n", "").Replace(strings.TrimSpace(v))
			if len(raw) != alg.size || base64.StdEncoding.EncodeToString(raw) != canon {
				t.Fatalf("decodeChecksum(%s, %q) = %x", alg.name, v, raw)
			}
		}
		enc := base64.StdEncoding.EncodeToString(digest)
		got, ok := decodeChecksum(alg, " "+enc+"\t")
		if ok != (len(digest) == alg.size) || ok && !bytes.Equal(got, digest) {
			t.Fatalf("decodeChecksum(%s, %q) = %x, %v for a %d-byte digest", alg.name, enc, got, ok, len(digest))
		}
	})
}

// FuzzParseListParams: an accepted listing query has a page size within
// [0, maxListKeys], the prefix and delimiter sent, and encoding-type=url
// exactly when asked; what enc puts into the answer decodes back to the
// original. Refusals are InvalidArgument and name a bad parameter.
func FuzzParseListParams(f *testing.F) {
	for _, q := range []string{"", "prefix=a/&delimiter=/", "max-keys=0", "max-keys=1001", "max-keys=-1", "max-keys=+5",
		"max-keys=abc", "max-keys=99999999999999999999", "encoding-type=url&prefix=a%20b", "encoding-type=URL",
		"max-uploads=3&max-keys=x", "prefix=%zz", "prefix=a&prefix=b", "delimiter=%00"} {
		f.Add(q, uint8(0))
		f.Add(q, uint8(1))
	}
	f.Fuzz(func(t *testing.T, query string, which uint8) {
		maxName := []string{"max-keys", "max-uploads"}[which%2]
		vals, _ := url.ParseQuery(query) // what the router sees; bad pairs dropped
		p, err := parseListParams(vals, maxName)
		enc, max := vals.Get("encoding-type"), vals.Get(maxName)
		n, atoiErr := strconv.Atoi(max)
		badMax := max != "" && (atoiErr != nil || n < 0)
		badEnc := enc != "" && enc != "url"
		if err != nil {
			if ae, ok := err.(*APIError); !ok || ae.Code != ErrInvalidArgument.Code {
				t.Fatalf("parseListParams(%q): unexpected error %v", query, err)
			}
			if !badMax && !badEnc {
				t.Fatalf("parseListParams(%q, %s) refused good parameters: %v", query, maxName, err)
			}
			return
		}
		if badMax || badEnc {
			t.Fatalf("parseListParams(%q, %s) accepted %+v", query, maxName, p)
		}
		wantMax := maxListKeys
		if max != "" {
			wantMax = min(n, maxListKeys)
		}
		if p.max != wantMax || p.max < 0 || p.max > maxListKeys {
			t.Fatalf("parseListParams(%q, %s): max %d, want %d", query, maxName, p.max, wantMax)
		}
		if p.prefix != vals.Get("prefix") || p.delimiter != vals.Get("delimiter") || p.encode != (enc == "url") {
			t.Fatalf("parseListParams(%q, %s) = %+v", query, maxName, p)
		}
		for _, s := range []string{p.prefix, p.delimiter} {
			got := p.enc(s)
			if p.encode {
				got, err = url.QueryUnescape(got)
			}
			if err != nil || got != s {
				t.Fatalf("enc(%q) with %+v decodes to %q, %v", s, p, got, err)
			}
		}
	})
}
