package xattr

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wormfs/wormfs/lockctl"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func utc(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, time.UTC)
}

func gov(t time.Time) lockctl.Retention {
	return lockctl.Retention{Mode: lockctl.ModeGovernance, Until: t}
}

func comp(t time.Time) lockctl.Retention {
	return lockctl.Retention{Mode: lockctl.ModeCompliance, Until: t}
}

func sameRetention(a, b lockctl.Retention) bool {
	return a.Mode == b.Mode && a.Until.Equal(b.Until)
}

func TestParseRetentionGoodForms(t *testing.T) {
	leapDay := utc(2028, 2, 29, 12, 0, 0)
	tests := []struct {
		name  string
		in    string
		now   time.Time // package now when zero
		want  lockctl.Retention
		bypas bool
	}{
		{name: "canonical governance", in: "GOVERNANCE 2027-01-01T00:00:00Z", want: gov(utc(2027, 1, 1, 0, 0, 0))},
		{name: "canonical compliance", in: "COMPLIANCE 2030-06-15T08:30:00Z", want: comp(utc(2030, 6, 15, 8, 30, 0))},
		{name: "lower case mode", in: "governance 2027-01-01T00:00:00Z", want: gov(utc(2027, 1, 1, 0, 0, 0))},
		{name: "mixed case mode", in: "Compliance 2027-01-01T00:00:00Z", want: comp(utc(2027, 1, 1, 0, 0, 0))},
		{name: "offset converted to UTC", in: "COMPLIANCE 2027-01-01T02:00:00+02:00", want: comp(utc(2027, 1, 1, 0, 0, 0))},
		{name: "negative offset", in: "COMPLIANCE 2026-12-31T19:00:00-05:00", want: comp(utc(2027, 1, 1, 0, 0, 0))},
		{name: "zero fraction", in: "GOVERNANCE 2027-01-01T00:00:00.000Z", want: gov(utc(2027, 1, 1, 0, 0, 0))},
		// Instants are kept to the millisecond (issue 14 item 13): a
		// millisecond fraction stays, a finer one is rounded up.
		{name: "millisecond fraction kept", in: "GOVERNANCE 2027-01-01T00:00:00.001Z", want: gov(utc(2027, 1, 1, 0, 0, 0).Add(time.Millisecond))},
		{name: "microsecond fraction rounded up", in: "GOVERNANCE 2027-01-01T00:00:00.000001Z", want: gov(utc(2027, 1, 1, 0, 0, 0).Add(time.Millisecond))},
		{name: "nanosecond fraction rounded up", in: "GOVERNANCE 2027-01-01T00:00:59.999999999Z", want: gov(utc(2027, 1, 1, 0, 1, 0))},
		{name: "trailing newline", in: "GOVERNANCE 2027-01-01T00:00:00Z\n", want: gov(utc(2027, 1, 1, 0, 0, 0))},
		{name: "bypass", in: "GOVERNANCE 2026-12-01T00:00:00Z bypass", want: gov(utc(2026, 12, 1, 0, 0, 0)), bypas: true},
		{name: "bypass and newline", in: "GOVERNANCE 2026-12-01T00:00:00Z bypass\n", want: gov(utc(2026, 12, 1, 0, 0, 0)), bypas: true},
		{name: "past date is syntax only", in: "GOVERNANCE 2000-01-01T00:00:00Z", want: gov(utc(2000, 1, 1, 0, 0, 0))},
		{name: "year 9999", in: "COMPLIANCE 9999-12-31T23:59:59Z", want: comp(utc(9999, 12, 31, 23, 59, 59))},
		{name: "JSON", in: `{"Mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z"}`, want: gov(utc(2027, 1, 1, 0, 0, 0))},
		{name: "JSON with spaces and millis", in: `{"Mode": "COMPLIANCE", "RetainUntilDate": "2027-01-01T00:00:00.000Z"}`, want: comp(utc(2027, 1, 1, 0, 0, 0))},
		{name: "JSON fields reversed", in: `{"RetainUntilDate":"2027-01-01T00:00:00+00:00","Mode":"COMPLIANCE"}`, want: comp(utc(2027, 1, 1, 0, 0, 0))},
		{name: "JSON escaped letters", in: `{"Mode":"GOV\u0045RNANCE","RetainUntilDate":"2027-01-01T00:00:00Z"}`, want: gov(utc(2027, 1, 1, 0, 0, 0))},
		{name: "JSON bypass", in: `{"Mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z"} bypass`, want: gov(utc(2027, 1, 1, 0, 0, 0)), bypas: true},
		{name: "JSON newline", in: `{"Mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z"}` + "\n", want: gov(utc(2027, 1, 1, 0, 0, 0))},
		{name: "relative days", in: "COMPLIANCE +30d", want: comp(utc(2026, 3, 31, 12, 0, 0))},
		{name: "relative one day", in: "GOVERNANCE +1d", want: gov(utc(2026, 3, 2, 12, 0, 0))},
		{name: "relative years", in: "GOVERNANCE +5y", want: gov(utc(2031, 3, 1, 12, 0, 0))},
		{name: "relative year over leap day", in: "COMPLIANCE +1y", now: utc(2027, 3, 1, 0, 0, 0), want: comp(utc(2028, 3, 1, 0, 0, 0))},
		{name: "relative year from leap day", in: "COMPLIANCE +1y", now: leapDay, want: comp(utc(2029, 3, 1, 12, 0, 0))},
		{name: "relative 365 days over leap day", in: "COMPLIANCE +365d", now: utc(2028, 1, 1, 0, 0, 0), want: comp(utc(2028, 12, 31, 0, 0, 0))},
		{name: "relative with fractional now rounded up", in: "GOVERNANCE +1d", now: now.Add(time.Microsecond), want: gov(utc(2026, 3, 2, 12, 0, 0).Add(time.Millisecond))},
		{name: "relative from another zone", in: "GOVERNANCE +1d", now: now.In(time.FixedZone("JST", 9*3600)), want: gov(utc(2026, 3, 2, 12, 0, 0))},
		{name: "relative leading zeros", in: "GOVERNANCE +007d", want: gov(utc(2026, 3, 8, 12, 0, 0))},
		{name: "relative bypass", in: "GOVERNANCE +1d bypass", want: gov(utc(2026, 3, 2, 12, 0, 0)), bypas: true},
		{name: "relative hundred years", in: "COMPLIANCE +100y", want: comp(utc(2126, 3, 1, 12, 0, 0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.now
			if n.IsZero() {
				n = now
			}
			got, err := ParseRetention([]byte(tt.in), n)
			if err != nil {
				t.Fatalf("ParseRetention(%q): %v", tt.in, err)
			}
			if !sameRetention(got.Retention, tt.want) || got.Bypass != tt.bypas {
				t.Fatalf("ParseRetention(%q) = %v bypass=%v, want %v bypass=%v", tt.in, got.Retention, got.Bypass, tt.want, tt.bypas)
			}
			if got.Retention.Until.Location() != time.UTC {
				t.Fatalf("Until in %v, want UTC", got.Retention.Until.Location())
			}
			// Round trip: the canonical form parses to the same value.
			canon := FormatRetention(got.Retention)
			again, err := ParseRetention(canon, n)
			if err != nil {
				t.Fatalf("ParseRetention(%q) of the canonical form: %v", canon, err)
			}
			if !sameRetention(again.Retention, got.Retention) || again.Bypass {
				t.Fatalf("round trip %q → %q → %v", tt.in, canon, again)
			}
		})
	}
}

func TestParseRetentionMalformed(t *testing.T) {
	long := "GOVERNANCE 2027-01-01T00:00:00Z" + strings.Repeat("x", MaxValueLen)
	tests := []struct {
		name  string
		in    string
		also  error // a second error the result must wrap, if any
		inMsg string
	}{
		{name: "empty", in: "", inMsg: "empty"},
		{name: "only a newline", in: "\n", inMsg: "empty"},
		{name: "two newlines", in: "GOVERNANCE 2027-01-01T00:00:00Z\n\n", inMsg: "line break"},
		{name: "CRLF", in: "GOVERNANCE 2027-01-01T00:00:00Z\r\n", inMsg: "line break"},
		{name: "oversized", in: long, inMsg: "longer than"},
		{name: "oversized JSON", in: `{"Mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z"}` + strings.Repeat(" ", 200) + "bypass"},
		{name: "unknown mode", in: "LEGALHOLD 2027-01-01T00:00:00Z", also: lockctl.ErrUnknownMode},
		{name: "non-ASCII lookalike mode", in: "COMPLıANCE 2027-01-01T00:00:00Z", inMsg: "non-ASCII"},
		{name: "digits in mode", in: "G0VERNANCE 2027-01-01T00:00:00Z", also: lockctl.ErrUnknownMode},
		{name: "mode only", in: "GOVERNANCE"},
		{name: "date only", in: "2027-01-01T00:00:00Z"},
		{name: "leading space", in: " GOVERNANCE 2027-01-01T00:00:00Z", inMsg: "space"},
		{name: "trailing space", in: "GOVERNANCE 2027-01-01T00:00:00Z ", inMsg: "space"},
		{name: "space before newline", in: "GOVERNANCE 2027-01-01T00:00:00Z \n", inMsg: "space"},
		{name: "double space", in: "GOVERNANCE  2027-01-01T00:00:00Z", inMsg: "more than one space"},
		{name: "tab separator", in: "GOVERNANCE\t2027-01-01T00:00:00Z", inMsg: "tab"},
		{name: "NUL byte", in: "GOVERNANCE 2027-01-01T00:00:00Z\x00", inMsg: "NUL"},
		{name: "NUL in mode", in: "GOVER\x00NANCE 2027-01-01T00:00:00Z", inMsg: "NUL"},
		{name: "invalid UTF-8", in: "GOVERNANCE 2027-01-01T00:00:00Z\xff", inMsg: "UTF-8"},
		{name: "control character", in: "GOVERNANCE 2027-01-01T00:00:00Z\x1b", inMsg: "control"},
		{name: "month 13", in: "GOVERNANCE 2027-13-01T00:00:00Z", inMsg: "RFC 3339"},
		{name: "February 30", in: "GOVERNANCE 2027-02-30T00:00:00Z", inMsg: "RFC 3339"},
		{name: "hour 25", in: "GOVERNANCE 2027-01-01T25:00:00Z", inMsg: "RFC 3339"},
		{name: "no zone", in: "GOVERNANCE 2027-01-01T00:00:00", inMsg: "RFC 3339"},
		{name: "date without time", in: "GOVERNANCE 2027-01-01", inMsg: "RFC 3339"},
		{name: "unix seconds", in: "GOVERNANCE 1798761600", inMsg: "RFC 3339"},
		{name: "offset before year 0", in: "GOVERNANCE 0000-01-01T00:00:00+01:00", inMsg: "outside the years"},
		{name: "fraction beyond year 9999", in: "GOVERNANCE 9999-12-31T23:59:59.9999Z", inMsg: "outside the years"},
		{name: "offset +24:00", in: "GOVERNANCE 2027-01-01T00:00:00+24:00", inMsg: "not an RFC 3339 date"},
		{name: "+0d", in: "COMPLIANCE +0d", inMsg: "not positive"},
		{name: "+0y", in: "COMPLIANCE +0y", inMsg: "not positive"},
		{name: "+-5d", in: "COMPLIANCE +-5d", inMsg: "not a whole number"},
		{name: "++5d", in: "COMPLIANCE ++5d", inMsg: "not a whole number"},
		{name: "-5d", in: "COMPLIANCE -5d", inMsg: "RFC 3339"},
		{name: "+5w", in: "COMPLIANCE +5w", inMsg: "unit"},
		{name: "+5D upper case unit", in: "COMPLIANCE +5D", inMsg: "unit"},
		{name: "+5 without unit", in: "COMPLIANCE +5", inMsg: "unit"},
		{name: "+d without number", in: "COMPLIANCE +d", inMsg: "not a whole number"},
		{name: "+ alone", in: "COMPLIANCE +", inMsg: "missing period"},
		{name: "+1.5y", in: "COMPLIANCE +1.5y", inMsg: "not a whole number"},
		{name: "+5d5y", in: "COMPLIANCE +5d5y", inMsg: "not a whole number"},
		{name: "huge number", in: "COMPLIANCE +99999999999999999999999d", inMsg: "too large"},
		{name: "max int64", in: "COMPLIANCE +9223372036854775807y", inMsg: "too large"},
		{name: "beyond the year limit", in: "COMPLIANCE +100001y", inMsg: "too large"},
		{name: "relative beyond year 9999", in: "COMPLIANCE +8000y", inMsg: "outside the years"},
		{name: "relative days beyond year 9999", in: "COMPLIANCE +36500000d", inMsg: "outside the years"},
		{name: "relative days beyond the limit", in: "COMPLIANCE +36600001d", inMsg: "too large"},
		{name: "bypass twice", in: "GOVERNANCE 2027-01-01T00:00:00Z bypass bypass", inMsg: "unexpected words"},
		{name: "upper case BYPASS", in: "GOVERNANCE 2027-01-01T00:00:00Z BYPASS", inMsg: "unexpected words"},
		{name: "bypass alone", in: "bypass"},
		{name: "bypass before date", in: "GOVERNANCE bypass 2027-01-01T00:00:00Z", inMsg: "unexpected words"},
		{name: "extra word", in: "GOVERNANCE 2027-01-01T00:00:00Z please", inMsg: "unexpected words"},
		{name: "broken JSON", in: `{"Mode":"GOVERNANCE"`, inMsg: "not closed"},
		{name: "broken JSON with bypass", in: "{ bypass"},
		{name: "JSON not an object", in: `["GOVERNANCE","2027-01-01T00:00:00Z"]`},
		{name: "JSON extra field", in: `{"Mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z","Extra":1}`, inMsg: "unknown field"},
		{name: "JSON wrapped in Retention", in: `{"Retention":{"Mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z"}}`, inMsg: "unknown field"},
		{name: "JSON lower case key", in: `{"mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z"}`, inMsg: "unknown field"},
		{name: "JSON duplicate key", in: `{"Mode":"GOVERNANCE","Mode":"COMPLIANCE","RetainUntilDate":"2027-01-01T00:00:00Z"}`, inMsg: "duplicate"},
		{name: "JSON missing date", in: `{"Mode":"GOVERNANCE"}`, also: lockctl.ErrMissingDate},
		{name: "JSON missing mode", in: `{"RetainUntilDate":"2027-01-01T00:00:00Z"}`, also: lockctl.ErrMissingMode},
		{name: "JSON empty object", in: `{}`, also: lockctl.ErrMissingMode},
		{name: "JSON number value", in: `{"Mode":"GOVERNANCE","RetainUntilDate":1798761600}`, inMsg: "must be a string"},
		{name: "JSON null mode", in: `{"Mode":null,"RetainUntilDate":"2027-01-01T00:00:00Z"}`, inMsg: "must be a string"},
		{name: "JSON nested value", in: `{"Mode":{"x":1},"RetainUntilDate":"2027-01-01T00:00:00Z"}`, inMsg: "must be a string"},
		{name: "JSON trailing comma", in: `{"Mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z",}`},
		{name: "JSON trailing garbage", in: `{"Mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z"}x`, inMsg: "after the object"},
		{name: "JSON two objects", in: `{"Mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z"}{}`, inMsg: "after the object"},
		{name: "JSON unknown mode", in: `{"Mode":"FOO","RetainUntilDate":"2027-01-01T00:00:00Z"}`, also: lockctl.ErrUnknownMode},
		{name: "JSON mode with space", in: `{"Mode":"GOVERNANCE ","RetainUntilDate":"2027-01-01T00:00:00Z"}`, also: lockctl.ErrUnknownMode},
		{name: "JSON relative date", in: `{"Mode":"GOVERNANCE","RetainUntilDate":"+5d"}`, inMsg: "RFC 3339"},
		{name: "JSON bad date", in: `{"Mode":"GOVERNANCE","RetainUntilDate":"tomorrow"}`, inMsg: "RFC 3339"},
		{name: "JSON escaped NUL", in: `{"Mode":"GOVERNANCE\u0000","RetainUntilDate":"2027-01-01T00:00:00Z"}`, also: lockctl.ErrUnknownMode},
		{name: "default rule form", in: "COMPLIANCE 365d", inMsg: "RFC 3339"},
		{name: "legal hold value", in: "ON"},
	}
	if len(tests) < 25 {
		t.Fatalf("only %d malformed cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRetention([]byte(tt.in), now)
			if err == nil {
				t.Fatalf("ParseRetention(%q) = %v, want an error", tt.in, got)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Fatalf("error %v does not wrap %v", err, tt.also)
			}
			if !strings.Contains(err.Error(), tt.inMsg) {
				t.Fatalf("error %q does not say %q", err, tt.inMsg)
			}
			if got != (RetentionRequest{}) {
				t.Fatalf("result %v alongside error", got)
			}
		})
	}
}

