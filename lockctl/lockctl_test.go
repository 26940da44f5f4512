package lockctl

import (
	"errors"
	"math"
	"testing"
	"time"
)

// t0 is the compliance time "now" of most tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	noBypass      = Bypass{}
	bypassOK      = Bypass{Requested: true, Allowed: true}
	requestedOnly = Bypass{Requested: true}
	allowedOnly   = Bypass{Allowed: true}
)

func gov(until time.Time) Retention  { return Retention{Mode: ModeGovernance, Until: until} }
func comp(until time.Time) Retention { return Retention{Mode: ModeCompliance, Until: until} }

// checkErr fails t unless err matches want: nil when want is nil, otherwise
// errors.Is(err, want).
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("got error %v, want nil", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func TestBypassEffective(t *testing.T) {
	tests := []struct {
		name string
		b    Bypass
		want bool
	}{
		{name: "neither", b: noBypass, want: false},
		{name: "requested only", b: requestedOnly, want: false},
		{name: "allowed only", b: allowedOnly, want: false},
		{name: "both", b: bypassOK, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Effective(); got != tt.want {
				t.Fatalf("Effective() = %v, want %v", got, tt.want)
			}
		})
	}
}

// SPEC §4: a version is protected while legal hold is ON or now < retain-until;
// a protected version cannot be permanently deleted (§6: 403 AccessDenied).
func TestProtectedVersionCannotBeDeleted(t *testing.T) {
	tests := []struct {
		name      string
		lock      Lock
		protected bool
		want      error
	}{
		{name: "no lock", lock: Lock{}, protected: false},
		{name: "governance active", lock: Lock{Retention: gov(t0.Add(time.Hour))}, protected: true, want: ErrProtected},
		{name: "compliance active", lock: Lock{Retention: comp(t0.Add(time.Hour))}, protected: true, want: ErrProtected},
		{name: "compliance one ns left", lock: Lock{Retention: comp(t0.Add(time.Nanosecond))}, protected: true, want: ErrProtected},
		{name: "compliance expires exactly now", lock: Lock{Retention: comp(t0)}, protected: false},
		{name: "governance expired", lock: Lock{Retention: gov(t0.Add(-time.Second))}, protected: false},
		{name: "compliance expired", lock: Lock{Retention: comp(t0.Add(-365 * 24 * time.Hour))}, protected: false},
		{name: "legal hold only", lock: Lock{LegalHold: true}, protected: true, want: ErrProtected},
		{name: "legal hold and compliance", lock: Lock{Retention: comp(t0.Add(time.Hour)), LegalHold: true}, protected: true, want: ErrProtected},
		{name: "date without mode protects nothing", lock: Lock{Retention: Retention{Until: t0.Add(time.Hour)}}, protected: false},
		{name: "unknown mode protects nothing", lock: Lock{Retention: Retention{Mode: "FOO", Until: t0.Add(time.Hour)}}, protected: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.lock.Protected(t0); got != tt.protected {
				t.Fatalf("Protected() = %v, want %v", got, tt.protected)
			}
			checkErr(t, CheckDelete(tt.lock, t0, noBypass), tt.want)
		})
	}
}

// SPEC §4: delete markers and new versions are always allowed on a protected
// key. lockctl has no check for them at all: CheckDelete is only asked about
// the permanent delete of one version, and the retention of a new version
// does not depend on the lock of any existing version (NewVersionRetention
// takes no such argument). This test documents that a new version on a key
// whose current version is protected gets its retention as usual.
func TestDeleteMarkersAndNewVersionsAlwaysAllowed(t *testing.T) {
	rule := DefaultRule{Mode: ModeGovernance, Days: 1}
	tests := []struct {
		name     string
		existing Lock
	}{
		{name: "compliance", existing: Lock{Retention: comp(t0.Add(time.Hour))}},
		{name: "governance", existing: Lock{Retention: gov(t0.Add(time.Hour))}},
		{name: "legal hold", existing: Lock{LegalHold: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.existing.Protected(t0) {
				t.Fatal("existing version should be protected")
			}
			got, err := NewVersionRetention(true, rule, Retention{}, t0, 0)
			checkErr(t, err, nil)
			if want := rule.Stamp(t0); got != want {
				t.Fatalf("new version retention = %v, want %v", got, want)
			}
			// The existing version stays protected against a permanent delete.
			checkErr(t, CheckDelete(tt.existing, t0, noBypass), ErrProtected)
		})
	}
}

