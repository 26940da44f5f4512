package meta

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"syscall"

	"github.com/dgraph-io/badger/v4"
)

// emptyValueLogs lists the value-log files of zero length in dir.
//
// Badger creates a new value-log file at every open (and whenever one
// fills up) with O_CREATE and writes its header only afterwards. A process
// killed in between leaves an empty file, which Badger then refuses to
// open ("Create a new file"): one kill -9 at the wrong moment of a start
// would keep the store from ever opening again. An empty file holds no
// entry, so nothing in the store can refer to it.
func emptyValueLogs(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		return nil, err
	}
	var empty []string
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil {
			return nil, err
		}
		if fi.Size() == 0 {
			empty = append(empty, m)
		}
	}
	return empty, nil
}

// removeEmptyValueLogs deletes the empty value-log files a crash left in
// dir, under the directory lock Badger itself takes (flock on the
// directory), so that the files of a running process are never touched.
func removeEmptyValueLogs(dir string, logger *log.Logger) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("meta: data directory: %w", err)
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return fmt.Errorf("meta: lock %s: %w", dir, err)
	}
	defer syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
	empty, err := emptyValueLogs(dir)
	if err != nil {
		return fmt.Errorf("meta: data directory: %w", err)
	}
	for _, f := range empty {
		logger.Printf("removing empty value-log file %s (left by a crash during a start)", f)
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("meta: %w", err)
		}
	}
	return nil
}

// recoverBadger opens the database in dir read-write and closes it again,
// so that Badger replays and truncates the write-ahead log of a process
// that was killed. It changes none of the store's records: what a replay
// keeps was committed, and what it cuts was never acknowledged.
func recoverBadger(dir string) error {
	if err := removeEmptyValueLogs(dir, log.New(os.Stderr, "wormfs: ", log.LstdFlags)); err != nil {
		return err
	}
	opts := BadgerOptions(dir)
	db, err := badger.Open(opts)
	if err != nil {
		return err
	}
	return db.Close()
}
