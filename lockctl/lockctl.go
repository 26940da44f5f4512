// Package lockctl holds the Object Lock rules of wormfs as pure functions
// over value types: which versions are protected, which retention and legal
// hold changes are allowed, how a bucket's default rule is stamped on a new
// version, and the compliance clock that supplies "now".
//
// Nothing here reads a clock, a store or a request: every function takes the
// current compliance time as an argument, so the mount (fs) and the listener
// (s3) reach the same decision through the same code, inside the store
// transaction that makes the change (see meta).
//
// Every check evaluates retention and legal hold both; an expired retention
// never short-cuts the legal-hold test.
package lockctl

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Mode is a retention mode. The zero value means "no retention".
type Mode string

// The retention modes of S3 Object Lock.
const (
	ModeNone       Mode = ""
	ModeGovernance Mode = "GOVERNANCE"
	ModeCompliance Mode = "COMPLIANCE"
)

// DefaultMaxRetention is the longest retention wormfs accepts unless
// configured otherwise (SPEC §4: 100 years). It counts 365.25 days a year so
// that any 100 calendar years (24 or 25 leap days) fit: "+100y" and a
// default rule of 100 years are accepted alike.
const DefaultMaxRetention = 36525 * 24 * time.Hour

// Sentinel errors. Callers wrap them with %w; the edges (fs, s3) map them to
// errno values and S3 error codes with errors.Is.
var (
	// Rule violations (EPERM / 403 AccessDenied).
	ErrProtected         = errors.New("version is protected by Object Lock")
	ErrComplianceLocked  = errors.New("COMPLIANCE retention can only be extended")
	ErrBypassRequired    = errors.New("GOVERNANCE retention can only be shortened, removed or changed with a governance bypass")
	ErrLegalHoldDenied   = errors.New("not allowed to change legal hold")
	ErrRetentionDenied   = errors.New("not allowed to change retention")
	ErrBypassNotPossible = errors.New("governance bypass does not lift a legal hold or COMPLIANCE retention")

	// Validation errors (EINVAL / 400).
	ErrPastDate        = errors.New("retain-until date is in the past")
	ErrUnknownMode     = errors.New("unknown retention mode")
	ErrInvalidPeriod   = errors.New("default retention period must be a positive whole number")
	ErrDaysAndYears    = errors.New("default retention takes Days or Years, not both")
	ErrNoPeriod        = errors.New("default retention needs Days or Years")
	ErrTooLong         = errors.New("retention exceeds the maximum retention period")
	ErrMissingMode     = errors.New("retention needs a mode")
	ErrMissingDate     = errors.New("retention needs a retain-until date")
	ErrInvalidHold     = errors.New("legal hold status must be ON or OFF")
	ErrNotLockedBucket = errors.New("bucket does not have Object Lock enabled")
)

// ParseMode accepts GOVERNANCE or COMPLIANCE (exact, upper case as S3 sends
// them, but lower case is tolerated for people typing setfattr).
func ParseMode(s string) (Mode, error) {
	// EqualFold, not ToUpper: ToUpper maps the dotless ı to I and would
	// accept "COMPLıANCE".
	switch {
	case strings.EqualFold(s, string(ModeGovernance)):
		return ModeGovernance, nil
	case strings.EqualFold(s, string(ModeCompliance)):
		return ModeCompliance, nil
	}
	return ModeNone, fmt.Errorf("%w: %q", ErrUnknownMode, s)
}

// Valid reports whether m is one of the two modes (not ModeNone).
func (m Mode) Valid() bool { return m == ModeGovernance || m == ModeCompliance }

// Retention is a mode plus a retain-until instant. The zero value is "no
// retention".
type Retention struct {
	Mode  Mode
	Until time.Time
}

// IsZero reports whether r carries no retention.
func (r Retention) IsZero() bool { return r.Mode == ModeNone && r.Until.IsZero() }

// Active reports whether r still protects at now.
func (r Retention) Active(now time.Time) bool {
	return r.Mode.Valid() && now.Before(r.Until)
}

// String formats r as the canonical xattr form, e.g.
// "GOVERNANCE 2027-01-01T00:00:00Z".
func (r Retention) String() string {
	if r.IsZero() {
		return ""
	}
	return string(r.Mode) + " " + FormatInstant(r.Until)
}

// Lock is the lock state of one version.
type Lock struct {
	Retention Retention
	LegalHold bool
}

// Protected reports whether the version may not be permanently deleted by
// anyone, ignoring bypass.
func (l Lock) Protected(now time.Time) bool {
	return l.LegalHold || l.Retention.Active(now)
}

// Status explains, for user.s3.lockstatus, why a permanent delete would fail
// now: "unprotected" or "protected: COMPLIANCE until …; legal hold ON".
func (l Lock) Status(now time.Time) string {
	var why []string
	if l.Retention.Active(now) {
		why = append(why, string(l.Retention.Mode)+" until "+l.Retention.Until.UTC().Format(time.RFC3339))
	}
	if l.LegalHold {
		why = append(why, "legal hold ON")
	}
	if len(why) == 0 {
		return "unprotected"
	}
	return "protected: " + strings.Join(why, "; ")
}