func TestComplianceOnlyExtend(t *testing.T) {
	cur := comp(t0.Add(24 * time.Hour))
	tests := []struct {
		name string
		next Retention
		b    Bypass
		want error
	}{
		{name: "extend by a year", next: comp(t0.Add(366 * 24 * time.Hour))},
		{name: "extend by one ns", next: comp(cur.Until.Add(time.Nanosecond))},
		{name: "same date", next: comp(cur.Until)},
		{name: "same instant other zone", next: comp(cur.Until.In(time.FixedZone("X", 5*3600)))},
		{name: "shorten", next: comp(t0.Add(time.Hour)), want: ErrComplianceLocked},
		{name: "shorten by one ns", next: comp(cur.Until.Add(-time.Nanosecond)), want: ErrComplianceLocked},
		{name: "shorten with bypass", next: comp(t0.Add(time.Hour)), b: bypassOK, want: ErrComplianceLocked},
		{name: "shorten to the past with bypass", next: comp(t0.Add(-time.Hour)), b: bypassOK, want: ErrComplianceLocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckRetentionChange(cur, tt.next, t0, tt.b), tt.want)
		})
	}
}

func TestComplianceModeCannotChange(t *testing.T) {
	active := comp(t0.Add(24 * time.Hour))
	tests := []struct {
		name string
		cur  Retention
		next Retention
		b    Bypass
		want error
	}{
		{name: "to governance later", cur: active, next: gov(t0.Add(48 * time.Hour)), want: ErrComplianceLocked},
		{name: "to governance same date", cur: active, next: gov(active.Until), want: ErrComplianceLocked},
		{name: "to governance with bypass", cur: active, next: gov(t0.Add(48 * time.Hour)), b: bypassOK, want: ErrComplianceLocked},
		{name: "to governance shorter with bypass", cur: active, next: gov(t0.Add(time.Hour)), b: bypassOK, want: ErrComplianceLocked},
		{name: "expired compliance may become governance", cur: comp(t0.Add(-time.Hour)), next: gov(t0.Add(48 * time.Hour))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckRetentionChange(tt.cur, tt.next, t0, tt.b), tt.want)
		})
	}
}

func TestComplianceCannotBeRemoved(t *testing.T) {
	tests := []struct {
		name string
		cur  Retention
		b    Bypass
		want error
	}{
		{name: "no bypass", cur: comp(t0.Add(time.Hour)), want: ErrComplianceLocked},
		{name: "requested only", cur: comp(t0.Add(time.Hour)), b: requestedOnly, want: ErrComplianceLocked},
		{name: "allowed only", cur: comp(t0.Add(time.Hour)), b: allowedOnly, want: ErrComplianceLocked},
		{name: "root with bypass", cur: comp(t0.Add(time.Hour)), b: bypassOK, want: ErrComplianceLocked},
		{name: "one ns before expiry", cur: comp(t0.Add(time.Nanosecond)), b: bypassOK, want: ErrComplianceLocked},
		{name: "at expiry", cur: comp(t0)},
		{name: "after expiry", cur: comp(t0.Add(-time.Hour))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckRetentionChange(tt.cur, Retention{}, t0, tt.b), tt.want)
		})
	}
}

func TestGovernanceExtendFree(t *testing.T) {
	cur := gov(t0.Add(24 * time.Hour))
	tests := []struct {
		name string
		next Retention
		b    Bypass
	}{
		{name: "extend without bypass", next: gov(t0.Add(48 * time.Hour))},
		{name: "same date without bypass", next: gov(cur.Until)},
		{name: "extend with requested only", next: gov(t0.Add(48 * time.Hour)), b: requestedOnly},
		{name: "extend with bypass", next: gov(t0.Add(48 * time.Hour)), b: bypassOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckRetentionChange(cur, tt.next, t0, tt.b), nil)
		})
	}
}