func TestFormatRetention(t *testing.T) {
	tests := []struct {
		name string
		in   lockctl.Retention
		want string
	}{
		{name: "zero", in: lockctl.Retention{}, want: ""},
		{name: "governance", in: gov(utc(2027, 1, 1, 0, 0, 0)), want: "GOVERNANCE 2027-01-01T00:00:00Z"},
		{name: "compliance other zone", in: comp(time.Date(2027, 1, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600))), want: "COMPLIANCE 2027-01-01T00:00:00Z"},
		{name: "milliseconds shown", in: comp(utc(2027, 1, 1, 0, 0, 0).Add(time.Millisecond)), want: "COMPLIANCE 2027-01-01T00:00:00.001Z"},
		{name: "finer fraction rounded up", in: comp(utc(2027, 1, 1, 0, 0, 0).Add(time.Microsecond)), want: "COMPLIANCE 2027-01-01T00:00:00.001Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(FormatRetention(tt.in)); got != tt.want {
				t.Fatalf("FormatRetention(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Writing back the value read from user.s3.retention must never count as a
// shortening, even when the stored date has a fraction (set over S3).
func TestFormatRetentionWriteBackNeverShortens(t *testing.T) {
	cur := comp(utc(2027, 1, 1, 0, 0, 0).Add(999 * time.Millisecond))
	req, err := ParseRetention(FormatRetention(cur), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := lockctl.CheckRetentionChange(cur, req.Retention, now, lockctl.Bypass{}); err != nil {
		t.Fatalf("writing back %q refused: %v", FormatRetention(cur), err)
	}
}

func TestParseLegalHold(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
		err  error // besides ErrMalformed
		bad  bool
	}{
		{name: "ON", in: "ON", want: true},
		{name: "OFF", in: "OFF", want: false},
		{name: "lower on", in: "on", want: true},
		{name: "mixed off", in: "Off", want: false},
		{name: "newline", in: "ON\n", want: true},
		{name: "empty", in: "", bad: true},
		{name: "only newline", in: "\n", bad: true},
		{name: "two newlines", in: "ON\n\n", bad: true},
		{name: "leading space", in: " ON", bad: true},
		{name: "trailing space", in: "OFF ", bad: true},
		{name: "yes", in: "YES", bad: true, err: lockctl.ErrInvalidHold},
		{name: "one", in: "1", bad: true, err: lockctl.ErrInvalidHold},
		{name: "bypass suffix", in: "OFF bypass", bad: true, err: lockctl.ErrInvalidHold},
		{name: "NUL", in: "O\x00N", bad: true},
		{name: "invalid UTF-8", in: "\xffON", bad: true},
		{name: "oversized", in: strings.Repeat("O", MaxValueLen+1), bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLegalHold([]byte(tt.in))
			if tt.bad {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseLegalHold(%q) error = %v, want ErrMalformed", tt.in, err)
				}
				if tt.err != nil && !errors.Is(err, tt.err) {
					t.Fatalf("error %v does not wrap %v", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseLegalHold(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			again, err := ParseLegalHold(FormatLegalHold(got))
			if err != nil || again != got {
				t.Fatalf("round trip of %v: %v, %v", got, again, err)
			}
		})
	}
}

func TestFormatLegalHold(t *testing.T) {
	tests := []struct {
		name string
		in   bool
		want string
	}{
		{name: "on", in: true, want: "ON"},
		{name: "off", in: false, want: "OFF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(FormatLegalHold(tt.in)); got != tt.want {
				t.Fatalf("FormatLegalHold(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDefaultRule(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want lockctl.DefaultRule
	}{
		{name: "days", in: "COMPLIANCE 365d", want: lockctl.DefaultRule{Mode: lockctl.ModeCompliance, Days: 365}},
		{name: "years", in: "GOVERNANCE 5y", want: lockctl.DefaultRule{Mode: lockctl.ModeGovernance, Years: 5}},
		{name: "lower case mode and newline", in: "governance 1d\n", want: lockctl.DefaultRule{Mode: lockctl.ModeGovernance, Days: 1}},
		{name: "hundred years", in: "COMPLIANCE 100y", want: lockctl.DefaultRule{Mode: lockctl.ModeCompliance, Years: 100}},
		{name: "36500 days", in: "GOVERNANCE 36500d", want: lockctl.DefaultRule{Mode: lockctl.ModeGovernance, Days: 36500}},
		{name: "leading zeros", in: "COMPLIANCE 007d", want: lockctl.DefaultRule{Mode: lockctl.ModeCompliance, Days: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDefaultRule([]byte(tt.in))
			if err != nil || got != tt.want {
				t.Fatalf("ParseDefaultRule(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			again, err := ParseDefaultRule(FormatDefaultRule(got))
			if err != nil || again != got {
				t.Fatalf("round trip %q → %q → %+v, %v", tt.in, FormatDefaultRule(got), again, err)
			}
		})
	}
}

func TestParseDefaultRuleMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
		also error
	}{
		{name: "empty", in: ""},
		{name: "zero days", in: "COMPLIANCE 0d", also: lockctl.ErrInvalidPeriod},
		{name: "zero years", in: "GOVERNANCE 0y", also: lockctl.ErrInvalidPeriod},
		{name: "negative days", in: "COMPLIANCE -5d", also: lockctl.ErrInvalidPeriod},
		{name: "negative years", in: "GOVERNANCE -1y", also: lockctl.ErrInvalidPeriod},
		{name: "negative zero", in: "GOVERNANCE -0d", also: lockctl.ErrInvalidPeriod},
		{name: "huge negative", in: "GOVERNANCE -99999999999999999999d", also: lockctl.ErrInvalidPeriod},
		{name: "101 years", in: "COMPLIANCE 101y", also: lockctl.ErrTooLong},
		{name: "too many days", in: "COMPLIANCE 99999d", also: lockctl.ErrTooLong},
		{name: "huge number", in: "COMPLIANCE 99999999999999999999d", also: lockctl.ErrTooLong},
		{name: "unknown mode", in: "FOO 5d", also: lockctl.ErrUnknownMode},
		{name: "mode only", in: "COMPLIANCE"},
		{name: "no unit", in: "COMPLIANCE 5"},
		{name: "weeks", in: "COMPLIANCE 5w"},
		{name: "upper case unit", in: "COMPLIANCE 5D"},
		{name: "relative form", in: "COMPLIANCE +5d"},
		{name: "days and years", in: "COMPLIANCE 5d 3y"},
		{name: "combined period", in: "COMPLIANCE 5d3y"},
		{name: "no number", in: "COMPLIANCE d"},
		{name: "fraction", in: "COMPLIANCE 1.5y"},
		{name: "double space", in: "COMPLIANCE  5d"},
		{name: "tab", in: "COMPLIANCE\t5d"},
		{name: "bypass suffix", in: "GOVERNANCE 5y bypass"},
		{name: "a date", in: "GOVERNANCE 2027-01-01T00:00:00Z"},
		{name: "NUL", in: "GOVERNANCE 5y\x00"},
		{name: "two newlines", in: "GOVERNANCE 5y\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDefaultRule([]byte(tt.in))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseDefaultRule(%q) = %+v, %v; want ErrMalformed", tt.in, got, err)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Fatalf("error %v does not wrap %v", err, tt.also)
			}
			if !got.IsZero() {
				t.Fatalf("result %+v alongside error", got)
			}
		})
	}
}

func TestFormatDefaultRule(t *testing.T) {
	tests := []struct {
		name string
		in   lockctl.DefaultRule
		want string
	}{
		{name: "none", in: lockctl.DefaultRule{}, want: ""},
		{name: "days", in: lockctl.DefaultRule{Mode: lockctl.ModeCompliance, Days: 365}, want: "COMPLIANCE 365d"},
		{name: "years", in: lockctl.DefaultRule{Mode: lockctl.ModeGovernance, Years: 5}, want: "GOVERNANCE 5y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(FormatDefaultRule(tt.in)); got != tt.want {
				t.Fatalf("FormatDefaultRule(%+v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestClassifyName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Kind
	}{
		{name: "retention", in: "user.s3.retention", want: KindRetention},
		{name: "legal hold", in: "user.s3.legalhold", want: KindLegalHold},
		{name: "version id", in: "user.s3.version-id", want: KindVersionID},
		{name: "lock status", in: "user.s3.lockstatus", want: KindLockStatus},
		{name: "unknown s3", in: "user.s3.tagging", want: KindUnknownS3},
		{name: "s3 prefix only", in: "user.s3.", want: KindUnknownS3},
		{name: "s3 case variant", in: "user.s3.Retention", want: KindUnknownS3},
		{name: "reserved prefix in upper case", in: "user.S3.Retention", want: KindUnknownS3},
		{name: "reserved prefix mixed case", in: "user.S3.foo", want: KindUnknownS3},
		{name: "user s3 without dot", in: "user.s3", want: KindUser},
		{name: "user", in: "user.foo", want: KindUser},
		{name: "user with dots", in: "user.xdg.origin.url", want: KindUser},
		{name: "user prefix only", in: "user.", want: KindInvalid},
		{name: "security", in: "security.capability", want: KindReserved},
		{name: "selinux", in: "security.selinux", want: KindReserved},
		{name: "system acl", in: "system.posix_acl_access", want: KindReserved},
		{name: "trusted", in: "trusted.overlay.opaque", want: KindReserved},
		{name: "empty", in: "", want: KindInvalid},
		{name: "no namespace", in: "retention", want: KindInvalid},
		{name: "unknown namespace", in: "foo.bar", want: KindInvalid},
		{name: "upper case namespace", in: "USER.foo", want: KindInvalid},
		{name: "NUL", in: "user.fo\x00o", want: KindInvalid},
		{name: "255 bytes", in: "user." + strings.Repeat("a", 250), want: KindUser},
		{name: "256 bytes", in: "user." + strings.Repeat("a", 251), want: KindInvalid},
		{name: "oversized reserved", in: "security." + strings.Repeat("a", 250), want: KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassifyName(tt.in); got != tt.want {
				t.Fatalf("ClassifyName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsReservedNamespace(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "security", in: "security.capability", want: true},
		{name: "system", in: "system.posix_acl_default", want: true},
		{name: "trusted", in: "trusted.foo", want: true},
		{name: "user", in: "user.foo", want: false},
		{name: "user s3", in: "user.s3.retention", want: false},
		{name: "bare word", in: "security", want: false},
		{name: "lookalike", in: "securityx.foo", want: false},
		{name: "empty", in: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsReservedNamespace(tt.in); got != tt.want {
				t.Fatalf("IsReservedNamespace(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestUserMetaKey(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{name: "simple", in: "user.foo", want: "foo", ok: true},
		{name: "lower-cased", in: "user.Content-Owner", want: "content-owner", ok: true},
		{name: "dots", in: "user.xdg.origin.url", want: "xdg.origin.url", ok: true},
		{name: "token punctuation", in: "user.a!#$%&'*+-.^_`|~1", want: "a!#$%&'*+-.^_`|~1", ok: true},
		{name: "space", in: "user.my key", ok: false},
		{name: "colon", in: "user.a:b", ok: false},
		{name: "slash", in: "user.a/b", ok: false},
		{name: "quote", in: `user.a"b`, ok: false},
		{name: "non-ASCII", in: "user.café", ok: false},
		{name: "control", in: "user.a\x01", ok: false},
		{name: "empty key", in: "user.", ok: false},
		{name: "s3 attribute", in: "user.s3.retention", ok: false},
		{name: "unknown s3 attribute", in: "user.s3.foo", ok: false},
		{name: "reserved", in: "security.capability", ok: false},
		{name: "no namespace", in: "foo", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := UserMetaKey(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("UserMetaKey(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		name string
		in   Kind
		want string
	}{
		{name: "user", in: KindUser, want: "user"},
		{name: "retention", in: KindRetention, want: "retention"},
		{name: "out of range", in: Kind(99), want: "Kind(99)"},
		{name: "negative", in: Kind(-1), want: "Kind(-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
