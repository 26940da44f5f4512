package lockctl

import (
	"errors"
	"testing"
	"time"
)

// fuzzMode maps a byte to a mode, including ModeNone and an invalid one.
func fuzzMode(b byte) Mode {
	switch b % 4 {
	case 0:
		return ModeNone
	case 1:
		return ModeGovernance
	case 2:
		return ModeCompliance
	}
	return Mode("governance")
}

// fuzzTime maps an int64 to an instant within ±200 years of t0 (nanosecond
// resolution), or the zero time for 0.
func fuzzTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	const span = 200 * 365 * 24 * 3600 // seconds; × 1e9 still fits a Duration
	sec := v % span
	return t0.Add(time.Duration(sec)*time.Second + time.Duration(v%1e9))
}

func FuzzCheckRetentionChange(f *testing.F) {
	f.Add(byte(2), int64(3600), byte(2), int64(60), int64(1), true, true)
	f.Add(byte(1), int64(3600), byte(0), int64(0), int64(1), true, false)
	f.Add(byte(1), int64(3600), byte(2), int64(7200), int64(1), false, true)
	f.Add(byte(2), int64(3600), byte(1), int64(7200), int64(1), true, true)
	f.Add(byte(1), int64(-3600), byte(0), int64(0), int64(1), false, false)
	f.Fuzz(func(t *testing.T, curMode byte, curUntil int64, nextMode byte, nextUntil int64, nowV int64, requested, allowed bool) {
		now := fuzzTime(nowV)
		cur := Retention{Mode: fuzzMode(curMode), Until: fuzzTime(curUntil)}
		next := Retention{Mode: fuzzMode(nextMode), Until: fuzzTime(nextUntil)}
		b := Bypass{Requested: requested, Allowed: allowed}
		err := CheckRetentionChange(cur, next, now, b)

		if err != nil && !errors.Is(err, ErrComplianceLocked) && !errors.Is(err, ErrBypassRequired) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if !cur.Active(now) {
			if err != nil {
				t.Fatalf("inactive %v refused change to %v: %v", cur, next, err)
			}
			return
		}
		keepsOrExtends := next.Mode == cur.Mode && !next.Until.Before(cur.Until)
		if err == nil && cur.Mode == ModeCompliance && !keepsOrExtends {
			t.Fatalf("active %v allowed to become %q %v (bypass %+v)", cur, next.Mode, next.Until, b)
		}
		if err == nil && !b.Effective() && !keepsOrExtends {
			t.Fatalf("active %v shortened/removed/changed to %q %v without bypass", cur, next.Mode, next.Until)
		}
		if errors.Is(err, ErrComplianceLocked) && cur.Mode != ModeCompliance {
			t.Fatalf("ErrComplianceLocked for %v", cur)
		}
		if err != nil && keepsOrExtends {
			t.Fatalf("extension of %v to %v refused: %v", cur, next, err)
		}
		// A governance change with an effective bypass is always allowed.
		if cur.Mode == ModeGovernance && b.Effective() && err != nil {
			t.Fatalf("governance change with bypass refused: %v", err)
		}
	})
}

func FuzzCheckDelete(f *testing.F) {
	f.Add(true, byte(1), int64(3600), int64(1), true, true)
	f.Add(false, byte(2), int64(3600), int64(1), true, true)
	f.Add(false, byte(1), int64(3600), int64(1), true, false)
	f.Add(true, byte(0), int64(0), int64(1), false, false)
	f.Fuzz(func(t *testing.T, hold bool, mode byte, until int64, nowV int64, requested, allowed bool) {
		now := fuzzTime(nowV)
		l := Lock{Retention: Retention{Mode: fuzzMode(mode), Until: fuzzTime(until)}, LegalHold: hold}
		b := Bypass{Requested: requested, Allowed: allowed}
		err := CheckDelete(l, now, b)

		if err != nil && !errors.Is(err, ErrProtected) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if hold && err == nil {
			t.Fatalf("version with legal hold deletable (%v, bypass %+v)", l.Retention, b)
		}
		if l.Retention.Mode == ModeCompliance && l.Retention.Active(now) && err == nil {
			t.Fatalf("active %v deletable (bypass %+v)", l.Retention, b)
		}
		if !l.Protected(now) && err != nil {
			t.Fatalf("unprotected version refused: %v", err)
		}
		wantOK := !l.Protected(now) || (!hold && l.Retention.Mode == ModeGovernance && b.Effective())
		if wantOK != (err == nil) {
			t.Fatalf("CheckDelete(%+v, bypass %+v) = %v, want ok=%v", l, b, err, wantOK)
		}
		if status := l.Status(now); (status == "unprotected") == l.Protected(now) {
			t.Fatalf("Status() = %q disagrees with Protected() = %v", status, l.Protected(now))
		}
	})
}

func FuzzDefaultRule(f *testing.F) {
	f.Add("COMPLIANCE", 365, 0, int64(1), int64(0))
	f.Add("GOVERNANCE", 0, 5, int64(1), int64(0))
	f.Add("GOVERNANCE", 0, 100, int64(1), int64(0))
	f.Add("governance", 1, 1, int64(1), int64(24*3600e9))
	f.Add("COMPLIANCE", -1, 0, int64(1), int64(-1))
	f.Fuzz(func(t *testing.T, mode string, days, years int, createdV int64, maxV int64) {
		created := fuzzTime(createdV)
		rule := DefaultRule{Mode: Mode(mode), Days: days, Years: years}
		max := time.Duration(maxV)
		err := rule.Validate(max)
		r := rule.Stamp(created) // must not panic, valid or not
		_ = rule.String()
		if err != nil {
			return
		}
		if !rule.Mode.Valid() || (days > 0) == (years > 0) || days < 0 || years < 0 {
			t.Fatalf("Validate accepted %+v", rule)
		}
		if r.Mode != rule.Mode || !r.Until.After(created) {
			t.Fatalf("Stamp(%v) of %+v = %v, want a later date", created, rule, r)
		}
		if max <= 0 {
			max = DefaultMaxRetention
		}
		// Years are checked as 365 days: allow the leap days of the span.
		if limit := max + time.Duration(years/4+1)*24*time.Hour; r.Until.Sub(created) > limit {
			t.Fatalf("Stamp of %+v spans %v, beyond max %v", rule, r.Until.Sub(created), max)
		}
		nv, err := NewVersionRetention(true, rule, Retention{}, created, max)
		if err != nil || nv != r {
			t.Fatalf("NewVersionRetention = %v, %v; want %v", nv, err, r)
		}
	})
}