func TestGovernanceShortenNeedsBypass(t *testing.T) {
	cur := gov(t0.Add(24 * time.Hour))
	next := gov(t0.Add(time.Hour))
	tests := []struct {
		name string
		b    Bypass
		want error
	}{
		{name: "no bypass", b: noBypass, want: ErrBypassRequired},
		{name: "requested only", b: requestedOnly, want: ErrBypassRequired},
		{name: "allowed only", b: allowedOnly, want: ErrBypassRequired},
		{name: "requested and allowed", b: bypassOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckRetentionChange(cur, next, t0, tt.b), tt.want)
		})
	}
}

func TestGovernanceRemoveNeedsBypass(t *testing.T) {
	tests := []struct {
		name string
		cur  Retention
		b    Bypass
		want error
	}{
		{name: "no bypass", cur: gov(t0.Add(time.Hour)), want: ErrBypassRequired},
		{name: "requested only", cur: gov(t0.Add(time.Hour)), b: requestedOnly, want: ErrBypassRequired},
		{name: "allowed only", cur: gov(t0.Add(time.Hour)), b: allowedOnly, want: ErrBypassRequired},
		{name: "requested and allowed", cur: gov(t0.Add(time.Hour)), b: bypassOK},
		{name: "expired needs nothing", cur: gov(t0.Add(-time.Hour))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckRetentionChange(tt.cur, Retention{}, t0, tt.b), tt.want)
		})
	}
}

func TestGovernanceModeChangeNeedsBypass(t *testing.T) {
	cur := gov(t0.Add(24 * time.Hour))
	tests := []struct {
		name string
		next Retention
		b    Bypass
		want error
	}{
		{name: "to compliance later without bypass", next: comp(t0.Add(48 * time.Hour)), want: ErrBypassRequired},
		{name: "to compliance same date without bypass", next: comp(cur.Until), want: ErrBypassRequired},
		{name: "to compliance requested only", next: comp(t0.Add(48 * time.Hour)), b: requestedOnly, want: ErrBypassRequired},
		{name: "to compliance allowed only", next: comp(t0.Add(48 * time.Hour)), b: allowedOnly, want: ErrBypassRequired},
		{name: "to compliance with bypass", next: comp(t0.Add(48 * time.Hour)), b: bypassOK},
		{name: "to compliance shorter with bypass", next: comp(t0.Add(time.Hour)), b: bypassOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckRetentionChange(cur, tt.next, t0, tt.b), tt.want)
		})
	}
}

func TestGovernanceDeleteNeedsBypass(t *testing.T) {
	tests := []struct {
		name string
		lock Lock
		b    Bypass
		want error
	}{
		{name: "no bypass", lock: Lock{Retention: gov(t0.Add(time.Hour))}, want: ErrProtected},
		{name: "requested only", lock: Lock{Retention: gov(t0.Add(time.Hour))}, b: requestedOnly, want: ErrProtected},
		{name: "allowed only", lock: Lock{Retention: gov(t0.Add(time.Hour))}, b: allowedOnly, want: ErrProtected},
		{name: "requested and allowed", lock: Lock{Retention: gov(t0.Add(time.Hour))}, b: bypassOK},
		{name: "compliance ignores bypass", lock: Lock{Retention: comp(t0.Add(time.Hour))}, b: bypassOK, want: ErrProtected},
		{name: "expired governance no bypass", lock: Lock{Retention: gov(t0.Add(-time.Hour))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckDelete(tt.lock, t0, tt.b), tt.want)
		})
	}
}

