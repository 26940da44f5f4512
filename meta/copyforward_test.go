package meta

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/wormfs/wormfs/lockctl"
)

// TestUpdateAttrsProtected: attribute changes of a protected current
// version publish a new version sharing its chunks and keeping its lock;
// the protected record never changes; tags stay in place; an unchanged
// value publishes nothing; a protected older version refuses; an
// unprotected one changes in place. Before issue 14 every case changed the
// protected record in place.
func TestUpdateAttrsProtected(t *testing.T) {
	s := openTest(t)
	if _, err := s.CreateBucket("bkt", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Millisecond)
	v1 := put(t, s, "bkt", "k", []byte("precious"), PublishOptions{Retention: lockctl.Retention{Mode: lockctl.ModeCompliance, Until: until}, UserMeta: map[string]string{"note": "before"}, Mode: 0o644})
	rec := func(id string) string {
		v, err := s.Get("bkt", "k", id)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	orig := rec(v1.ID)
	mode := uint32(0o600)
	nv, err := s.UpdateAttrs("bkt", "k", "", AttrUpdate{Mode: &mode, SetMeta: map[string]string{"note": "after"}, Actor: Actor{Name: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if nv.ID == v1.ID || nv.Mode != 0o600 || nv.UserMeta["note"] != "after" || nv.ETag != v1.ETag || nv.RetMode != lockctl.ModeCompliance || !nv.RetUntil.Equal(until) {
		t.Fatalf("new version %+v", nv)
	}
	if rec(v1.ID) != orig {
		t.Fatal("the protected record changed")
	}
	if got := readAll(t, s, nv); string(got) != "precious" {
		t.Fatalf("new version reads %q", got)
	}
	st, _ := s.Stats()
	if st.Chunks != 1 || st.References != 2 {
		t.Fatalf("chunks %+v: the new version must share the chunk", st)
	}
	// The same value again: nothing new.
	same, err := s.UpdateAttrs("bkt", "k", "", AttrUpdate{Mode: &mode})
	if err != nil || same.ID != nv.ID {
		t.Fatalf("unchanged update: %v %v", same, err)
	}
	// Tags stay mutable in place.
	tags := map[string]string{"t": "1"}
	tv, err := s.UpdateAttrs("bkt", "k", nv.ID, AttrUpdate{Tags: &tags})
	if err != nil || tv.ID != nv.ID || tv.Tags["t"] != "1" {
		t.Fatalf("tags: %+v %v", tv, err)
	}
	// The older protected version cannot be changed at all.
	if _, err := s.UpdateAttrs("bkt", "k", v1.ID, AttrUpdate{Mode: &mode}); !errors.Is(err, lockctl.ErrProtected) {
		t.Fatalf("older protected version: %v", err)
	}
	// An unprotected version changes in place.
	u1 := put(t, s, "bkt", "free", []byte("x"), PublishOptions{})
	uv, err := s.UpdateAttrs("bkt", "free", "", AttrUpdate{Mode: &mode})
	if err != nil || uv.ID != u1.ID || uv.Mode != 0o600 {
		t.Fatalf("unprotected: %+v %v", uv, err)
	}
	n := 0
	s.Audit(1, func(r AuditRecord) error {
		if r.Action == "version-copy-forward" {
			n++
		}
		return nil
	})
	if n != 1 {
		t.Fatalf("%d copy-forward records, want 1", n)
	}
}

// TestPublishCarry: PublishOptions.Carry gives a new version at least the
// carried lock, audited; an expired carried retention adds nothing.
func TestPublishCarry(t *testing.T) {
	s := openTest(t)
	if _, err := s.CreateBucket("bkt", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour).UTC()
	v := put(t, s, "bkt", "k", []byte("x"), PublishOptions{Carry: lockctl.Lock{Retention: lockctl.Retention{Mode: lockctl.ModeGovernance, Until: until}, LegalHold: true}})
	if v.RetMode != lockctl.ModeGovernance || !v.LegalHold || !v.HoldSet {
		t.Fatalf("carried lock: %+v", v.Lock())
	}
	w := put(t, s, "bkt", "k2", []byte("x"), PublishOptions{Carry: lockctl.Lock{Retention: lockctl.Retention{Mode: lockctl.ModeCompliance, Until: time.Now().Add(-time.Hour)}}})
	if w.RetMode != "" || w.LegalHold {
		t.Fatalf("expired carry: %+v", w.Lock())
	}
	found := false
	s.Audit(1, func(r AuditRecord) error {
		found = found || r.Action == "version-create-locked" && r.Key == "k"
		return nil
	})
	if !found {
		t.Fatal("carried lock not audited")
	}
}

// TestLockRights: with Actor.Rights, lifting a hold needs an administrator
// and asking for retention a writer, decided in the transaction.
func TestLockRights(t *testing.T) {
	s := openTest(t)
	if _, err := s.CreateBucket("bkt", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	v := put(t, s, "bkt", "k", []byte("x"), PublishOptions{})
	writer := Actor{Rights: &lockctl.Authority{Writer: true}}
	admin := Actor{Rights: &lockctl.Authority{Admin: true}}
	reader := Actor{Rights: &lockctl.Authority{}}
	if _, err := s.SetLegalHold("bkt", "k", v.ID, true, writer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetLegalHold("bkt", "k", v.ID, false, writer); !errors.Is(err, lockctl.ErrLegalHoldDenied) {
		t.Fatalf("writer lifts: %v", err)
	}
	if _, err := s.SetRetention("bkt", "k", v.ID, lockctl.Retention{Mode: lockctl.ModeGovernance, Until: time.Now().Add(time.Hour)}, reader); !errors.Is(err, lockctl.ErrRetentionDenied) {
		t.Fatalf("reader sets retention: %v", err)
	}
	if _, err := s.SetLegalHold("bkt", "k", v.ID, false, admin); err != nil {
		t.Fatalf("admin lifts: %v", err)
	}
}
