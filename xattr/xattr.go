// Package xattr encodes and decodes the values of the user.s3.* extended
// attributes through which the mount exposes Object Lock (SPEC §5), and
// classifies attribute names.
//
// The package only checks syntax. Whether a retention date is in the past or
// beyond the maximum retention, and whether a change is allowed, is decided
// by lockctl inside the store transaction that makes the change.
//
// Accepted values (each may end in one "\n", as echo and some setfattr uses
// add one; no other leading, trailing or doubled whitespace, no control
// characters, printable ASCII only, at most MaxValueLen bytes):
//
//	user.s3.retention (file)    GOVERNANCE 2027-01-01T00:00:00Z
//	                            {"Mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z"}
//	                            COMPLIANCE +30d   (or +5y; relative to now)
//	                            any of these followed by " bypass"
//	user.s3.retention (bucket)  COMPLIANCE 365d   (or GOVERNANCE 5y)
//	user.s3.legalhold           ON or OFF
//
// Modes and ON/OFF are case-insensitive; " bypass" is lower case. Dates are
// RFC 3339 with any offset and optional fractional seconds; they are kept in
// UTC and rounded up to a whole second, so that the canonical form written
// by FormatRetention holds exactly the parsed instant (never shortened).
package xattr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wormfs/wormfs/lockctl"
)

// Attribute names (SPEC §5).
const (
	Prefix         = "user.s3."
	NameRetention  = Prefix + "retention"
	NameLegalHold  = Prefix + "legalhold"
	NameVersionID  = Prefix + "version-id"
	NameLockStatus = Prefix + "lockstatus"
)

// MaxValueLen is the longest user.s3.* value accepted, in bytes.
const MaxValueLen = 256

// MaxNameLen is the longest attribute name (the Linux XATTR_NAME_MAX).
const MaxNameLen = 255

// Bounds on relative periods, checked before any date arithmetic so that
// nothing overflows; lockctl refuses anything beyond the maximum retention
// anyway.
const (
	maxRelYears = 100000
	maxRelDays  = maxRelYears * 366
	maxDigits   = 9 // fits an int on every platform
)

// ErrMalformed is wrapped by every error of this package: the value is not
// well formed (EINVAL in the mount).
var ErrMalformed = errors.New("malformed attribute value")

// RetentionRequest is a parsed write of user.s3.retention on a file.
type RetentionRequest struct {
	Retention lockctl.Retention
	// Bypass is true when the value ended in " bypass": the explicit
	// governance bypass request (whether the caller may bypass is decided
	// elsewhere).
	Bypass bool
}

const bypassSuffix = " bypass"

// malformed returns an error wrapping ErrMalformed (and cause, when not nil).
func malformed(attr, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, attr, fmt.Sprintf(format, args...))
}

// malformedCause wraps ErrMalformed and cause both.
func malformedCause(attr string, cause error) error {
	return fmt.Errorf("%w: %s: %w", ErrMalformed, attr, cause)
}

// clean applies the rules shared by all values: not empty, not too long, one
// trailing newline dropped, printable ASCII, no leading, trailing or doubled
// spaces. It returns the value as a string.
func clean(attr string, value []byte) (string, error) {
	if len(value) == 0 {
		return "", malformed(attr, "empty value")
	}
	if len(value) > MaxValueLen {
		return "", malformed(attr, "value of %d bytes is longer than %d", len(value), MaxValueLen)
	}
	s := string(value)
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return "", malformed(attr, "empty value")
	}
	if !utf8.ValidString(s) {
		return "", malformed(attr, "not valid UTF-8")
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return "", malformed(attr, "contains a NUL byte")
		case c == '\t':
			return "", malformed(attr, "contains a tab")
		case c == '\n' || c == '\r':
			return "", malformed(attr, "contains a line break")
		case c < 0x20 || c == 0x7f:
			return "", malformed(attr, "contains control character %#02x", c)
		case c >= 0x80:
			return "", malformed(attr, "contains non-ASCII characters")
		}
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return "", malformed(attr, "leading or trailing space")
	}
	if strings.Contains(s, "  ") {
		return "", malformed(attr, "more than one space between words")
	}
	return s, nil
}