func TestLegalHoldIndependentOfRetention(t *testing.T) {
	t.Run("retention changes ignore the hold", func(t *testing.T) {
		// CheckRetentionChange takes no hold: removing a governance
		// retention with bypass is allowed even while the hold is on...
		lock := Lock{Retention: gov(t0.Add(time.Hour)), LegalHold: true}
		checkErr(t, CheckRetentionChange(lock.Retention, Retention{}, t0, bypassOK), nil)
		// ...and the version stays protected by the hold alone.
		lock.Retention = Retention{}
		checkErr(t, CheckDelete(lock, t0, bypassOK), ErrProtected)
	})

	holdTests := []struct {
		name    string
		mayLock bool
		want    error
	}{
		{name: "permitted", mayLock: true},
		{name: "not permitted", mayLock: false, want: ErrLegalHoldDenied},
	}
	for _, tt := range holdTests {
		t.Run("hold change "+tt.name, func(t *testing.T) {
			// The hold decision is the permission only, whatever the retention.
			checkErr(t, CheckLegalHoldChange(tt.mayLock), tt.want)
		})
	}

	deleteTests := []struct {
		name string
		lock Lock
		want error
	}{
		{name: "hold without retention", lock: Lock{LegalHold: true}, want: ErrProtected},
		{name: "hold with expired compliance", lock: Lock{Retention: comp(t0.Add(-time.Hour)), LegalHold: true}, want: ErrProtected},
		{name: "no hold with expired compliance", lock: Lock{Retention: comp(t0.Add(-time.Hour))}},
		{name: "compliance without hold", lock: Lock{Retention: comp(t0.Add(time.Hour))}, want: ErrProtected},
	}
	for _, tt := range deleteTests {
		t.Run("delete "+tt.name, func(t *testing.T) {
			checkErr(t, CheckDelete(tt.lock, t0, noBypass), tt.want)
		})
	}
}

func TestParseLegalHold(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
		err  error
	}{
		{name: "ON", in: "ON", want: true},
		{name: "OFF", in: "OFF", want: false},
		{name: "lower on", in: "on", want: true},
		{name: "mixed off", in: "Off", want: false},
		{name: "empty", in: "", err: ErrInvalidHold},
		{name: "yes", in: "YES", err: ErrInvalidHold},
		{name: "trailing space", in: "ON ", err: ErrInvalidHold},
		{name: "true", in: "true", err: ErrInvalidHold},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLegalHold(tt.in)
			checkErr(t, err, tt.err)
			if err == nil && got != tt.want {
				t.Fatalf("ParseLegalHold(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestBypassNeverLiftsLegalHold(t *testing.T) {
	tests := []struct {
		name string
		ret  Retention
	}{
		{name: "no retention", ret: Retention{}},
		{name: "active governance", ret: gov(t0.Add(time.Hour))},
		{name: "expired governance", ret: gov(t0.Add(-time.Hour))},
		{name: "active compliance", ret: comp(t0.Add(time.Hour))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lock := Lock{Retention: tt.ret, LegalHold: true}
			checkErr(t, CheckDelete(lock, t0, bypassOK), ErrProtected)
		})
	}
}

// Rule 7 of STYLE.md: an expired retention must not short-cut the hold test.
func TestExpiredRetentionStillChecksLegalHold(t *testing.T) {
	tests := []struct {
		name   string
		ret    Retention
		status string
	}{
		{name: "expired governance", ret: gov(t0.Add(-time.Hour)), status: "protected: legal hold ON"},
		{name: "expired compliance", ret: comp(t0.Add(-time.Hour)), status: "protected: legal hold ON"},
		{name: "expiring exactly now", ret: comp(t0), status: "protected: legal hold ON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lock := Lock{Retention: tt.ret, LegalHold: true}
			if !lock.Protected(t0) {
				t.Fatal("Protected() = false, want true")
			}
			checkErr(t, CheckDelete(lock, t0, noBypass), ErrProtected)
			checkErr(t, CheckDelete(lock, t0, bypassOK), ErrProtected)
			if got := lock.Status(t0); got != tt.status {
				t.Fatalf("Status() = %q, want %q", got, tt.status)
			}
		})
	}
}

