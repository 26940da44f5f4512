package meta

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/lockctl"
)

// initClock loads the persisted compliance time and starts the clock from
// it (a new store starts at the system time).
func (s *Store) initClock() error {
	var persisted time.Time
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(keyClock())
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error {
			if len(b) != 8 {
				return ErrCorrupt
			}
			persisted = time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC()
			return nil
		})
	})
	if err != nil {
		return err
	}
	s.clock = lockctl.NewClock(persisted, s.opts.Mono(), s.opts.SysNow(), s.opts.CatchUpRate)
	return s.persistClock()
}

// Now is the compliance time: the "now" of every lock decision.
func (s *Store) Now() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	return s.clock.Advance(s.opts.Mono(), s.opts.SysNow())
}

// ClockOffset is the system clock minus the compliance time.
func (s *Store) ClockOffset() time.Duration {
	now := s.Now()
	return s.opts.SysNow().Sub(now)
}

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
	return s.commit(func(txn *badger.Txn) error {
		return txn.Set(keyClock(), binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano())))
	})
}