// parseMode accepts GOVERNANCE or COMPLIANCE in any ASCII case.
func parseMode(attr, s string) (lockctl.Mode, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return lockctl.ModeNone, malformedCause(attr, fmt.Errorf("%w: %q", lockctl.ErrUnknownMode, s))
		}
	}
	m, err := lockctl.ParseMode(s)
	if err != nil {
		return lockctl.ModeNone, malformedCause(attr, err)
	}
	return m, nil
}

// Problems with a count, for error messages and error kinds.
var (
	errNotNumber   = errors.New("not a whole number")
	errTooLarge    = errors.New("number too large")
	errNotPositive = errors.New("number not positive")
)

// parseCount parses a positive decimal count of plain digits (no sign, at
// most maxDigits of them, so nothing overflows).
func parseCount(s string) (int, error) {
	if s == "" {
		return 0, errNotNumber
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errNotNumber
		}
	}
	if len(strings.TrimLeft(s, "0")) > maxDigits {
		return 0, errTooLarge
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errTooLarge
	}
	if n <= 0 {
		return 0, errNotPositive
	}
	return n, nil
}

// Instants are kept to the millisecond, a finer one rounded up
// (lockctl.CeilMilli): what S3 shows, so a date read over S3 and written
// in the mount (or the other way) is the same instant.

// checkYear refuses instants that the canonical form cannot hold (RFC 3339
// has four-digit years).
func checkYear(attr string, t time.Time) error {
	if y := t.Year(); y < 0 || y > 9999 {
		return malformed(attr, "year %d is outside the years 0000-9999", y)
	}
	return nil
}

// parseDate parses an RFC 3339 date (any offset, optional fraction).
func parseDate(attr, s string) (time.Time, error) {
	t, err := lockctl.ParseInstant(s)
	if err != nil {
		return time.Time{}, malformed(attr, "%q is not an RFC 3339 date", s)
	}
	t = lockctl.CeilMilli(t)
	if err := checkYear(attr, t); err != nil {
		return time.Time{}, err
	}
	if t.IsZero() {
		// 0001-01-01T00:00:00Z is the zero time, which means "no
		// retention" everywhere a retention is kept.
		return time.Time{}, malformed(attr, "%q is the zero time", s)
	}
	return t, nil
}

// ParseRetention parses a value written to user.s3.retention on a file:
// "MODE DATE", the S3 JSON form, or "MODE +Nd" / "MODE +Ny" relative to now,
// each optionally followed by " bypass". It checks syntax only.
func ParseRetention(value []byte, now time.Time) (RetentionRequest, error) {
	const attr = "retention"
	s, err := clean(attr, value)
	if err != nil {
		return RetentionRequest{}, err
	}
	var req RetentionRequest
	if rest, ok := strings.CutSuffix(s, bypassSuffix); ok {
		req.Bypass = true
		s = rest
	}
	if strings.HasPrefix(s, "{") {
		r, err := parseRetentionJSON(s)
		if err != nil {
			return RetentionRequest{}, err
		}
		req.Retention = r
		return req, nil
	}
	modeStr, rest, ok := strings.Cut(s, " ")
	if !ok {
		return RetentionRequest{}, malformed(attr, "want MODE DATE, MODE +Nd or MODE +Ny, got %q", s)
	}
	if strings.Contains(rest, " ") {
		return RetentionRequest{}, malformed(attr, "unexpected words after %q", modeStr+" "+strings.SplitN(rest, " ", 2)[0])
	}
	mode, err := parseMode(attr, modeStr)
	if err != nil {
		return RetentionRequest{}, err
	}
	var until time.Time
	if period, ok := strings.CutPrefix(rest, "+"); ok {
		until, err = relative(attr, period, now)
	} else {
		until, err = parseDate(attr, rest)
	}
	if err != nil {
		return RetentionRequest{}, err
	}
	req.Retention = lockctl.Retention{Mode: mode, Until: until}
	return req, nil
}

// relative computes now + period for a period "Nd" or "Ny".
func relative(attr, period string, now time.Time) (time.Time, error) {
	if period == "" {
		return time.Time{}, malformed(attr, "missing period after +")
	}
	unit := period[len(period)-1]
	if unit != 'd' && unit != 'y' {
		return time.Time{}, malformed(attr, "period +%s: unit must be d (days) or y (years)", period)
	}
	n, err := parseCount(period[:len(period)-1])
	if err == nil && (unit == 'd' && n > maxRelDays || unit == 'y' && n > maxRelYears) {
		err = errTooLarge
	}
	if err != nil {
		return time.Time{}, malformed(attr, "period +%s: %v", period, err)
	}
	now = now.UTC()
	var until time.Time
	if unit == 'd' {
		until = now.AddDate(0, 0, n)
	} else {
		until = now.AddDate(n, 0, 0)
	}
	until = lockctl.CeilMilli(until)
	if err := checkYear(attr, until); err != nil {
		return time.Time{}, err
	}
	return until, nil
}

