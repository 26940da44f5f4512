package meta

// Tests of issue 14, the store side: whole stores only (item 10), private
// data directory (item 7), clocks (item 11), tamper evidence (item 12) and
// millisecond instants (item 13). Each fails on the code before the fix:
// checked by stashing the fix and running them (see the commit message).

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/lockctl"
)

// dirState lists the files of dir with their sizes, to show that a refused
// open changed nothing.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Name()+":"+fi.Mode().String()+":"+strconv.FormatInt(fi.Size(), 10))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// lockedStore writes a store with one COMPLIANCE version and returns it
// closed.
func lockedStore(t *testing.T, dir string) (*Version, time.Time) {
	t.Helper()
	s, err := Open(Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBucket("tamper", BucketOptions{ObjectLock: true}, Actor{Name: "root"}); err != nil {
		t.Fatal(err)
	}
	until := s.Now().Add(30 * 24 * time.Hour)
	v := put(t, s, "tamper", "ledger", []byte("keep me"), PublishOptions{Retention: lockctl.Retention{Mode: lockctl.ModeCompliance, Until: until}, Actor: Actor{Name: "root"}})
	put(t, s, "tamper", "other", []byte("other"), PublishOptions{LegalHold: true, Actor: Actor{Name: "root"}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return v, until
}

// rawUpdate edits a stopped store with Badger directly, as an attacker
// with access to the data directory would.
func rawUpdate(t *testing.T, dir string, fn func(txn *badger.Txn) error) {
	t.Helper()
	db, err := badger.Open(BadgerOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func fsckProblems(t *testing.T, dir string) []string {
	t.Helper()
	var problems []string
	if _, err := Fsck(dir, func(p Problem) { problems = append(problems, p.String()) }); err != nil {
		t.Fatalf("fsck: %v", err)
	}
	return problems
}

// Item 10: a data directory without its MANIFEST is refused by Open and by
// fsck, and nothing in it is deleted. Before: Badger started an empty store
// and deleted the tables.
func TestStoreMissingManifestRefused(t *testing.T) {
	dir := t.TempDir()
	lockedStore(t, dir)
	// Flush the memtable into tables, so that there are tables to lose.
	s, err := Open(Options{Dir: dir, GCInterval: -1, Badger: func(o *badger.Options) { o.CompactL0OnClose = true }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Flatten(1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Remove(filepath.Join(dir, "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, dir)
	if _, err := Open(Options{Dir: dir, GCInterval: -1}); !errors.Is(err, ErrNotWholeStore) || !strings.Contains(err.Error(), "MANIFEST") {
		t.Fatalf("Open without MANIFEST = %v, want ErrNotWholeStore naming the MANIFEST", err)
	}
	if _, err := Fsck(dir, func(Problem) {}); !errors.Is(err, ErrNotWholeStore) {
		t.Fatalf("Fsck without MANIFEST = %v, want ErrNotWholeStore", err)
	}
	if after := dirState(t, dir); after != before {
		t.Fatalf("a refused open changed the directory:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// Item 10: files that are not a store, records without a format record,
// and a format record without the records every store has, are refused.
func TestStoreNotWholeRefused(t *testing.T) {
	t.Run("foreign files", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600)
		if _, err := Open(Options{Dir: dir, GCInterval: -1}); !errors.Is(err, ErrNotWholeStore) {
			t.Fatalf("Open over foreign files = %v, want ErrNotWholeStore", err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("a refused open created files: %v", ents)
		}
	})
	t.Run("data without format record", func(t *testing.T) {
		dir := t.TempDir()
		lockedStore(t, dir)
		rawUpdate(t, dir, func(txn *badger.Txn) error { return txn.Delete(keyFormat()) })
		if _, err := Open(Options{Dir: dir, GCInterval: -1}); !errors.Is(err, ErrNotWholeStore) || !strings.Contains(err.Error(), "no format record") {
			t.Fatalf("Open = %v, want ErrNotWholeStore: no format record", err)
		}
	})
	t.Run("format record without data", func(t *testing.T) {
		dir := t.TempDir()
		rawUpdate(t, dir, func(txn *badger.Txn) error {
			return txn.Set(keyFormat(), binary.BigEndian.AppendUint32(nil, formatVersion))
		})
		if _, err := Open(Options{Dir: dir, GCInterval: -1}); !errors.Is(err, ErrNotWholeStore) {
			t.Fatalf("Open = %v, want ErrNotWholeStore", err)
		}
	})
}

// Item 7: a new data directory is 0700 and its files 0600, also files
// Badger creates later (value-log rotation) under RestrictUmask; an
// existing directory open to others is refused with the chmod to run, and
// files of an older store are made 0600 at open.
func TestStoreDataDirPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	base := t.TempDir()
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o755)
	if err := CheckDataDir(open); !errors.Is(err, ErrInsecureDir) || !strings.Contains(err.Error(), "chmod 700 "+open) {
		t.Fatalf("CheckDataDir(0755) = %v, want ErrInsecureDir naming chmod 700", err)
	}
	// A store written by an older build (files 0644), then fixed with the
	// chmod the message names.
	s, err := Open(Options{Dir: open, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.Chmod(open, 0o700)
	if err := CheckDataDir(open); err != nil {
		t.Fatal(err)
	}

	RestrictUmask()
	fresh := filepath.Join(base, "new", "data")
	s, err = Open(Options{Dir: fresh, GCInterval: -1, Badger: func(o *badger.Options) { o.ValueLogFileSize = 1 << 20 }})
	if err != nil {
		t.Fatal(err)
	}
	// Several MiB of chunk data: the 1 MiB value-log files rotate.
	if _, err := s.CreateBucket("perm", BucketOptions{}, Actor{}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		put(t, s, "perm", "k"+string(rune('a'+i)), make([]byte, 1<<20), PublishOptions{})
	}
	if n := newestVlog(fresh); n < 2 {
		t.Fatalf("value log did not rotate (newest %d)", n)
	}
	s.Close()
	s, err = Open(Options{Dir: open, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, dir := range []string{fresh, open} {
		fi, _ := os.Stat(dir)
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %v, want 0700", dir, fi.Mode().Perm())
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			fi, _ := e.Info()
			if fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s/%s has mode %v, want 0600", dir, e.Name(), fi.Mode().Perm())
			}
		}
	}
}

// Item 11: timestamps come from the system clock, a new retain-until must
// lie after both clocks, and the clock record commits with every audit
// record.
func TestStoreClocksTimestampsAndFloor(t *testing.T) {
	c := &jumpClock{base: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	s := openJump(t, dir, c)
	defer s.Close()
	if _, err := s.CreateBucket("clk", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	// The daemon was down a day: the system clock is a day ahead of the
	// compliance clock, which catches up slowly.
	c.setJump(24 * time.Hour)
	c.advance(time.Second)
	v := put(t, s, "clk", "k", []byte("x"), PublishOptions{})
	if d := v.Created.Sub(c.Sys()); d < -time.Second || d > time.Second {
		t.Fatalf("Created %v, system clock %v, compliance %v: not from the system clock", v.Created, c.Sys(), s.Now())
	}
	if d := v.Mtime.Sub(c.Sys()); d < -time.Second || d > time.Second {
		t.Fatalf("Mtime %v, system clock %v: not from the system clock", v.Mtime, c.Sys())
	}
	// An hour after the compliance time is a day before the system time:
	// already past, refused.
	past := lockctl.Retention{Mode: lockctl.ModeGovernance, Until: s.Now().Add(time.Hour)}
	if _, err := s.SetRetention("clk", "k", "", past, Actor{}); !errors.Is(err, lockctl.ErrPastDate) {
		t.Fatalf("SetRetention before the system time = %v, want ErrPastDate", err)
	}
	w, err := s.NewWriter("clk", "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteAt([]byte("y"), 0)
	if _, err := w.Publish(PublishOptions{Retention: past}); !errors.Is(err, lockctl.ErrPastDate) {
		t.Fatalf("Publish with a date before the system time = %v, want ErrPastDate", err)
	}
	ok := lockctl.Retention{Mode: lockctl.ModeGovernance, Until: c.Sys().Add(time.Hour)}
	if _, err := s.SetRetention("clk", "k", "", ok, Actor{}); err != nil {
		t.Fatal(err)
	}
	// The clock record is at least the newest audit record's time at
	// once, not a persist tick later.
	var clock time.Time
	s.DB().View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyClock())
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error { clock = time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC(); return nil })
	})
	recs := auditOf(t, s)
	if last := recs[len(recs)-1]; clock.Before(last.Time) {
		t.Fatalf("persisted clock %v is behind the audit record %d at %v", clock, last.Seq, last.Time)
	}
}

func auditOf(t *testing.T, s *Store) []AuditRecord {
	t.Helper()
	var recs []AuditRecord
	if err := s.Audit(1, func(r AuditRecord) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return recs
}

func setClockRecord(t *testing.T, dir string, at time.Time) {
	t.Helper()
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		return txn.Set(keyClock(), binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())))
	})
}

// Item 11: a persisted clock moved forward (every lock would expire) or
// back behind the audit log stops Open unless accepted, and the acceptance
// is audited. Before: both started without a word.
func TestStoreClockTamperRefused(t *testing.T) {
	dir := t.TempDir()
	lockedStore(t, dir)
	setClockRecord(t, dir, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := Open(Options{Dir: dir, GCInterval: -1}); !errors.Is(err, ErrClock) || !strings.Contains(err.Error(), "ahead of the system clock") {
		t.Fatalf("Open with the clock at 2100 = %v, want ErrClock", err)
	}
	s, err := Open(Options{Dir: dir, GCInterval: -1, AcceptClock: true})
	if err != nil {
		t.Fatalf("AcceptClock: %v", err)
	}
	recs := auditOf(t, s)
	if last := recs[len(recs)-1]; last.Action != "clock-accept" || !strings.Contains(last.Detail, "2100") {
		t.Fatalf("last audit record %+v, want clock-accept naming 2100", last)
	}
	s.Close()

	dir = t.TempDir()
	lockedStore(t, dir)
	setClockRecord(t, dir, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := Open(Options{Dir: dir, GCInterval: -1}); !errors.Is(err, ErrClock) || !strings.Contains(err.Error(), "older than the newest audit record") {
		t.Fatalf("Open with the clock behind the audit log = %v, want ErrClock", err)
	}
	s, err = Open(Options{Dir: dir, GCInterval: -1, AcceptClock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if recs := auditOf(t, s); s.Now().Before(recs[len(recs)-1].Time) {
		t.Fatalf("accepted clock %v runs behind the audit log", s.Now())
	}
}

// Item 12: a COMPLIANCE date shortened (or a hold lifted) in a version
// record of a stopped store is reported by fsck. Before: fsck was clean.
func TestStoreFsckLockNotExplained(t *testing.T) {
	dir := t.TempDir()
	v, _ := lockedStore(t, dir)
	if p := fsckProblems(t, dir); len(p) > 0 {
		t.Fatalf("clean store: %v", p)
	}
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		for _, k := range [][]byte{keyVersion("tamper", "ledger", v.Seq), keyCurrent("tamper", "ledger")} {
			item, err := txn.Get(k)
			if err != nil {
				return err
			}
			b, _ := item.ValueCopy(nil)
			var m map[string]any
			json.Unmarshal(b, &m)
			m["retUntil"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
			b, _ = json.Marshal(m)
			if err := txn.Set(k, b); err != nil {
				return err
			}
		}
		return nil
	})
	p := strings.Join(fsckProblems(t, dir), "\n")
	if !strings.Contains(p, "ledger") || !strings.Contains(p, "lock not explained by the audit log") {
		t.Fatalf("fsck after shortening the COMPLIANCE date:\n%s", p)
	}
}

// Item 12: a version removed with its audit records and the chain
// recomputed passes VerifyAudit, but not VerifyAuditAgainst a head kept
// from before; a removed tail fails too.
func TestStoreAuditAgainstKeptHead(t *testing.T) {
	dir := t.TempDir()
	v, _ := lockedStore(t, dir)
	s, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	seq, hash, err := s.AuditHead()
	s.Close()
	if err != nil || seq == 0 {
		t.Fatalf("AuditHead = %d %q %v", seq, hash, err)
	}
	kept := AuditAnchor{Seq: seq, Hash: hash}
	if a, err := ParseAuditAnchor(kept.String()); err != nil || a != kept {
		t.Fatalf("ParseAuditAnchor(%s) = %v, %v", kept, a, err)
	}

	// Remove the version, its records, and rechain what follows.
	rawUpdate(t, dir, func(txn *badger.Txn) error {
		var recs []AuditRecord
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pAudit}})
		for it.Rewind(); it.Valid(); it.Next() {
			var r AuditRecord
			it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &r) })
			recs = append(recs, r)
		}
		it.Close()
		for _, r := range recs {
			if err := txn.Delete(keyAudit(r.Seq)); err != nil {
				return err
			}
		}
		prev, n := "", uint64(0)
		for _, r := range recs {
			if r.VersionID == v.ID {
				continue
			}
			n++
			r.Seq, r.Prev = n, prev
			r.Hash = r.computeHash()
			prev = r.Hash
			if err := txn.Set(keyAudit(n), encode(r)); err != nil {
				return err
			}
		}
		for _, k := range [][]byte{keyVersion("tamper", "ledger", v.Seq), keyCurrent("tamper", "ledger"), keyExtents(v.Seq)} {
			txn.Delete(k)
		}
		return txn.Set(keyAuditHead(), encode(auditHead{Seq: n, Hash: prev}))
	})
	s, err = OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.VerifyAudit(); err != nil {
		t.Fatalf("the recomputed chain is internally consistent, VerifyAudit = %v", err)
	}
	var brk *AuditBreak
	if _, err := s.VerifyAuditAgainst(kept); !errors.As(err, &brk) {
		t.Fatalf("VerifyAuditAgainst(kept head) after removing a version = %v, want an AuditBreak", err)
	}
	var recs []AuditRecord
	s.Audit(1, func(r AuditRecord) error { recs = append(recs, r); return nil })
	if _, err := VerifyAuditRecordsAgainst(recs, kept); !errors.As(err, &brk) {
		t.Fatalf("VerifyAuditRecordsAgainst = %v, want an AuditBreak", err)
	}
	if _, err := VerifyAuditRecordsAgainst(recs, AuditAnchor{Seq: recs[len(recs)-1].Seq, Hash: recs[len(recs)-1].Hash}); err != nil {
		t.Fatalf("the chain's own head: %v", err)
	}
}

// Item 13: retain-until instants are kept to the millisecond, finer input
// rounded up, so writing back what was read (to the millisecond) is not a
// shortening. Before: nanoseconds were kept and the read-back date (cut to
// the millisecond) was refused as a shortening.
func TestStoreRetentionMilliseconds(t *testing.T) {
	s := openTest(t)
	if _, err := s.CreateBucket("msb", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(48 * time.Hour).Truncate(time.Second).Add(123456789)
	v := put(t, s, "msb", "k", []byte("x"), PublishOptions{Retention: lockctl.Retention{Mode: lockctl.ModeCompliance, Until: until}})
	want := until.Truncate(time.Millisecond).Add(time.Millisecond).UTC()
	if !v.RetUntil.Equal(want) {
		t.Fatalf("stored %v, want %v (rounded up to the millisecond)", v.RetUntil, want)
	}
	read := v.RetUntil.Truncate(time.Millisecond) // what S3 shows
	if _, err := s.SetRetention("msb", "k", v.ID, lockctl.Retention{Mode: lockctl.ModeCompliance, Until: read}, Actor{}); err != nil {
		t.Fatalf("writing back the retention read: %v", err)
	}
}
