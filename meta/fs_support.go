package meta

// Dir is the store's data directory; the mount reports the file system
// that holds it in statfs.
func (s *Store) Dir() string { return s.opts.Dir }