func TestDefaultRetentionStamped(t *testing.T) {
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name    string
		rule    DefaultRule
		created time.Time
		want    Retention
	}{
		{name: "one day", rule: DefaultRule{Mode: ModeGovernance, Days: 1}, created: date(2026, 3, 1), want: gov(date(2026, 3, 2))},
		{name: "365 days over a leap day", rule: DefaultRule{Mode: ModeCompliance, Days: 365}, created: date(2028, 1, 1), want: comp(date(2028, 12, 31))},
		{name: "365 days in a common year", rule: DefaultRule{Mode: ModeCompliance, Days: 365}, created: date(2026, 1, 1), want: comp(date(2027, 1, 1))},
		{name: "one year over a leap day is 366 days", rule: DefaultRule{Mode: ModeCompliance, Years: 1}, created: date(2027, 3, 1), want: comp(date(2028, 3, 1))},
		{name: "one year from a leap day", rule: DefaultRule{Mode: ModeGovernance, Years: 1}, created: date(2028, 2, 29), want: gov(date(2029, 3, 1))},
		{name: "four years from a leap day", rule: DefaultRule{Mode: ModeGovernance, Years: 4}, created: date(2028, 2, 29), want: gov(date(2032, 2, 29))},
		{name: "five years", rule: DefaultRule{Mode: ModeGovernance, Years: 5}, created: date(2026, 6, 15), want: gov(date(2031, 6, 15))},
		{name: "hundred years", rule: DefaultRule{Mode: ModeCompliance, Years: 100}, created: date(2026, 6, 15), want: comp(date(2126, 6, 15))},
		{name: "created in another zone", rule: DefaultRule{Mode: ModeGovernance, Days: 1}, created: date(2026, 3, 1).In(tokyo), want: gov(date(2026, 3, 2))},
		{name: "no rule", rule: DefaultRule{}, created: date(2026, 3, 1), want: Retention{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.rule.Stamp(tt.created)
			if got.Mode != tt.want.Mode || !got.Until.Equal(tt.want.Until) {
				t.Fatalf("Stamp() = %v, want %v", got, tt.want)
			}
			if got.Until.Location() != time.UTC && !got.IsZero() {
				t.Fatalf("Stamp() location = %v, want UTC", got.Until.Location())
			}
			// NewVersionRetention stamps the same on a lock bucket.
			nv, err := NewVersionRetention(true, tt.rule, Retention{}, tt.created, 0)
			checkErr(t, err, nil)
			if nv.Mode != tt.want.Mode || !nv.Until.Equal(tt.want.Until) {
				t.Fatalf("NewVersionRetention() = %v, want %v", nv, tt.want)
			}
		})
	}
}

func TestExplicitRetentionOverridesDefault(t *testing.T) {
	rule := DefaultRule{Mode: ModeCompliance, Years: 1}
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name     string
		explicit Retention
		want     Retention
		err      error
	}{
		{name: "shorter governance", explicit: gov(t0.Add(time.Hour)), want: gov(t0.Add(time.Hour))},
		{name: "longer compliance", explicit: comp(t0.AddDate(2, 0, 0)), want: comp(t0.AddDate(2, 0, 0))},
		{name: "other zone stored as UTC", explicit: gov(t0.Add(time.Hour).In(paris)), want: gov(t0.Add(time.Hour))},
		{name: "invalid explicit does not fall back", explicit: gov(t0.Add(-time.Hour)), err: ErrPastDate},
		{name: "explicit without date", explicit: Retention{Mode: ModeGovernance}, err: ErrMissingDate},
		{name: "explicit without mode", explicit: Retention{Until: t0.Add(time.Hour)}, err: ErrMissingMode},
		{name: "no explicit uses default", explicit: Retention{}, want: comp(t0.AddDate(1, 0, 0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewVersionRetention(true, rule, tt.explicit, t0, 0)
			checkErr(t, err, tt.err)
			if err != nil {
				return
			}
			if got.Mode != tt.want.Mode || !got.Until.Equal(tt.want.Until) {
				t.Fatalf("NewVersionRetention() = %v, want %v", got, tt.want)
			}
			if got.Until.Location() != time.UTC {
				t.Fatalf("Until location = %v, want UTC", got.Until.Location())
			}
		})
	}
}