// parseRetentionJSON parses {"Mode":"…","RetainUntilDate":"…"} strictly:
// exactly these two keys (exact spelling, once each), string values, nothing
// after the object.
func parseRetentionJSON(s string) (lockctl.Retention, error) {
	const attr = "retention JSON"
	dec := json.NewDecoder(strings.NewReader(s))
	bad := func(format string, args ...any) (lockctl.Retention, error) {
		return lockctl.Retention{}, malformed(attr, format, args...)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return bad("not a JSON object")
	}
	var mode, date *string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad("%v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return bad("object key expected")
		}
		var dst **string
		switch key {
		case "Mode":
			dst = &mode
		case "RetainUntilDate":
			dst = &date
		default:
			return bad("unknown field %q (want Mode and RetainUntilDate)", key)
		}
		if *dst != nil {
			return bad("duplicate field %q", key)
		}
		tok, err = dec.Token()
		if err != nil {
			return bad("%v", err)
		}
		v, ok := tok.(string)
		if !ok {
			return bad("field %q must be a string", key)
		}
		*dst = &v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return bad("object not closed")
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("unexpected data after the object")
	}
	if mode == nil {
		return lockctl.Retention{}, malformedCause(attr, lockctl.ErrMissingMode)
	}
	if date == nil {
		return lockctl.Retention{}, malformedCause(attr, lockctl.ErrMissingDate)
	}
	m, err := parseMode(attr, *mode)
	if err != nil {
		return lockctl.Retention{}, err
	}
	until, err := parseDate(attr, *date)
	if err != nil {
		return lockctl.Retention{}, err
	}
	return lockctl.Retention{Mode: m, Until: until}, nil
}

// FormatRetention returns the canonical form "MODE 2027-01-01T00:00:00Z"
// (UTC; ".mmm" when the milliseconds are not zero, a finer fraction rounded
// up so that writing the value back never shortens the retention). A zero
// retention formats as empty.
func FormatRetention(r lockctl.Retention) []byte {
	if r.IsZero() {
		return []byte{}
	}
	return []byte(string(r.Mode) + " " + lockctl.FormatInstant(r.Until))
}

// ParseLegalHold parses a value written to user.s3.legalhold: ON or OFF.
func ParseLegalHold(value []byte) (bool, error) {
	const attr = "legal hold"
	s, err := clean(attr, value)
	if err != nil {
		return false, err
	}
	on, err := lockctl.ParseLegalHold(s)
	if err != nil {
		return false, malformedCause(attr, err)
	}
	return on, nil
}

// FormatLegalHold returns "ON" or "OFF".
func FormatLegalHold(on bool) []byte {
	if on {
		return []byte("ON")
	}
	return []byte("OFF")
}

