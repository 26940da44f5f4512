package lockctl

import (
	"errors"
	"testing"
	"time"
)

// TestAuthorityDefaults: the default rules of SPEC §4 for local
// principals: writers place holds and set retention, only administrators
// lift holds, bypass and change a bucket's default rule.
func TestAuthorityDefaults(t *testing.T) {
	writer, admin, nobody := Authority{Writer: true}, Authority{Admin: true}, Authority{}
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"writer places a hold", CheckHoldRequest(writer, false, true), nil},
		{"writer sets OFF where none is on", CheckHoldRequest(writer, false, false), nil},
		{"writer keeps a hold ON", CheckHoldRequest(writer, true, true), nil},
		{"writer lifts a hold", CheckHoldRequest(writer, true, false), ErrLegalHoldDenied},
		{"admin lifts a hold", CheckHoldRequest(admin, true, false), nil},
		{"admin places a hold on a file it may not write", CheckHoldRequest(admin, false, true), nil},
		{"nobody places a hold", CheckHoldRequest(nobody, false, true), ErrLegalHoldDenied},
		{"writer asks for retention", CheckRetentionRequest(writer), nil},
		{"admin asks for retention", CheckRetentionRequest(admin), nil},
		{"nobody asks for retention", CheckRetentionRequest(nobody), ErrRetentionDenied},
		{"writer changes a default rule", CheckDefaultRuleChange(writer), ErrRetentionDenied},
		{"admin changes a default rule", CheckDefaultRuleChange(admin), nil},
	}
	for _, c := range cases {
		if c.want == nil && c.err != nil || c.want != nil && !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	if writer.MayBypass() || !admin.MayBypass() {
		t.Error("only administrators may bypass")
	}
}

// TestCarryRetention: a carried lock only ever strengthens the stamped one.
func TestCarryRetention(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	gov := func(d time.Duration) Retention { return Retention{Mode: ModeGovernance, Until: now.Add(d)} }
	comp := func(d time.Duration) Retention { return Retention{Mode: ModeCompliance, Until: now.Add(d)} }
	cases := []struct {
		name             string
		stamped, carried Retention
		want             Retention
	}{
		{"nothing carried", gov(time.Hour), Retention{}, gov(time.Hour)},
		{"expired carried adds nothing", Retention{}, comp(-time.Hour), Retention{}},
		{"carried onto none", Retention{}, comp(time.Hour), comp(time.Hour)},
		{"later date wins", gov(time.Hour), gov(2 * time.Hour), gov(2 * time.Hour)},
		{"earlier carried loses", gov(2 * time.Hour), gov(time.Hour), gov(2 * time.Hour)},
		{"compliance carried wins", gov(5 * time.Hour), comp(time.Hour), comp(time.Hour)},
		{"compliance stamped stays", comp(time.Hour), gov(5 * time.Hour), comp(time.Hour)},
	}
	for _, c := range cases {
		if got := CarryRetention(c.stamped, c.carried, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
