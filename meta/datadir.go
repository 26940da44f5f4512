package meta

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// The data directory holds every record and the generated root secret
// (SPEC §1): it is created 0700, its files are made 0600, a directory that
// group or others may read or write is refused, and Badger only ever opens
// a whole store (it would start an empty one over files without a
// MANIFEST and delete the tables it does not know).
var (
	// ErrInsecureDir is returned by CheckDataDir for a data directory that
	// group or others may read, write or traverse.
	ErrInsecureDir = errors.New("data directory is open to other users")
	// ErrNotWholeStore is returned by Open and OpenReadOnly for a data
	// directory whose files do not form a whole store.
	ErrNotWholeStore = errors.New("not a whole wormfs store")
)

// RestrictUmask sets the process umask to 077, so that every file Badger
// creates later (value-log files, tables, the manifest it rewrites) is
// 0600 from the start. It is process-wide: the daemon calls it before
// Open; it also masks files the process creates anywhere else.
func RestrictUmask() { syscall.Umask(0o077) }

// prepareDir creates dir 0700 when it does not exist.
func prepareDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("meta: data directory: %w", err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("meta: data directory: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("meta: data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("meta: data directory %s is not a directory", dir)
	}
	return nil
}

// CheckDataDir refuses (ErrInsecureDir, with the chmod to run) an existing
// data directory that group or others may read, write or traverse: the
// daemon calls it before Open. A directory that does not exist yet passes
// (Open creates it 0700).
func CheckDataDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("meta: data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("meta: data directory %s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, so other users may read the store and its secret; run: chmod 700 %s",
			ErrInsecureDir, dir, perm, shellQuote(dir))
	}
	return nil
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tightenFiles makes every regular file in dir 0600 (stores written by
// older builds, or by a process with a looser umask, have 0644 files).
func tightenFiles(dir string, logger *log.Logger) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("meta: data directory: %w", err)
	}
	n := 0
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(filepath.Join(dir, e.Name()), fi.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("meta: data directory: %w", err)
		}
		n++
	}
	if n > 0 && logger != nil {
		logger.Printf("made %d files in the data directory %s private to their owner (mode 0600)", n, dir)
	}
	return nil
}

// badgerFile reports whether name is one of the files Badger keeps in its
// directory.
func badgerFile(name string) bool {
	switch name {
	case "MANIFEST", "KEYREGISTRY", "DISCARD", "LOCK":
		return true
	}
	for _, ext := range []string{".vlog", ".sst", ".mem"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// checkWholeDir refuses, before Badger sees it, a directory that is not
// empty and has no MANIFEST: Badger would create a new, empty store there
// and delete the tables the missing manifest listed. A directory holding
// only a stale LOCK or KEYREGISTRY (a first start killed at once) is
// treated as empty.
func checkWholeDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("meta: data directory: %w", err)
	}
	var others []string
	manifest := false
	for _, e := range ents {
		switch e.Name() {
		case "MANIFEST":
			manifest = true
		case "LOCK", "KEYREGISTRY", "lost+found":
		default:
			others = append(others, e.Name())
		}
	}
	if manifest || len(others) == 0 {
		return nil
	}
	sort.Strings(others)
	what := strings.Join(others, ", ")
	if len(others) > 5 {
		what = strings.Join(others[:5], ", ") + fmt.Sprintf(" and %d more", len(others)-5)
	}
	if !anyBadgerFile(others) {
		return fmt.Errorf("%w: %s holds files (%s) but no store; give wormfs an empty or new directory", ErrNotWholeStore, dir, what)
	}
	return fmt.Errorf("%w: %s has store files (%s) but no MANIFEST; restore the missing file from a backup (wormfs never creates a store over existing files, and nothing was changed)", ErrNotWholeStore, dir, what)
}

func anyBadgerFile(names []string) bool {
	for _, n := range names {
		if badgerFile(n) {
			return true
		}
	}
	return false
}