func TestMaximumRetention(t *testing.T) {
	century := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	retentionTests := []struct {
		name  string
		now   time.Time // t0 when zero
		until time.Time
		max   time.Duration
		want  error
	}{
		{name: "exactly the default max", until: t0.Add(DefaultMaxRetention)},
		{name: "one second beyond the default max", until: t0.Add(DefaultMaxRetention + time.Second), want: ErrTooLong},
		{name: "100 calendar years", until: t0.AddDate(100, 0, 0)},
		{name: "100 calendar years from a century start", now: century, until: century.AddDate(100, 0, 0)},
		{name: "101 calendar years", until: t0.AddDate(101, 0, 0), want: ErrTooLong},
		{name: "year 9999", until: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), want: ErrTooLong},
		{name: "custom max within", until: t0.Add(10 * 24 * time.Hour), max: 10 * 24 * time.Hour},
		{name: "custom max beyond", until: t0.Add(10*24*time.Hour + time.Nanosecond), max: 10 * 24 * time.Hour, want: ErrTooLong},
		{name: "negative max means default", until: t0.AddDate(50, 0, 0), max: -1},
	}
	for _, tt := range retentionTests {
		t.Run("retention "+tt.name, func(t *testing.T) {
			start := tt.now
			if start.IsZero() {
				start = t0
			}
			checkErr(t, ValidateRetention(comp(tt.until), start, tt.max), tt.want)
			_, err := NewVersionRetention(true, DefaultRule{}, gov(tt.until), start, tt.max)
			checkErr(t, err, tt.want)
		})
	}

	ruleTests := []struct {
		name string
		rule DefaultRule
		max  time.Duration
		want error
	}{
		{name: "100 years", rule: DefaultRule{Mode: ModeCompliance, Years: 100}},
		{name: "101 years", rule: DefaultRule{Mode: ModeCompliance, Years: 101}, want: ErrTooLong},
		{name: "36500 days", rule: DefaultRule{Mode: ModeGovernance, Days: 36500}},
		{name: "max in days", rule: DefaultRule{Mode: ModeGovernance, Days: int(DefaultMaxRetention / (24 * time.Hour))}},
		{name: "one day beyond max", rule: DefaultRule{Mode: ModeGovernance, Days: int(DefaultMaxRetention/(24*time.Hour)) + 1}, want: ErrTooLong},
		{name: "huge days", rule: DefaultRule{Mode: ModeGovernance, Days: math.MaxInt}, want: ErrTooLong},
		{name: "huge years", rule: DefaultRule{Mode: ModeGovernance, Years: math.MaxInt}, want: ErrTooLong},
		{name: "custom max 30 days", rule: DefaultRule{Mode: ModeGovernance, Days: 30}, max: 30 * 24 * time.Hour},
		{name: "custom max 30 days exceeded", rule: DefaultRule{Mode: ModeGovernance, Days: 31}, max: 30 * 24 * time.Hour, want: ErrTooLong},
		{name: "custom max 30 days refuses a year", rule: DefaultRule{Mode: ModeGovernance, Years: 1}, max: 30 * 24 * time.Hour, want: ErrTooLong},
	}
	for _, tt := range ruleTests {
		t.Run("rule "+tt.name, func(t *testing.T) {
			checkErr(t, tt.rule.Validate(tt.max), tt.want)
		})
	}

	t.Run("a valid 100 year rule stamps a valid retention", func(t *testing.T) {
		for _, created := range []time.Time{t0, century, time.Date(2096, 2, 29, 0, 0, 0, 0, time.UTC)} {
			r := DefaultRule{Mode: ModeCompliance, Years: 100}.Stamp(created)
			// The span stamped by the largest valid rule fits the same maximum.
			checkErr(t, ValidateRetention(r, created, 0), nil)
		}
	})
}

func TestRetainUntilInPast(t *testing.T) {
	tests := []struct {
		name  string
		until time.Time
		want  error
	}{
		{name: "exactly now", until: t0, want: ErrPastDate},
		{name: "one ns ago", until: t0.Add(-time.Nanosecond), want: ErrPastDate},
		{name: "a year ago", until: t0.AddDate(-1, 0, 0), want: ErrPastDate},
		{name: "year one", until: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), want: ErrPastDate},
		{name: "one ns ahead", until: t0.Add(time.Nanosecond)},
		{name: "tomorrow", until: t0.Add(24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, ValidateRetention(gov(tt.until), t0, 0), tt.want)
			_, err := NewVersionRetention(true, DefaultRule{}, comp(tt.until), t0, 0)
			checkErr(t, err, tt.want)
		})
	}
}

