package meta

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrNoSpace is returned by every change that adds data while the data
// directory's file system has less free space than the reserve.
var ErrNoSpace = errors.New("not enough free space in the data directory")

// DefaultMinFree is the free space a store keeps in reserve by default.
//
// Badger writes its value log, its write-ahead log and new tables through
// memory maps of sparse files; a write into such a map on a full file
// system is not an error but a SIGBUS that kills the process. So the store
// refuses new data well before the file system is full, leaving room for a
// memtable flush (MemTableSize) and the compactions it sets off, and for
// the small records of deletes, which stay allowed so that space can be
// freed.
const DefaultMinFree = 256 << 20

// checkFloor refuses every change, deletes and lock changes included, when
// the file system is nearly full: a quarter of the reserve (at least 1 MiB).
// Between the floor and the reserve, changes that free space or only touch
// records go on; below it nothing is written at all, because any Badger
// write could then be the one that dies of SIGBUS.
func (s *Store) checkFloor() error {
	min := s.opts.MinFree
	if min < 0 {
		return nil
	}
	if min == 0 {
		min = DefaultMinFree
	}
	floor := max(min/4, 1<<20)
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.opts.Dir, &st); err != nil {
		return nil
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free < floor {
		return fmt.Errorf("%w: %d KiB free in %s; nothing is written below %d MiB", ErrNoSpace, free>>10, s.opts.Dir, floor>>20)
	}
	return nil
}

// checkSpace refuses a change that adds n bytes when the free space would
// drop below the reserve. A file system that cannot be asked is assumed to
// have room.
func (s *Store) checkSpace(n int64) error {
	min := s.opts.MinFree
	if min < 0 {
		return nil
	}
	if min == 0 {
		min = DefaultMinFree
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.opts.Dir, &st); err != nil {
		return nil
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free-n < min {
		return fmt.Errorf("%w: %d MiB free in %s, the store keeps %d MiB in reserve", ErrNoSpace, free>>20, s.opts.Dir, min>>20)
	}
	return nil
}
