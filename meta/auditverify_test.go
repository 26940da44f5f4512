package meta

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/wormfs/wormfs/lockctl"
)

// auditLines makes a store with a few audit records and returns them as
// `wormfs audit` and the mount print them: JSON, read back.
func auditLines(t *testing.T) []AuditRecord {
	t.Helper()
	s := openTest(t)
	if _, err := s.CreateBucket("bkt", BucketOptions{ObjectLock: true}, Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	v := put(t, s, "bkt", "k", []byte("x"), PublishOptions{})
	until := s.Now().Add(time.Hour)
	if _, err := s.SetRetention("bkt", "k", v.ID, lockctl.Retention{Mode: lockctl.ModeGovernance, Until: until}, Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetLegalHold("bkt", "k", v.ID, true, Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetLegalHold("bkt", "k", v.ID, false, Actor{Name: "t"}); err != nil {
		t.Fatal(err)
	}
	var out []AuditRecord
	if err := s.Audit(1, func(r AuditRecord) error {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		var back AuditRecord
		if err := json.Unmarshal(b, &back); err != nil {
			return err
		}
		out = append(out, back)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(out) < 3 {
		t.Fatalf("only %d audit records", len(out))
	}
	return out
}

func TestVerifyAuditRecords(t *testing.T) {
	recs := auditLines(t)
	if n, err := VerifyAuditRecords(recs); err != nil || n != len(recs) {
		t.Fatalf("intact chain: %d, %v", n, err)
	}
	cases := []struct {
		name    string
		change  func([]AuditRecord) []AuditRecord
		wantSeq uint64
	}{
		{"detail changed", func(r []AuditRecord) []AuditRecord { r[1].Detail += "!"; return r }, 2},
		{"bypass flag set", func(r []AuditRecord) []AuditRecord { r[2].Bypass = !r[2].Bypass; return r }, 3},
		{"time moved", func(r []AuditRecord) []AuditRecord { r[0].Time = r[0].Time.Add(time.Second); return r }, 1},
		{"record removed", func(r []AuditRecord) []AuditRecord { return append(r[:1:1], r[2:]...) }, 2},
		{"records swapped", func(r []AuditRecord) []AuditRecord { r[1], r[2] = r[2], r[1]; return r }, 2},
		{"rehashed without chaining", func(r []AuditRecord) []AuditRecord {
			r[1].Actor = "someone else"
			r[1].Hash = r[1].computeHash()
			return r
		}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cp := append([]AuditRecord(nil), recs...)
			n, err := VerifyAuditRecords(c.change(cp))
			var br *AuditBreak
			if !errors.As(err, &br) || br.Seq != c.wantSeq {
				t.Fatalf("got %d, %v; want a break at %d", n, err, c.wantSeq)
			}
			if n != int(c.wantSeq)-1 {
				t.Fatalf("%d records passed, want %d", n, c.wantSeq-1)
			}
		})
	}
}