func TestUnknownMode(t *testing.T) {
	parseTests := []struct {
		name string
		in   string
		want Mode
		err  error
	}{
		{name: "GOVERNANCE", in: "GOVERNANCE", want: ModeGovernance},
		{name: "COMPLIANCE", in: "COMPLIANCE", want: ModeCompliance},
		{name: "lower case", in: "governance", want: ModeGovernance},
		{name: "mixed case", in: "Compliance", want: ModeCompliance},
		{name: "empty", in: "", err: ErrUnknownMode},
		{name: "legal hold", in: "LEGALHOLD", err: ErrUnknownMode},
		{name: "trailing space", in: "GOVERNANCE ", err: ErrUnknownMode},
		{name: "prefix", in: "GOV", err: ErrUnknownMode},
		{name: "NUL", in: "GOVERNANCE\x00", err: ErrUnknownMode},
		{name: "dotless i lookalike", in: "COMPLıANCE", err: ErrUnknownMode},
		{name: "dotted capital I lookalike", in: "COMPLİANCE", err: ErrUnknownMode},
		{name: "fullwidth", in: "ＧＯＶＥＲＮＡＮＣＥ", err: ErrUnknownMode},
	}
	for _, tt := range parseTests {
		t.Run("parse "+tt.name, func(t *testing.T) {
			got, err := ParseMode(tt.in)
			checkErr(t, err, tt.err)
			if err == nil && got != tt.want {
				t.Fatalf("ParseMode(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if err == nil && !got.Valid() {
				t.Fatalf("ParseMode(%q) returned invalid mode %q", tt.in, got)
			}
		})
	}

	validateTests := []struct {
		name string
		mode Mode
	}{
		{name: "lower case not normalised", mode: "governance"},
		{name: "garbage", mode: "FOO"},
	}
	for _, tt := range validateTests {
		t.Run("validate "+tt.name, func(t *testing.T) {
			checkErr(t, ValidateRetention(Retention{Mode: tt.mode, Until: t0.Add(time.Hour)}, t0, 0), ErrUnknownMode)
			checkErr(t, DefaultRule{Mode: tt.mode, Days: 1}.Validate(0), ErrUnknownMode)
			_, err := NewVersionRetention(true, DefaultRule{}, Retention{Mode: tt.mode, Until: t0.Add(time.Hour)}, t0, 0)
			checkErr(t, err, ErrUnknownMode)
		})
	}
}

// §6: only one of x-amz-object-lock-mode / -retain-until-date.
func TestMissingModeOrDate(t *testing.T) {
	tests := []struct {
		name string
		r    Retention
		want error
	}{
		{name: "mode only", r: Retention{Mode: ModeGovernance}, want: ErrMissingDate},
		{name: "date only", r: Retention{Until: t0.Add(time.Hour)}, want: ErrMissingMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, ValidateRetention(tt.r, t0, 0), tt.want)
		})
	}
	t.Run("rule without mode", func(t *testing.T) {
		checkErr(t, DefaultRule{Days: 1}.Validate(0), ErrMissingMode)
	})
}

func TestDaysOrYearsNotPositive(t *testing.T) {
	tests := []struct {
		name string
		rule DefaultRule
	}{
		{name: "days -1", rule: DefaultRule{Mode: ModeGovernance, Days: -1}},
		{name: "years -1", rule: DefaultRule{Mode: ModeCompliance, Years: -1}},
		{name: "days min int", rule: DefaultRule{Mode: ModeGovernance, Days: math.MinInt}},
		{name: "years min int", rule: DefaultRule{Mode: ModeCompliance, Years: math.MinInt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.rule.Validate(0), ErrInvalidPeriod)
		})
	}
}

