package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"github.com/wormfs/wormfs/meta"
)

func openAuditStore(c *cli.Context) (*meta.Store, error) {
	s, err := meta.OpenReadOnly(c.String("data"))
	if errors.Is(err, meta.ErrLocked) {
		return nil, exitf(3, "%v: the daemon is running; stop it, or read the log through the mount", err)
	}
	if err != nil {
		return nil, exitf(1, "open %s: %v", c.String("data"), err)
	}
	return s, nil
}

// auditMountFlag reads the log through a running mount instead of the
// store, which the daemon holds open.
func auditMountFlag() cli.Flag {
	return &cli.StringFlag{Name: "mount", Usage: "read the log through this running wormfs mount (DIR/.wormfs/audit) instead of opening the store"}
}

// wormfsMountPoint resolves dir and checks that it is itself the mount
// point of a wormfs FUSE mount (/proc/self/mountinfo) made by root or by
// the caller: any other DIR/.wormfs/audit is a file anybody could write.
func wormfsMountPoint(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", exitf(1, "%s: %v", dir, err)
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", exitf(1, "read /proc/self/mountinfo: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		sep := slices.Index(fields, "-")
		if sep < 5 || sep+3 >= len(fields) || unescapeMount(fields[4]) != abs {
			continue
		}
		fstype, source := fields[sep+1], unescapeMount(fields[sep+2])
		if fstype != "fuse."+fsNamePrefix && fstype != "fuse" {
			continue
		}
		if source != fsNamePrefix && !strings.HasPrefix(source, fsNamePrefix+":") {
			continue
		}
		for _, o := range strings.Split(fields[sep+3], ",") {
			if uid, ok := strings.CutPrefix(o, "user_id="); ok && (uid == "0" || uid == strconv.Itoa(os.Geteuid())) {
				return abs, nil
			}
		}
	}
	return "", exitf(2, "%s is not the mount point of a running wormfs mount (of root or of this user); give the directory wormfs serve --mount was given", dir)
}

// readMountAudit reads DIR/.wormfs/audit of the wormfs mount at DIR: one
// JSON record a line.
func readMountAudit(dir string) ([]byte, []meta.AuditRecord, error) {
	root, err := wormfsMountPoint(dir)
	if err != nil {
		return nil, nil, err
	}
	p := filepath.Join(root, ".wormfs", "audit")
	b, err := readNoFollow(p)
	if err != nil {
		return nil, nil, exitf(1, "read %s: %v (is %s a running wormfs mount?)", p, err, dir)
	}
	var recs []meta.AuditRecord
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var r meta.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, nil, exitf(4, "%s line %d: not an audit record: %v", p, n, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, exitf(1, "read %s: %v", p, err)
	}
	return b, recs, nil
}

// readNoFollow reads the file p without following a symlink at its end.
func readNoFollow(p string) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func expectFlag() cli.Flag {
	return &cli.StringFlag{Name: "expect", Usage: "an audit head kept from before (SEQ:HASH, as `wormfs audit head` prints it and every start logs it): the chain must still hold it"}
}

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "print the hash-chained audit log of lock-relevant changes, one JSON record a line",
		Flags: []cli.Flag{dataFlag(), auditMountFlag()},
		Action: func(c *cli.Context) error {
			if dir := c.String("mount"); dir != "" {
				b, _, err := readMountAudit(dir)
				if err != nil {
					return err
				}
				_, err = c.App.Writer.Write(b)
				return err
			}
			s, err := openAuditStore(c)
			if err != nil {
				return err
			}
			defer s.Close()
			enc := json.NewEncoder(c.App.Writer)
			return s.Audit(1, func(r meta.AuditRecord) error { return enc.Encode(r) })
		},
		Subcommands: []*cli.Command{{
			Name:  "head",
			Usage: "print the audit head (SEQ:HASH) of a stopped store or a running mount, to keep elsewhere",
			Flags: []cli.Flag{dataFlag(), auditMountFlag()},
			Action: func(c *cli.Context) error {
				var head meta.AuditAnchor
				if dir := c.String("mount"); dir != "" {
					_, recs, err := readMountAudit(dir)
					if err != nil {
						return err
					}
					if _, err := meta.VerifyAuditRecords(recs); err != nil {
						return exitf(4, "audit chain broken: %v", err)
					}
					if len(recs) > 0 {
						head = meta.AuditAnchor{Seq: recs[len(recs)-1].Seq, Hash: recs[len(recs)-1].Hash}
					}
				} else {
					s, err := openAuditStore(c)
					if err != nil {
						return err
					}
					defer s.Close()
					if head.Seq, head.Hash, err = s.AuditHead(); err != nil {
						return exitf(1, "audit head: %v", err)
					}
				}
				if head.Seq == 0 {
					fmt.Fprintln(c.App.Writer, "0: (empty audit log)")
					return nil
				}
				fmt.Fprintln(c.App.Writer, head.String())
				return nil
			},
		}, {
			Name:  "verify",
			Usage: "check the audit chain (and with --expect, that it still holds a kept head) and name the first broken record",
			Flags: []cli.Flag{dataFlag(), auditMountFlag(), expectFlag()},
			Action: func(c *cli.Context) error {
				var anchor *meta.AuditAnchor
				if e := c.String("expect"); e != "" {
					a, err := meta.ParseAuditAnchor(e)
					if err != nil {
						return exitf(2, "--expect: %v", err)
					}
					anchor = &a
				}
				var n int
				var err error
				if dir := c.String("mount"); dir != "" {
					var recs []meta.AuditRecord
					if _, recs, err = readMountAudit(dir); err != nil {
						return err
					}
					if anchor != nil {
						n, err = meta.VerifyAuditRecordsAgainst(recs, *anchor)
					} else {
						n, err = meta.VerifyAuditRecords(recs)
					}
				} else {
					s, oerr := openAuditStore(c)
					if oerr != nil {
						return oerr
					}
					defer s.Close()
					if anchor != nil {
						n, err = s.VerifyAuditAgainst(*anchor)
					} else {
						n, err = s.VerifyAudit()
					}
				}
				var br *meta.AuditBreak
				if errors.As(err, &br) {
					return exitf(4, "audit chain broken at record %d: %s (%d records checked)", br.Seq, br.Reason, n)
				}
				if err != nil {
					return exitf(1, "verify: %v", err)
				}
				if anchor != nil {
					fmt.Fprintf(c.App.Writer, "audit chain intact: %d records, holding the kept head %d\n", n, anchor.Seq)
					return nil
				}
				fmt.Fprintf(c.App.Writer, "audit chain intact: %d records\n", n)
				return nil
			},
		}},
	}
}
