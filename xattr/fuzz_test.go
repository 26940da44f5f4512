package xattr

import (
	"errors"
	"testing"
	"time"
)

func FuzzParseRetention(f *testing.F) {
	for _, seed := range []string{
		"GOVERNANCE 2027-01-01T00:00:00Z",
		"COMPLIANCE 2027-01-01T02:00:00.123456789+02:00\n",
		"GOVERNANCE 2026-12-01T00:00:00Z bypass",
		`{"Mode":"GOVERNANCE","RetainUntilDate":"2027-01-01T00:00:00Z"}`,
		`{"Mode": "COMPLIANCE", "RetainUntilDate": "2027-01-01T00:00:00.5Z"} bypass`,
		"COMPLIANCE +30d",
		"governance +5y bypass\n",
		"COMPLIANCE +99999y",
		"GOVERNANCE 9999-12-31T23:59:59Z",
		"",
		"\x00",
	} {
		f.Add([]byte(seed), int64(1772366400), int64(0))
	}
	f.Fuzz(func(t *testing.T, value []byte, sec, nsec int64) {
		// now anywhere in the years 0000-9999, with a fraction.
		const span = 315537897600 // seconds from 0000-01-01 to 10000-01-01
		year0 := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		n := time.Unix(year0+((sec%span)+span)%span, ((nsec%1e9)+1e9)%1e9).UTC()

		req, err := ParseRetention(value, n)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if req != (RetentionRequest{}) {
				t.Fatalf("result %v alongside error", req)
			}
			return
		}
		r := req.Retention
		if !r.Mode.Valid() || r.Until.IsZero() || r.Until.Nanosecond()%int(time.Millisecond) != 0 || r.Until.Location() != time.UTC {
			t.Fatalf("ParseRetention(%q) = %v (%v)", value, r, r.Until.Location())
		}
		canon := FormatRetention(r)
		again, err := ParseRetention(canon, n)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, value, err)
		}
		if again.Retention.Mode != r.Mode || !again.Retention.Until.Equal(r.Until) || again.Bypass {
			t.Fatalf("round trip %q → %q → %v", value, canon, again)
		}
		withBypass, err := ParseRetention(append(canon, " bypass"...), n)
		if err != nil || !withBypass.Bypass || !withBypass.Retention.Until.Equal(r.Until) {
			t.Fatalf("%q bypass: %v, %v", canon, withBypass, err)
		}
	})
}

func FuzzParseLegalHold(f *testing.F) {
	for _, seed := range []string{"ON", "OFF", "on\n", "Off", "", "ON ", "YES", "\xff"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		on, err := ParseLegalHold(value)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again, err := ParseLegalHold(FormatLegalHold(on))
		if err != nil || again != on {
			t.Fatalf("round trip %q → %v → %v, %v", value, on, again, err)
		}
	})
}

func FuzzParseDefaultRule(f *testing.F) {
	for _, seed := range []string{"COMPLIANCE 365d", "GOVERNANCE 5y\n", "governance 100y", "COMPLIANCE 0d", "COMPLIANCE -5d", "COMPLIANCE 36525d", "", "X 1d"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		rule, err := ParseDefaultRule(value)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if !rule.IsZero() {
				t.Fatalf("result %+v alongside error", rule)
			}
			return
		}
		if err := rule.Validate(0); err != nil {
			t.Fatalf("ParseDefaultRule(%q) = %+v, invalid: %v", value, rule, err)
		}
		created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		if r := rule.Stamp(created); !r.Until.After(created) || r.Mode != rule.Mode {
			t.Fatalf("rule %+v stamps %v", rule, r)
		}
		again, err := ParseDefaultRule(FormatDefaultRule(rule))
		if err != nil || again != rule {
			t.Fatalf("round trip %q → %q → %+v, %v", value, FormatDefaultRule(rule), again, err)
		}
	})
}