// Bypass describes a governance bypass: Requested is the explicit request
// (S3 header, a retention value ending in " bypass", the wormfs command
// that asks for one; never an unlink or a removexattr); Allowed is whether
// the principal may bypass (root, --admin-gid, a user granted
// bypass-governance). A bypass takes effect only when both hold.
type Bypass struct {
	Requested bool
	Allowed   bool
}

// Effective reports whether the bypass applies.
func (b Bypass) Effective() bool { return b.Requested && b.Allowed }

// CheckDelete decides whether a version with lock l may be permanently
// deleted at now. Legal hold always refuses; active COMPLIANCE always
// refuses; active GOVERNANCE refuses unless the bypass is effective.
func CheckDelete(l Lock, now time.Time, b Bypass) error {
	// Evaluate both; never return early on an expired retention.
	held := l.LegalHold
	active := l.Retention.Active(now)
	switch {
	case held && active:
		return fmt.Errorf("%w: legal hold ON and %s", ErrProtected, l.Retention)
	case held:
		return fmt.Errorf("%w: legal hold ON", ErrProtected)
	case active && l.Retention.Mode == ModeCompliance:
		return fmt.Errorf("%w: %s", ErrProtected, l.Retention)
	case active && !b.Effective():
		return fmt.Errorf("%w: %s", ErrProtected, l.Retention)
	}
	return nil
}

