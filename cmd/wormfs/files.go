package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// The helpers below are thin clients over a running mount: they read and
// write the user.s3.* attributes and the /.wormfs views of SPEC §5, so they
// work for anyone who can reach the mount, with the kernel's permission
// checks and the daemon's lock rules deciding.

// mountedFile is a path inside a wormfs mount, split into what the views
// need.
type mountedFile struct {
	path   string // as given, made absolute
	root   string // the mount point
	bucket string
	key    string
}

// fsNamePrefix is the source field go-fuse writes into /proc/self/mountinfo
// for a wormfs mount: "wormfs" when every bucket is a top-level directory,
// "wormfs:BUCKET" with --bucket.
const fsNamePrefix = "wormfs"

// unescapeMount undoes the octal escapes of /proc/self/mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func locate(p string) (*mountedFile, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	// Resolve the directory (not the file itself, which may be a symlink
	// object of its own).
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return nil, err
	}
	abs = filepath.Join(dir, filepath.Base(abs))
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var best, bestSource string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(fields) || len(fields) < 5 {
			continue
		}
		fstype, source := fields[sep+1], unescapeMount(fields[sep+2])
		if fstype != "fuse."+fsNamePrefix && fstype != "fuse" {
			continue
		}
		if source != fsNamePrefix && !strings.HasPrefix(source, fsNamePrefix+":") {
			continue
		}
		mp := unescapeMount(fields[4])
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best, bestSource = mp, source
		}
	}
	if best == "" {
		return nil, fmt.Errorf("%s is not inside a wormfs mount", p)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(abs, best), "/")
	m := &mountedFile{path: abs, root: best}
	if b, ok := strings.CutPrefix(bestSource, fsNamePrefix+":"); ok {
		m.bucket, m.key = b, rel
	} else {
		m.bucket, m.key, _ = strings.Cut(rel, "/")
	}
	if m.bucket == "" || m.key == "" || strings.HasPrefix(rel, ".wormfs") {
		return nil, fmt.Errorf("%s is not a file in a bucket", p)
	}
	return m, nil
}

func (m *mountedFile) versionsDir() string {
	return filepath.Join(m.root, ".wormfs", "versions", m.bucket, m.key)
}

func getxattr(path, name string) (string, error) {
	buf := make([]byte, 512)
	for {
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
}

// explain turns an errno from the mount into a sentence.
func explain(path, what string, err error) error {
	switch {
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		status, _ := getxattr(path, "user.s3.lockstatus")
		if status != "" {
			return exitf(5, "%s: %s refused by the lock rules (%s)", path, what, status)
		}
		return exitf(5, "%s: %s refused: %v", path, what, err)
	case errors.Is(err, syscall.EINVAL):
		return exitf(2, "%s: %s: the value is malformed", path, what)
	case errors.Is(err, syscall.ENOTSUP):
		return exitf(2, "%s: %s: not a wormfs file", path, what)
	}
	return exitf(1, "%s: %s: %v", path, what, err)
}

func fileArg(c *cli.Context, i int) (string, error) {
	if c.NArg() <= i {
		return "", exitf(2, "missing argument; usage: wormfs %s %s", c.Command.FullName(), c.Command.ArgsUsage)
	}
	return c.Args().Get(i), nil
}

func versionsCommand() *cli.Command {
	return &cli.Command{
		Name:      "versions",
		Usage:     "list every version and delete marker of a file in a mount, newest first",
		ArgsUsage: "FILE",
		Action: func(c *cli.Context) error {
			p, err := fileArg(c, 0)
			if err != nil {
				return err
			}
			m, err := locate(p)
			if err != nil {
				return exitf(2, "%v", err)
			}
			d, err := os.Open(m.versionsDir())
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return exitf(1, "%s: no versions", p)
				}
				return exitf(1, "%v", err)
			}
			defer d.Close()
			names, err := d.Readdirnames(-1) // the view's order: newest first
			if err != nil {
				return exitf(1, "%v", err)
			}
			w := c.App.Writer
			first := true
			for _, id := range names {
				vp := filepath.Join(m.versionsDir(), id)
				st, err := os.Lstat(vp)
				if err != nil {
					return exitf(1, "%v", err)
				}
				if st.IsDir() {
					continue // keys under FILE/ (FILE is also a directory over S3)
				}
				kind := "version"
				if dm, _ := getxattr(vp, "user.s3.delete-marker"); dm == "true" {
					kind = "delete-marker"
				}
				status, _ := getxattr(vp, "user.s3.lockstatus")
				latest := ""
				if first {
					latest, first = " latest", false
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s%s\n", id, kind, st.Size(), st.ModTime().UTC().Format("2006-01-02T15:04:05Z"), status, latest)
			}
			return nil
		},
	}
}

