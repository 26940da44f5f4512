//go:build !linux

package meta

// trimMaps is Linux-only (MADV_PAGEOUT); elsewhere the kernel alone
// decides what of the value-log maps stays resident.
func (s *Store) trimMaps(limit int64) bool { return false }
