// Command metaops times metadata operations on a mounted file system for
// bench/mount.sh: create (open O_CREAT|O_EXCL + close), stat, readdir and
// unlink of N files in one new directory, one phase after another.
//
// Between phases it sleeps -settle (default 2 s, longer than the 1 s entry
// and attribute timeouts of both mounts under test) so that stat and unlink
// go to the file system and are not answered from the kernel's caches.
//
// Output, one line per phase: "PHASE OPS SECONDS OPS_PER_SECOND".
// Readdir lists the directory -passes times; its OPS count entries.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	dir := flag.String("dir", "", "directory to create (must not exist; its parent must)")
	n := flag.Int("n", 10000, "number of files")
	passes := flag.Int("passes", 5, "readdir passes")
	settle := flag.Duration("settle", 2*time.Second, "pause between phases (> the mount's attribute timeout)")
	flag.Parse()
	if *dir == "" || *n <= 0 || *passes <= 0 {
		fmt.Fprintln(os.Stderr, "usage: metaops -dir DIR [-n N] [-passes P] [-settle D]")
		os.Exit(2)
	}
	if err := run(*dir, *n, *passes, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "metaops:", err)
		os.Exit(1)
	}
}

func run(dir string, n, passes int, settle time.Duration) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, n)
	for i := range names {
		names[i] = filepath.Join(dir, fmt.Sprintf("file-%06d", i))
	}
	phase := func(name string, ops int, f func() error) error {
		time.Sleep(settle)
		start := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		d := time.Since(start).Seconds()
		fmt.Printf("%s %d %.3f %.0f\n", name, ops, d, float64(ops)/d)
		return nil
	}
	if err := phase("create", n, func() error {
		for _, p := range names {
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := phase("stat", n, func() error {
		for _, p := range names {
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			if !st.Mode().IsRegular() || st.Size() != 0 {
				return fmt.Errorf("%s: mode %v size %d, want an empty regular file", p, st.Mode(), st.Size())
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := phase("readdir", n*passes, func() error {
		for i := 0; i < passes; i++ {
			ents, err := os.ReadDir(dir)
			if err != nil {
				return err
			}
			if len(ents) != n {
				return fmt.Errorf("pass %d: %d entries, want %d", i, len(ents), n)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := phase("unlink", n, func() error {
		for _, p := range names {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) != 0 {
		return fmt.Errorf("after unlink: %d entries left", len(ents))
	}
	return os.Remove(dir)
}
