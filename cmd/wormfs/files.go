package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// The helpers below are thin clients over a running mount: they read and
// write the user.s3.* attributes and the /.wormfs views of SPEC §5, and the
// lock commands use the daemon's control socket when it answers
// (control.go), so they work for anyone who can reach the mount, with the
// kernel's permission checks and the daemon's lock rules deciding.
//
// They are run as root, so a path is never resolved through a symbolic
// link a user could plant: inside the mount every open is an openat2 with
// RESOLVE_NO_SYMLINKS and RESOLVE_NO_XDEV from the mount's root, and a path
// that is not inside a wormfs mount is refused.

// mountedFile is a path inside a wormfs mount, split into what the views
// need.
type mountedFile struct {
	path   string // as given, made absolute
	root   string // the mount point
	rel    string // the path below the mount point
	bucket string
	key    string
}

// fsNamePrefix is the source field go-fuse writes into /proc/self/mountinfo
// for a wormfs mount: "wormfs" when every bucket is a top-level directory,
// "wormfs:BUCKET" with --bucket. Its file system type is fuse.wormfs.
const (
	fsNamePrefix = "wormfs"
	fsType       = "fuse." + fsNamePrefix
)

// fuseSuperMagic is the f_type statfs(2) gives on a FUSE file system.
const fuseSuperMagic = 0x65735546

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

// wormfsMount finds the wormfs mount that holds abs: its mount point and
// source ("" when none does).
func wormfsMount(abs string) (mp, source string, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
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
		fstype, src := fields[sep+1], unescapeMount(fields[sep+2])
		if fstype != fsType || src != fsNamePrefix && !strings.HasPrefix(src, fsNamePrefix+":") {
			continue
		}
		m := unescapeMount(fields[4])
		if (abs == m || strings.HasPrefix(abs, strings.TrimSuffix(m, "/")+"/")) && len(m) > len(mp) {
			mp, source = m, src
		}
	}
	return mp, source, sc.Err()
}

func locate(p string) (*mountedFile, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	best, bestSource, err := wormfsMount(abs)
	if err != nil {
		return nil, err
	}
	if best == "" && os.Geteuid() != 0 {
		// Reached through a link outside the mount: resolve the directory
		// (not the file itself, which may be a symlink object of its own).
		// Root never follows links here.
		if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
			abs = filepath.Join(dir, filepath.Base(abs))
			if best, bestSource, err = wormfsMount(abs); err != nil {
				return nil, err
			}
		}
	}
	if best == "" {
		return nil, fmt.Errorf("%s is not inside a wormfs mount", p)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(abs, best), "/")
	m := &mountedFile{path: abs, root: best, rel: rel}
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

// versionsRel is the key's directory in the versions view, below the
// mount point.
func (m *mountedFile) versionsRel() string {
	return filepath.Join(".wormfs", "versions", m.bucket, m.key)
}

func (m *mountedFile) versionsDir() string {
	return filepath.Join(m.root, m.versionsRel())
}

// openRoot opens the mount point itself, with no link on the way, and
// checks that it is a FUSE file system.
func (m *mountedFile) openRoot() (int, error) {
	fd, err := unix.Openat2(unix.AT_FDCWD, m.root, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS})
	if err != nil {
		return -1, fmt.Errorf("%s: %w", m.root, err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil || st.Type != fuseSuperMagic {
		unix.Close(fd)
		return -1, fmt.Errorf("%s is not a wormfs mount", m.root)
	}
	return fd, nil
}

// open opens rel (below the mount point) without following any symbolic
// link and without leaving the mount.
func (m *mountedFile) open(rel string, flags int, mode uint32) (*os.File, error) {
	root, err := m.openRoot()
	if err != nil {
		return nil, err
	}
	defer unix.Close(root)
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW), Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
	if flags&unix.O_CREAT != 0 {
		how.Mode = uint64(mode)
	}
	for {
		fd, err := unix.Openat2(root, rel, how)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: filepath.Join(m.root, rel), Err: err}
		}
		return os.NewFile(uintptr(fd), filepath.Join(m.root, rel)), nil
	}
}

// openPath opens rel as an O_PATH descriptor (for attributes: no read
// permission needed).
func (m *mountedFile) openPath(rel string) (*os.File, error) {
	return m.open(rel, unix.O_PATH, 0)
}

// fdPath names an open descriptor for the *xattr calls, which do not
// take O_PATH descriptors: the kernel resolves the magic link to exactly
// the opened file (which is never a symbolic link, see open).
func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

