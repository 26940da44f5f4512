// Command metaops times metadata operations on a mounted file system for
// bench/mount.sh: create (open O_CREAT|O_EXCL + close), stat, readdir and
// unlink of N files in one new directory, one phase after another.
//
// Between phases it sleeps -settle (default 2 s, longer than the 1 s entry
// and attribute timeouts of both mounts under test) so that stat and unlink
// go to the file system and are not answered from the kernel's caches.
//
// Output, one line per phase: "PHASE OPS SECONDS OPS_PER_SECOND", and with
// -pid the file system daemon's CPU time (user+system, from /proc/PID/stat)
// per operation in microseconds as a fifth field.
// Readdir lists the directory -passes times; its OPS count entries.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux architecture Go supports).
const clockTick = 100

// cpuTime returns the user+system CPU time of pid.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	var ticks int64
	for _, x := range f[11:13] { // utime, stime (fields 14 and 15)
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %v", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

func main() {
	dir := flag.String("dir", "", "directory to create (must not exist; its parent must)")
	n := flag.Int("n", 10000, "number of files")
	passes := flag.Int("passes", 5, "readdir passes")
	settle := flag.Duration("settle", 2*time.Second, "pause between phases (> the mount's attribute timeout)")
	pid := flag.Int("pid", 0, "file system daemon whose CPU time per operation to report (0: none)")
	flag.Parse()
	if *dir == "" || *n <= 0 || *passes <= 0 {
		fmt.Fprintln(os.Stderr, "usage: metaops -dir DIR [-n N] [-passes P] [-settle D]")
		os.Exit(2)
	}
	if err := run(*dir, *n, *passes, *settle, *pid); err != nil {
		fmt.Fprintln(os.Stderr, "metaops:", err)
		os.Exit(1)
	}
}

func run(dir string, n, passes int, settle time.Duration, pid int) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, n)
	for i := range names {
		names[i] = filepath.Join(dir, fmt.Sprintf("file-%06d", i))
	}
	phase := func(name string, ops int, f func() error) error {
		time.Sleep(settle)
		var cpu0 time.Duration
		if pid > 0 {
			var err error
			if cpu0, err = cpuTime(pid); err != nil {
				return err
			}
		}
		start := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		d := time.Since(start).Seconds()
		fmt.Printf("%s %d %.3f %.0f", name, ops, d, float64(ops)/d)
		if pid > 0 {
			cpu1, err := cpuTime(pid)
			if err != nil {
				return err
			}
			fmt.Printf(" %.1f", float64((cpu1-cpu0).Microseconds())/float64(ops))
		}
		fmt.Println()
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