func retentionCommand() *cli.Command {
	return &cli.Command{
		Name:  "retention",
		Usage: "read or set the retention of a file's current version",
		Subcommands: []*cli.Command{
			{
				Name:      "get",
				ArgsUsage: "FILE",
				Action: func(c *cli.Context) error {
					p, err := fileArg(c, 0)
					if err != nil {
						return err
					}
					v, err := getxattr(p, "user.s3.retention")
					if errors.Is(err, unix.ENODATA) {
						fmt.Fprintln(c.App.Writer, "none")
						return nil
					}
					if err != nil {
						return explain(p, "reading retention", err)
					}
					fmt.Fprintln(c.App.Writer, v)
					return nil
				},
			},
			{
				Name:      "set",
				ArgsUsage: "FILE MODE UNTIL|+DURATION",
				Usage:     "MODE is GOVERNANCE or COMPLIANCE; UNTIL an RFC 3339 instant, or +30d / +7y",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "bypass", Usage: "ask for a GOVERNANCE bypass (root or --bypass-gid only)"}},
				Action: func(c *cli.Context) error {
					if c.NArg() != 3 {
						return exitf(2, "usage: wormfs retention set [--bypass] FILE MODE UNTIL|+DURATION")
					}
					p := c.Args().Get(0)
					v := strings.ToUpper(c.Args().Get(1)) + " " + c.Args().Get(2)
					if c.Bool("bypass") {
						v += " bypass"
					}
					if err := unix.Lsetxattr(p, "user.s3.retention", []byte(v), 0); err != nil {
						return explain(p, "setting retention", err)
					}
					now, _ := getxattr(p, "user.s3.retention")
					fmt.Fprintln(c.App.Writer, now)
					return nil
				},
			},
		},
	}
}

func legalholdCommand() *cli.Command {
	return &cli.Command{
		Name:      "legalhold",
		Usage:     "turn the legal hold of a file's current version on or off",
		ArgsUsage: "on|off FILE",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return exitf(2, "usage: wormfs legalhold on|off FILE")
			}
			state := strings.ToUpper(c.Args().Get(0))
			if state != "ON" && state != "OFF" {
				return exitf(2, "legal hold is on or off, not %q", c.Args().Get(0))
			}
			p := c.Args().Get(1)
			if err := unix.Lsetxattr(p, "user.s3.legalhold", []byte(state), 0); err != nil {
				return explain(p, "setting legal hold", err)
			}
			fmt.Fprintln(c.App.Writer, state)
			return nil
		},
	}
}

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "make an old version of a file current again, as a new version",
		ArgsUsage: "FILE VERSION",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return exitf(2, "usage: wormfs restore FILE VERSION")
			}
			p, id := c.Args().Get(0), c.Args().Get(1)
			if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
				return exitf(2, "%q is not a version id", id)
			}
			m, err := locate(p)
			if err != nil {
				return exitf(2, "%v", err)
			}
			src, err := os.Open(filepath.Join(m.versionsDir(), id))
			if err != nil {
				return exitf(1, "version %s of %s: %v", id, p, err)
			}
			defer src.Close()
			if dm, _ := getxattr(src.Name(), "user.s3.delete-marker"); dm == "true" {
				return exitf(2, "%s is a delete marker; remove it in the versions view to un-delete the file", id)
			}
			dst, err := os.OpenFile(m.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				return explain(p, "restoring", err)
			}
			if _, err := io.Copy(dst, src); err != nil {
				dst.Close()
				return explain(p, "restoring", err)
			}
			if err := dst.Close(); err != nil {
				return explain(p, "restoring", err)
			}
			nv, _ := getxattr(m.path, "user.s3.version-id")
			fmt.Fprintf(c.App.Writer, "restored %s as new version %s\n", id, nv)
			return nil
		},
	}
}