func getxattr(path, name string) (string, error) {
	buf := make([]byte, 512)
	for {
		n, err := unix.Getxattr(path, name, buf)
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

// fileXattr reads an attribute of rel in the mount.
func (m *mountedFile) getxattr(rel, name string) (string, error) {
	f, err := m.openPath(rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return getxattr(fdPath(f), name)
}

// setxattr sets an attribute of rel in the mount.
func (m *mountedFile) setxattr(rel, name, value string) error {
	f, err := m.openPath(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Setxattr(fdPath(f), name, []byte(value), 0)
}

// explain turns an errno from the mount into a sentence.
func explain(m *mountedFile, what string, err error) error {
	path := m.path
	switch {
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		status, _ := m.getxattr(m.rel, "user.s3.lockstatus")
		if status != "" {
			return exitf(5, "%s: %s refused by the lock rules (%s)", path, what, status)
		}
		return exitf(5, "%s: %s refused: %v", path, what, err)
	case errors.Is(err, syscall.EINVAL):
		return exitf(2, "%s: %s: the value is malformed", path, what)
	case errors.Is(err, syscall.ENOTSUP):
		return exitf(2, "%s: %s: not a wormfs file", path, what)
	case errors.Is(err, syscall.ELOOP):
		return exitf(2, "%s: %s: a symbolic link on the way (the wormfs commands never follow links)", path, what)
	}
	return exitf(1, "%s: %s: %v", path, what, err)
}

// viaControl sends a lock request for m over the control socket; handled
// is false when no daemon answers (the caller falls back to the mount).
func viaControl(c *cli.Context, m *mountedFile, what string, req controlRequest) (resp controlResponse, handled bool, err error) {
	req.Bucket, req.Key = m.bucket, m.key
	resp, err = controlCall(c, m.root, req)
	if errors.Is(err, errNoControl) {
		return resp, false, nil
	}
	if err != nil {
		return resp, true, exitf(1, "%s: %s: %v", m.path, what, err)
	}
	if !resp.OK {
		errno := errnoOfName(resp.Errno)
		if errno == syscall.EPERM || errno == syscall.EACCES {
			return resp, true, exitf(5, "%s: %s refused by the lock rules (%s)", m.path, what, resp.Error)
		}
		return resp, true, explain(m, what, fmt.Errorf("%w: %s", errno, resp.Error))
	}
	return resp, true, nil
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
			d, err := m.open(m.versionsRel(), unix.O_RDONLY|unix.O_DIRECTORY, 0)
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
				rel := filepath.Join(m.versionsRel(), id)
				vf, err := m.openPath(rel)
				if err != nil {
					return exitf(1, "%v", err)
				}
				st, err := vf.Stat()
				if err != nil {
					vf.Close()
					return exitf(1, "%v", err)
				}
				if st.IsDir() {
					vf.Close()
					continue // keys under FILE/ (FILE is also a directory over S3)
				}
				kind := "version"
				if dm, _ := getxattr(fdPath(vf), "user.s3.delete-marker"); dm == "true" {
					kind = "delete-marker"
				}
				status, _ := getxattr(fdPath(vf), "user.s3.lockstatus")
				vf.Close()
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

// locateArg locates argument i, a file in a mount.
func locateArg(c *cli.Context, i int) (*mountedFile, error) {
	p, err := fileArg(c, i)
	if err != nil {
		return nil, err
	}
	m, err := locate(p)
	if err != nil {
		return nil, exitf(2, "%v", err)
	}
	return m, nil
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
					m, err := locateArg(c, 0)
					if err != nil {
						return err
					}
					v, err := m.getxattr(m.rel, "user.s3.retention")
					if errors.Is(err, unix.ENODATA) {
						fmt.Fprintln(c.App.Writer, "none")
						return nil
					}
					if err != nil {
						return explain(m, "reading retention", err)
					}
					fmt.Fprintln(c.App.Writer, v)
					return nil
				},
			},
			{
				Name:      "set",
				ArgsUsage: "FILE MODE UNTIL|+DURATION",
				Usage:     "MODE is GOVERNANCE or COMPLIANCE; UNTIL an RFC 3339 instant, or +30d / +7y",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "bypass", Usage: "ask for a GOVERNANCE bypass (root or --admin-gid only)"},
					controlFlag(),
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 3 {
						return exitf(2, "usage: wormfs retention set [--bypass] FILE MODE UNTIL|+DURATION")
					}
					m, err := locateArg(c, 0)
					if err != nil {
						return err
					}
					v := strings.ToUpper(c.Args().Get(1)) + " " + c.Args().Get(2)
					if c.Bool("bypass") {
						v += " bypass"
					}
					_, handled, err := viaControl(c, m, "setting retention", controlRequest{Op: "retention", Value: v})
					if err != nil {
						return err
					}
					if !handled {
						if err := m.setxattr(m.rel, "user.s3.retention", v); err != nil {
							return explain(m, "setting retention", err)
						}
					}
					now, _ := m.getxattr(m.rel, "user.s3.retention")
					if now == "" {
						// The caller may not read the file; the daemon set it.
						now = strings.TrimSuffix(v, " bypass")
					}
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
		Usage:     "turn the legal hold of a file's current version on or off (off: lock administrators only)",
		ArgsUsage: "on|off FILE",
		Flags:     []cli.Flag{controlFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return exitf(2, "usage: wormfs legalhold on|off FILE")
			}
			state := strings.ToUpper(c.Args().Get(0))
			if state != "ON" && state != "OFF" {
				return exitf(2, "legal hold is on or off, not %q", c.Args().Get(0))
			}
			m, err := locateArg(c, 1)
			if err != nil {
				return err
			}
			_, handled, err := viaControl(c, m, "setting legal hold", controlRequest{Op: "legalhold", Value: state})
			if err != nil {
				return err
			}
			if !handled {
				if err := m.setxattr(m.rel, "user.s3.legalhold", state); err != nil {
					return explain(m, "setting legal hold", err)
				}
			}
			fmt.Fprintln(c.App.Writer, state)
			return nil
		},
	}
}

// checkVersionID refuses what cannot be a version id (a path).
func checkVersionID(id string) error {
	if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return exitf(2, "%q is not a version id", id)
	}
	return nil
}

func rmVersionCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm-version",
		Usage:     "permanently delete one version (or delete marker) of a file; refused while it is protected",
		ArgsUsage: "FILE VERSION",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "bypass", Usage: "ask for a GOVERNANCE bypass (root or --admin-gid only; never lifts COMPLIANCE or a legal hold)"},
			controlFlag(),
		},
		Action: func(c *cli.Context) error {
			m, id, err := versionArgs(c, "usage: wormfs rm-version [--bypass] FILE VERSION")
			if err != nil {
				return err
			}
			_, handled, err := viaControl(c, m, "deleting version "+id, controlRequest{Op: "rm-version", Version: id, Bypass: c.Bool("bypass")})
			if err != nil {
				return err
			}
			if !handled {
				if c.Bool("bypass") {
					return exitf(1, "%s: a governance bypass needs the daemon's control socket: %v", m.path, errNoControl)
				}
				// An unlink in the versions view: never a bypass.
				dir, err := m.open(m.versionsRel(), unix.O_PATH|unix.O_DIRECTORY, 0)
				if err != nil {
					return exitf(1, "%v", err)
				}
				err = unix.Unlinkat(int(dir.Fd()), id, 0)
				dir.Close()
				if err != nil {
					return explain(m, "deleting version "+id, err)
				}
			}
			fmt.Fprintf(c.App.Writer, "deleted version %s\n", id)
			return nil
		},
	}
}

// versionArgs takes the FILE VERSION arguments of rm-version and restore:
// a well-formed version id and FILE located inside a wormfs mount.
func versionArgs(c *cli.Context, usage string) (*mountedFile, string, error) {
	if c.NArg() != 2 {
		return nil, "", exitf(2, "%s", usage)
	}
	id := c.Args().Get(1)
	if err := checkVersionID(id); err != nil {
		return nil, "", err
	}
	m, err := locateArg(c, 0)
	if err != nil {
		return nil, "", err
	}
	return m, id, nil
}

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "make an old version of a file current again, as a new version",
		ArgsUsage: "FILE VERSION",
		Action: func(c *cli.Context) error {
			m, id, err := versionArgs(c, "usage: wormfs restore FILE VERSION")
			if err != nil {
				return err
			}
			src, err := m.open(filepath.Join(m.versionsRel(), id), unix.O_RDONLY, 0)
			if err != nil {
				return exitf(1, "version %s of %s: %v", id, m.path, err)
			}
			defer src.Close()
			if dm, _ := getxattr(fdPath(src), "user.s3.delete-marker"); dm == "true" {
				return exitf(2, "%s is a delete marker; remove it in the versions view to un-delete the file", id)
			}
			// No link followed on the way or at the end: a symlink planted
			// at FILE (or in a directory above it) is refused, never
			// written through.
			dst, err := m.open(m.rel, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
			if err != nil {
				return explain(m, "restoring", err)
			}
			if _, err := io.Copy(dst, src); err != nil {
				dst.Close()
				return explain(m, "restoring", err)
			}
			if err := dst.Close(); err != nil {
				return explain(m, "restoring", err)
			}
			nv, _ := m.getxattr(m.rel, "user.s3.version-id")
			fmt.Fprintf(c.App.Writer, "restored %s as new version %s\n", id, nv)
			return nil
		},
	}
}