// ValidateRetention checks a requested retention on its own: a known mode,
// a date, not in the past, not beyond max from now (max ≤ 0 means
// DefaultMaxRetention).
func ValidateRetention(r Retention, now time.Time, max time.Duration) error {
	if r.Mode == ModeNone {
		return ErrMissingMode
	}
	if !r.Mode.Valid() {
		return fmt.Errorf("%w: %q", ErrUnknownMode, string(r.Mode))
	}
	if r.Until.IsZero() {
		return ErrMissingDate
	}
	if !r.Until.After(now) {
		return fmt.Errorf("%w: %s", ErrPastDate, r.Until.UTC().Format(time.RFC3339))
	}
	if max <= 0 {
		max = DefaultMaxRetention
	}
	if r.Until.Sub(now) > max {
		return fmt.Errorf("%w (%s)", ErrTooLong, r.Until.UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckRetentionChange decides whether the retention of a version may go
// from cur to next at now. next.IsZero() means "remove the retention".
// next (unless zero) must already have passed ValidateRetention.
//
//   - no active retention: anything may be set (an expired retention counts
//     as none);
//   - COMPLIANCE (active): only extending with the same mode;
//   - GOVERNANCE (active): extending with the same mode is free; shortening,
//     removing or changing the mode needs an effective bypass.
//
// Legal hold does not enter this decision: it is independent of retention.
func CheckRetentionChange(cur Retention, next Retention, now time.Time, b Bypass) error {
	if !cur.Active(now) {
		return nil
	}
	extends := next.Mode == cur.Mode && !next.Until.Before(cur.Until)
	if extends {
		return nil
	}
	if cur.Mode == ModeCompliance {
		switch {
		case next.IsZero():
			return fmt.Errorf("%w: cannot remove %s", ErrComplianceLocked, cur)
		case next.Mode != cur.Mode:
			return fmt.Errorf("%w: cannot change mode of %s", ErrComplianceLocked, cur)
		default:
			return fmt.Errorf("%w: cannot shorten %s", ErrComplianceLocked, cur)
		}
	}
	if !b.Effective() {
		switch {
		case next.IsZero():
			return fmt.Errorf("%w: cannot remove %s", ErrBypassRequired, cur)
		case next.Mode != cur.Mode:
			return fmt.Errorf("%w: cannot change mode of %s", ErrBypassRequired, cur)
		default:
			return fmt.Errorf("%w: cannot shorten %s", ErrBypassRequired, cur)
		}
	}
	return nil
}

// CheckLegalHoldChange decides whether a principal may set legal hold at
// all (the S3 listener's lock grant). The mount's finer default rule, under
// which placing and lifting differ, is CheckHoldRequest.
func CheckLegalHoldChange(mayLock bool) error {
	if !mayLock {
		return ErrLegalHoldDenied
	}
	return nil
}

// Authority is what a local principal may do to the locks of a version by
// the defaults of SPEC §4 (no policy document): Writer is the POSIX write
// permission on the file (or, for a bucket, its directory); Admin is root
// or a member of the lock administrators' group (--admin-gid).
type Authority struct {
	Writer bool
	Admin  bool
}

// MayBypass reports whether the principal may make a governance bypass
// request (it still has to ask for one explicitly).
func (a Authority) MayBypass() bool { return a.Admin }

// CheckRetentionRequest decides whether a principal may ask for a
// retention change at all: a writer or an administrator. Whether the change
// itself is allowed (extend, or shorten with an effective bypass) is
// CheckRetentionChange.
func CheckRetentionRequest(a Authority) error {
	if !a.Writer && !a.Admin {
		return ErrRetentionDenied
	}
	return nil
}

// CheckHoldRequest decides whether a principal may take the legal hold of
// a version from cur to next: placing a hold (or setting OFF where none is
// on) is for writers and administrators; lifting a hold that is ON is for
// administrators only. Ownership plays no part, so a chown of a held file
// hands nobody the right to lift it.
func CheckHoldRequest(a Authority, cur, next bool) error {
	switch {
	case cur && !next && !a.Admin:
		return fmt.Errorf("%w: lifting a legal hold needs a lock administrator", ErrLegalHoldDenied)
	case !a.Writer && !a.Admin:
		return ErrLegalHoldDenied
	}
	return nil
}

// CheckDefaultRuleChange decides whether a principal may set or remove a
// bucket's default retention rule: administrators only.
func CheckDefaultRuleChange(a Authority) error {
	if !a.Admin {
		return fmt.Errorf("%w: a bucket's default rule needs a lock administrator", ErrRetentionDenied)
	}
	return nil
}

// CarryRetention is the retention of a version created to carry the lock
// of another (the bytes of a locked file written on, or a protected version
// whose attributes changed): the stronger of stamped (the bucket default
// or the explicit request) and carried. An expired carried retention adds
// nothing; of two modes COMPLIANCE wins; of one mode the later date.
func CarryRetention(stamped, carried Retention, now time.Time) Retention {
	switch {
	case !carried.Active(now):
		return stamped
	case !stamped.Active(now):
		return carried
	case stamped.Mode != carried.Mode:
		if carried.Mode == ModeCompliance {
			return carried
		}
		return stamped
	case carried.Until.After(stamped.Until):
		return carried
	}
	return stamped
}

// ParseLegalHold accepts ON or OFF.
func ParseLegalHold(s string) (bool, error) {
	switch strings.ToUpper(s) {
	case "ON":
		return true, nil
	case "OFF":
		return false, nil
	}
	return false, fmt.Errorf("%w: %q", ErrInvalidHold, s)
}

// DefaultRule is a bucket's default retention: a mode and a period in Days
// or Years (exactly one of them positive). The zero value means no default.
type DefaultRule struct {
	Mode  Mode
	Days  int
	Years int
}

// IsZero reports whether the rule is absent.
func (d DefaultRule) IsZero() bool { return d == DefaultRule{} }

// Validate checks the rule: a known mode, Days or Years (not both, not
// neither), positive, within max (≤ 0 means DefaultMaxRetention).
func (d DefaultRule) Validate(max time.Duration) error {
	if d.Mode == ModeNone {
		return ErrMissingMode
	}
	if !d.Mode.Valid() {
		return fmt.Errorf("%w: %q", ErrUnknownMode, string(d.Mode))
	}
	if d.Days != 0 && d.Years != 0 {
		return ErrDaysAndYears
	}
	if d.Days == 0 && d.Years == 0 {
		return ErrNoPeriod
	}
	if d.Days < 0 || d.Years < 0 {
		return ErrInvalidPeriod
	}
	if max <= 0 {
		max = DefaultMaxRetention
	}
	// Compare in days to avoid overflowing time.Duration.
	maxDays := int64(max / (24 * time.Hour))
	if int64(d.Days) > maxDays || int64(d.Years) > maxDays/365 {
		return ErrTooLong
	}
	return nil
}

// Stamp returns the retention a new version created at created gets from
// the rule (zero when the rule is absent).
func (d DefaultRule) Stamp(created time.Time) Retention {
	if d.IsZero() {
		return Retention{}
	}
	until := created.AddDate(d.Years, 0, d.Days)
	return Retention{Mode: d.Mode, Until: CeilMilli(until)}
}

// String formats the rule as the xattr form: "COMPLIANCE 365d",
// "GOVERNANCE 5y".
func (d DefaultRule) String() string {
	switch {
	case d.IsZero():
		return ""
	case d.Years > 0:
		return fmt.Sprintf("%s %dy", d.Mode, d.Years)
	default:
		return fmt.Sprintf("%s %dd", d.Mode, d.Days)
	}
}

// NewVersionRetention decides the retention of a new version: an explicit
// request wins over the bucket default (SPEC §4); the explicit one is
// validated; on a bucket without Object Lock any retention is refused.
func NewVersionRetention(lockEnabled bool, rule DefaultRule, explicit Retention, created time.Time, max time.Duration) (Retention, error) {
	if !explicit.IsZero() {
		if !lockEnabled {
			return Retention{}, ErrNotLockedBucket
		}
		if err := ValidateRetention(explicit, created, max); err != nil {
			return Retention{}, err
		}
		explicit.Until = CeilMilli(explicit.Until)
		return explicit, nil
	}
	if !lockEnabled {
		return Retention{}, nil
	}
	return rule.Stamp(created), nil
}