func TestBothDaysAndYears(t *testing.T) {
	tests := []struct {
		name string
		rule DefaultRule
	}{
		{name: "both positive", rule: DefaultRule{Mode: ModeGovernance, Days: 1, Years: 1}},
		{name: "negative days and positive years", rule: DefaultRule{Mode: ModeGovernance, Days: -1, Years: 1}},
		{name: "both huge", rule: DefaultRule{Mode: ModeCompliance, Days: math.MaxInt, Years: math.MaxInt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.rule.Validate(0), ErrDaysAndYears)
		})
	}
}

func TestNeitherDaysNorYears(t *testing.T) {
	tests := []struct {
		name string
		rule DefaultRule
	}{
		{name: "governance", rule: DefaultRule{Mode: ModeGovernance}},
		{name: "compliance", rule: DefaultRule{Mode: ModeCompliance}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.rule.Validate(0), ErrNoPeriod)
		})
	}
}

func TestLockOnBucketWithoutObjectLock(t *testing.T) {
	tests := []struct {
		name     string
		rule     DefaultRule
		explicit Retention
		want     error
	}{
		{name: "explicit governance", explicit: gov(t0.Add(time.Hour)), want: ErrNotLockedBucket},
		{name: "explicit compliance", explicit: comp(t0.Add(time.Hour)), want: ErrNotLockedBucket},
		{name: "explicit invalid still refused as unlocked", explicit: gov(t0.Add(-time.Hour)), want: ErrNotLockedBucket},
		{name: "no explicit: no retention", rule: DefaultRule{}},
		{name: "stray default rule ignored", rule: DefaultRule{Mode: ModeCompliance, Days: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewVersionRetention(false, tt.rule, tt.explicit, t0, 0)
			checkErr(t, err, tt.want)
			if !got.IsZero() {
				t.Fatalf("retention = %v, want none", got)
			}
		})
	}
}

func TestLockStatus(t *testing.T) {
	tests := []struct {
		name string
		lock Lock
		want string
	}{
		{name: "nothing", lock: Lock{}, want: "unprotected"},
		{name: "expired governance", lock: Lock{Retention: gov(t0.Add(-time.Hour))}, want: "unprotected"},
		{name: "expiring now", lock: Lock{Retention: comp(t0)}, want: "unprotected"},
		{name: "governance", lock: Lock{Retention: gov(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))}, want: "protected: GOVERNANCE until 2027-01-01T00:00:00Z"},
		{name: "compliance in another zone", lock: Lock{Retention: comp(time.Date(2027, 1, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600)))}, want: "protected: COMPLIANCE until 2027-01-01T00:00:00Z"},
		{name: "legal hold", lock: Lock{LegalHold: true}, want: "protected: legal hold ON"},
		{name: "both", lock: Lock{Retention: comp(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), LegalHold: true}, want: "protected: COMPLIANCE until 2027-01-01T00:00:00Z; legal hold ON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.lock.Status(t0); got != tt.want {
				t.Fatalf("Status() = %q, want %q", got, tt.want)
			}
			if protected := tt.want != "unprotected"; protected != tt.lock.Protected(t0) {
				t.Fatalf("Protected() = %v disagrees with Status() %q", tt.lock.Protected(t0), tt.want)
			}
		})
	}
}

func TestRetentionString(t *testing.T) {
	tests := []struct {
		name string
		r    Retention
		want string
	}{
		{name: "zero", r: Retention{}, want: ""},
		{name: "governance", r: gov(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), want: "GOVERNANCE 2027-01-01T00:00:00Z"},
		{name: "offset converted", r: comp(time.Date(2027, 1, 1, 2, 0, 0, 0, time.FixedZone("EET", 7200))), want: "COMPLIANCE 2027-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDefaultRuleString(t *testing.T) {
	tests := []struct {
		name string
		rule DefaultRule
		want string
	}{
		{name: "zero", rule: DefaultRule{}, want: ""},
		{name: "days", rule: DefaultRule{Mode: ModeCompliance, Days: 365}, want: "COMPLIANCE 365d"},
		{name: "years", rule: DefaultRule{Mode: ModeGovernance, Years: 5}, want: "GOVERNANCE 5y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			if got := tt.rule.IsZero(); got != (tt.want == "") {
				t.Fatalf("IsZero() = %v", got)
			}
		})
	}
}
