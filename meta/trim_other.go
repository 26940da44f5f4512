//go:build !linux

package meta

// trimMaps and dropBehind are Linux-only (madvise, fadvise); elsewhere
// the kernel alone decides what of the value-log maps stays resident and
// what of the value log stays in the page cache.
func (s *Store) trimMaps(limit int64) bool { return false }

func (s *Store) dropBehind(newest uint64) {}

func (s *Store) writeBehind(newest uint64) {}
