package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/lockctl"
)

// ErrClock is returned by Open when the persisted compliance time cannot
// be trusted: further ahead of the system clock than the catch-up bound
// explains, or older than the newest audit record (SPEC §4). Options.
// AcceptClock starts anyway, and audits that it did.
var ErrClock = errors.New("compliance clock cannot be trusted")

// clockLeadSlack is the lead over the system clock a compliance clock may
// have without explanation (a system clock stepped back by NTP or a drifting
// hardware clock at boot).
const clockLeadSlack = time.Minute

// initClock loads the persisted compliance time, checks it against the
// system clock and the audit log, and starts the clock from it (a new store
// starts at the system time).
func (s *Store) initClock() error {
	var persisted time.Time
	var first, newest AuditRecord
	var newestOK bool
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(keyClock())
		if err == nil {
			err = item.Value(func(b []byte) error {
				if len(b) != 8 {
					return ErrCorrupt
				}
				persisted = time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC()
				return nil
			})
		}
		if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		var head auditHead
		if err := getJSON(txn, keyAuditHead(), &head, ErrNoSuchKey); err != nil || head.Seq == 0 {
			return nil // no audit log (yet)
		}
		if err := getJSON(txn, keyAudit(head.Seq), &newest, ErrNoSuchKey); err == nil {
			newestOK = true
		}
		_ = getJSON(txn, keyAudit(1), &first, ErrNoSuchKey)
		return nil
	})
	if err != nil {
		return err
	}
	sys := s.opts.SysNow().UTC()
	var problem string
	switch {
	case persisted.IsZero():
	case newestOK && persisted.Before(newest.Time):
		problem = fmt.Sprintf("the persisted compliance time %s is older than the newest audit record (%d, at %s): the clock record was changed or lost",
			persisted.Format(time.RFC3339Nano), newest.Seq, newest.Time.Format(time.RFC3339Nano))
	default:
		if lead, bound := persisted.Sub(sys), s.clockLeadBound(sys, first); lead > bound {
			problem = fmt.Sprintf("the persisted compliance time %s is %s ahead of the system clock (%s), more than the catch-up bound explains (%s): a tampered store or a system clock set back",
				persisted.Format(time.RFC3339), lead.Round(time.Second), sys.Format(time.RFC3339), bound.Round(time.Second))
		}
	}
	if problem != "" && !s.opts.AcceptClock {
		return fmt.Errorf("%w: %s; fix the system clock, or start once with --accept-clock to continue from it (audited)", ErrClock, problem)
	}
	start := persisted
	if newestOK && start.Before(newest.Time) {
		start = newest.Time // never behind what the log already records
	}
	s.clock = lockctl.NewClock(start, s.opts.Mono(), s.opts.SysNow(), s.opts.CatchUpRate)
	if err := s.persistClock(); err != nil {
		return err
	}
	if problem != "" {
		s.logger.Printf("accepted by --accept-clock: %s", problem)
		return s.commit(func(txn *badger.Txn) error {
			return s.audit(txn, AuditRecord{Action: "clock-accept", Actor: "operator", Detail: problem})
		})
	}
	return nil
}

// clockLeadBound is how far the compliance time may legitimately be ahead
// of the system clock sys: what catching up with a system clock that was
// wrong ahead could have gained (at the catch-up rate) in the time since
// the store's first audit record, plus a minute of slack.
func (s *Store) clockLeadBound(sys time.Time, first AuditRecord) time.Duration {
	bound := clockLeadSlack
	if !first.Time.IsZero() && sys.After(first.Time) {
		rate := s.opts.CatchUpRate
		if rate <= 0 {
			rate = lockctl.DefaultCatchUpRate
		}
		bound += time.Duration(float64(sys.Sub(first.Time)) * rate)
	}
	return bound
}

// Now is the compliance time: the "now" of every lock decision.
func (s *Store) Now() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	return s.clock.Advance(s.opts.Mono(), s.opts.SysNow())
}

// SysNow is the system time, in UTC: the source of every timestamp (mtime,
// ctime, S3 LastModified), never of a lock decision (SPEC §3, §4).
func (s *Store) SysNow() time.Time { return s.opts.SysNow().UTC() }

// LockFloor is the instant a new retain-until must lie after: the later of
// the compliance and the system time (SPEC §4: in the future of both).
func (s *Store) LockFloor() time.Time {
	return lockctl.Latest(s.Now(), s.SysNow())
}

// ClockOffset is the system clock minus the compliance time.
func (s *Store) ClockOffset() time.Duration {
	now := s.Now()
	return s.opts.SysNow().Sub(now)
}

// persistClock stores the current compliance time.
func (s *Store) persistClock() error {
	if err := s.checkFloor(); err != nil {
		// The clock is persisted again once there is room; until then a
		// restart resumes from the last persisted time, which is never
		// ahead of the true compliance time.
		if !s.lowSpace.Swap(true) {
			s.logger.Printf("compliance clock not persisted: %v", err)
		}
		return nil
	}
	s.lowSpace.Store(false)
	s.clockMu.Lock()
	now := s.clock.Now()
	s.clockMu.Unlock()
	return s.persistClockAt(now)
}

// clockInTxn raises the persisted compliance time to at least t inside
// txn, the transaction of an audit record stamped t: the record and a clock
// at least as late commit together, so a restart after a kill -9 never
// resumes behind a committed audit record. A concurrent persistClock never
// writes an older time afterwards (it skips times up to s.persisted).
func (s *Store) clockInTxn(txn *badger.Txn, t time.Time) error {
	s.persistMu.Lock()
	if t.After(s.persisted) {
		s.persisted = t
	}
	t = s.persisted
	s.persistMu.Unlock()
	return txn.Set(keyClock(), binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())))
}

// persistClockAt commits t as the persisted compliance time unless a later
// one is already persisted: the record never goes backwards, whichever of
// two concurrent persists commits last.
func (s *Store) persistClockAt(t time.Time) error {
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	if !t.After(s.persisted) {
		return nil
	}
	err := s.commit(func(txn *badger.Txn) error {
		return txn.Set(keyClock(), binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())))
	})
	if err == nil {
		s.persisted = t
	}
	return err
}