// ParseDefaultRule parses a value written to user.s3.retention on a bucket
// directory: "MODE Nd" or "MODE Ny". The rule is validated against
// lockctl.DefaultMaxRetention; a store configured with another maximum
// validates again. A count ≤ 0 wraps lockctl.ErrInvalidPeriod, a too long
// one lockctl.ErrTooLong (and both ErrMalformed).
func ParseDefaultRule(value []byte) (lockctl.DefaultRule, error) {
	const attr = "default retention"
	s, err := clean(attr, value)
	if err != nil {
		return lockctl.DefaultRule{}, err
	}
	modeStr, period, ok := strings.Cut(s, " ")
	if !ok || strings.Contains(period, " ") {
		return lockctl.DefaultRule{}, malformed(attr, "want MODE Nd or MODE Ny, got %q", s)
	}
	mode, err := parseMode(attr, modeStr)
	if err != nil {
		return lockctl.DefaultRule{}, err
	}
	if period == "" {
		return lockctl.DefaultRule{}, malformedCause(attr, lockctl.ErrNoPeriod)
	}
	unit := period[len(period)-1]
	if unit != 'd' && unit != 'y' {
		return lockctl.DefaultRule{}, malformed(attr, "period %q: unit must be d (days) or y (years)", period)
	}
	num := period[:len(period)-1]
	negative := false
	if rest, ok := strings.CutPrefix(num, "-"); ok {
		negative, num = true, rest
	}
	n, err := parseCount(num)
	switch {
	case negative && (err == nil || errors.Is(err, errTooLarge)), errors.Is(err, errNotPositive):
		return lockctl.DefaultRule{}, malformedCause(attr, fmt.Errorf("%w: %s", lockctl.ErrInvalidPeriod, period))
	case errors.Is(err, errTooLarge):
		return lockctl.DefaultRule{}, malformedCause(attr, fmt.Errorf("%w: %s", lockctl.ErrTooLong, period))
	case err != nil:
		return lockctl.DefaultRule{}, malformed(attr, "period %s: %v", period, err)
	}
	rule := lockctl.DefaultRule{Mode: mode}
	if unit == 'd' {
		rule.Days = n
	} else {
		rule.Years = n
	}
	if err := rule.Validate(0); err != nil {
		return lockctl.DefaultRule{}, malformedCause(attr, fmt.Errorf("%s: %w", s, err))
	}
	return rule, nil
}

// FormatDefaultRule returns "MODE Nd" or "MODE Ny" (empty for no rule).
func FormatDefaultRule(r lockctl.DefaultRule) []byte {
	return []byte(r.String())
}

// Kind classifies an attribute name.
type Kind int

// The kinds of attribute names.
const (
	// KindInvalid: empty, no namespace, an unknown namespace, a NUL byte,
	// or longer than MaxNameLen.
	KindInvalid Kind = iota
	// KindReserved: security.*, system.*, trusted.* (ENODATA, fast).
	KindReserved
	// KindRetention .. KindLockStatus: the user.s3.* attributes of SPEC §5.
	KindRetention
	KindLegalHold
	KindVersionID
	KindLockStatus
	// KindUnknownS3: any other user.s3.* name; refused.
	KindUnknownS3
	// KindUser: any other user.* name, stored as user metadata.
	KindUser
)

var kindNames = [...]string{
	KindInvalid:    "invalid",
	KindReserved:   "reserved",
	KindRetention:  "retention",
	KindLegalHold:  "legalhold",
	KindVersionID:  "version-id",
	KindLockStatus: "lockstatus",
	KindUnknownS3:  "unknown-s3",
	KindUser:       "user",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// reservedPrefixes are the namespaces the mount never stores.
var reservedPrefixes = []string{"security.", "system.", "trusted."}

const userPrefix = "user."

// IsReservedNamespace reports whether name is in the security, system or
// trusted namespace.
func IsReservedNamespace(name string) bool {
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// ClassifyName tells what an attribute name refers to.
func ClassifyName(name string) Kind {
	if name == "" || len(name) > MaxNameLen || strings.IndexByte(name, 0) >= 0 {
		return KindInvalid
	}
	if IsReservedNamespace(name) {
		return KindReserved
	}
	switch name {
	case NameRetention:
		return KindRetention
	case NameLegalHold:
		return KindLegalHold
	case NameVersionID:
		return KindVersionID
	case NameLockStatus:
		return KindLockStatus
	}
	// The reserved prefix in any case: user.S3.x must not become the
	// metadata key "s3.x", which would list as the reserved user.s3.x.
	if len(name) >= len(Prefix) && strings.EqualFold(name[:len(Prefix)], Prefix) {
		return KindUnknownS3
	}
	if len(name) > len(userPrefix) && strings.HasPrefix(name, userPrefix) {
		return KindUser
	}
	return KindInvalid
}

// UserMetaKey maps a user.* attribute name (KindUser) to its S3
// user-metadata key (sent as x-amz-meta-KEY): the part after "user.",
// lower-cased, when it is a valid HTTP header token. Names that differ only
// in case map to the same key.
func UserMetaKey(name string) (string, bool) {
	if ClassifyName(name) != KindUser {
		return "", false
	}
	key := name[len(userPrefix):]
	for i := 0; i < len(key); i++ {
		if !isTokenChar(key[i]) {
			return "", false
		}
	}
	return strings.ToLower(key), true
}

// isTokenChar reports whether c is a tchar of RFC 9110 §5.6.2.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
