package meta

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/lockctl"
)

// The lock of every version must be the one its audit records explain
// (SPEC §4): a version's retention and legal hold change only through
// audited operations, so replaying a version's records gives its lock. A
// version without records has the lock its bucket's default rule stamped at
// creation, or none. An edit of a stopped store that shortens a COMPLIANCE
// date or lifts a hold in a version record, without a matching audit
// record, is reported; one that also rewrites the audit chain breaks the
// chain, or, recomputed, no longer holds a head kept elsewhere
// (VerifyAuditAgainst).

// lockWant is what a version's audit records say its lock is.
type lockWant struct {
	ret     lockctl.Retention
	retSet  bool // a record named the retention (otherwise the default rule)
	hold    bool
	holdSet bool
	last    uint64 // the last record that explained it
}

// stampSlack is how much later than creation time + period a default
// retention may end: the rule stamps from the later of the system time
// (Version.Created) and the compliance time, which may lead it by the
// catch-up bound.
const stampSlack = 31 * 24 * time.Hour

// checkLocks compares every version's lock with its audit records.
func checkLocks(db *badger.DB, report func(Problem)) error {
	return db.View(func(txn *badger.Txn) error {
		want := map[string]*lockWant{} // bucket 0 key 0 version id
		rules := map[string][]lockctl.DefaultRule{}
		if err := scan(txn, pAudit, func(k, v []byte) error {
			var r AuditRecord
			if json.Unmarshal(v, &r) != nil {
				return nil // VerifyAudit reports it
			}
			if r.Action == "bucket-lock-config" {
				if rule, ok := parseRuleDetail(r.Detail); ok {
					rules[r.Bucket] = append(rules[r.Bucket], rule)
				}
				return nil
			}
			if r.VersionID == "" {
				return nil
			}
			id := r.Bucket + "\x00" + r.Key + "\x00" + r.VersionID
			w := want[id]
			if w == nil {
				w = &lockWant{}
				want[id] = w
			}
			switch {
			case r.Action == "version-create-locked":
				detail := r.Detail
				if i := strings.Index(detail, " (carried: "); i >= 0 {
					detail = detail[:i] // a lock carried from the version it copies (copy-forward, rename)
				}
				if rest, ok := strings.CutPrefix(strings.TrimSpace(detail), "retention "); ok {
					if ret, ok := parseRetentionDetail(strings.TrimSpace(strings.TrimSuffix(rest, "legal hold ON"))); ok {
						w.ret, w.retSet = ret, true
					}
				}
				if strings.HasSuffix(detail, "legal hold ON") {
					w.hold, w.holdSet = true, true
				}
			case strings.HasPrefix(r.Action, "retention-"):
				_, next, ok := strings.Cut(r.Detail, " -> ")
				if ret, rok := parseRetentionDetail(next); ok && rok {
					w.ret, w.retSet = ret, true
				}
			case r.Action == "legal-hold-on":
				w.hold, w.holdSet = true, true
			case r.Action == "legal-hold-off":
				w.hold, w.holdSet = false, true
			default:
				return nil
			}
			w.last = r.Seq
			return nil
		}); err != nil {
			return err
		}
		return scan(txn, pVersion, func(k, val []byte) error {
			body := k[1 : len(k)-8]
			i := strings.IndexByte(string(body), 0)
			if i < 0 {
				return nil // checkVersion reports it
			}
			v, err := decodeVersion(string(body[:i]), val)
			if err != nil || v.DeleteMarker {
				return nil
			}
			w := want[v.Bucket+"\x00"+v.Key+"\x00"+v.ID]
			if w == nil {
				w = &lockWant{}
			}
			if reason := unexplained(v, w, rules[v.Bucket]); reason != "" {
				report(Problem{Key: printable(k), Reason: "lock not explained by the audit log: " + reason})
			}
			return nil
		})
	})
}

// unexplained says how v's lock differs from what its records (w) and
// its bucket's default rules explain ("" when it does not).
func unexplained(v *Version, w *lockWant, rules []lockctl.DefaultRule) string {
	var out []string
	got := v.Lock()
	if got.LegalHold != w.hold {
		out = append(out, fmt.Sprintf("legal hold %s, the audit log says %s", onOff(got.LegalHold), onOff(w.hold)))
	}
	switch {
	case w.retSet:
		if !sameInstantRecorded(got.Retention, w.ret) {
			out = append(out, fmt.Sprintf("retention %s, the audit log says %s (record %d)", orNone(got.Retention.String()), orNone(w.ret.String()), w.last))
		}
	case got.Retention.IsZero():
	default:
		ok := false
		for _, r := range rules {
			if r.Mode != got.Retention.Mode {
				continue
			}
			from := r.Stamp(v.Created).Until
			if !got.Retention.Until.Before(from) && got.Retention.Until.Before(from.Add(stampSlack)) {
				ok = true
				break
			}
		}
		if !ok {
			out = append(out, fmt.Sprintf("retention %s, which neither an audit record nor a default rule of the bucket explains for a version created %s",
				got.Retention.String(), v.Created.UTC().Format(time.RFC3339)))
		}
	}
	return strings.Join(out, "; ")
}

// sameInstantRecorded reports whether got is the retention a record names
// as want. Records of older builds hold the date to the second (cut, not
// rounded), so got may be up to a second later.
func sameInstantRecorded(got, want lockctl.Retention) bool {
	if got.IsZero() || want.IsZero() {
		return got.IsZero() == want.IsZero()
	}
	if got.Mode != want.Mode {
		return false
	}
	d := got.Until.Sub(want.Until)
	return d == 0 || d > 0 && d < time.Second && want.Until.Nanosecond() == 0
}

func onOff(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

// parseRetentionDetail reads "MODE DATE" (Retention.String) or "none".
func parseRetentionDetail(s string) (lockctl.Retention, bool) {
	s = strings.TrimSpace(s)
	if s == "none" || s == "" {
		return lockctl.Retention{}, true
	}
	mode, date, ok := strings.Cut(s, " ")
	if !ok || !lockctl.Mode(mode).Valid() {
		return lockctl.Retention{}, false
	}
	t, err := lockctl.ParseInstant(strings.TrimSpace(date))
	if err != nil {
		return lockctl.Retention{}, false
	}
	return lockctl.Retention{Mode: lockctl.Mode(mode), Until: t}, true
}

// parseRuleDetail reads "default retention: MODE Nd|Ny" (or "none").
func parseRuleDetail(s string) (lockctl.DefaultRule, bool) {
	rest, ok := strings.CutPrefix(s, "default retention: ")
	if !ok {
		return lockctl.DefaultRule{}, false
	}
	mode, period, ok := strings.Cut(rest, " ")
	if !ok || !lockctl.Mode(mode).Valid() || len(period) < 2 {
		return lockctl.DefaultRule{}, false
	}
	n, err := strconv.Atoi(period[:len(period)-1])
	if err != nil || n <= 0 {
		return lockctl.DefaultRule{}, false
	}
	switch period[len(period)-1] {
	case 'd':
		return lockctl.DefaultRule{Mode: lockctl.Mode(mode), Days: n}, true
	case 'y':
		return lockctl.DefaultRule{Mode: lockctl.Mode(mode), Years: n}, true
	}
	return lockctl.DefaultRule{}, false
}
