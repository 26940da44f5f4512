package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

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

// readMountAudit reads DIR/.wormfs/audit: one JSON record a line.
func readMountAudit(dir string) ([]byte, []meta.AuditRecord, error) {
	p := filepath.Join(dir, ".wormfs", "audit")
	b, err := os.ReadFile(p)
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
			Name:  "verify",
			Usage: "check the audit chain and name the first broken record",
			Flags: []cli.Flag{dataFlag(), auditMountFlag()},
			Action: func(c *cli.Context) error {
				var n int
				var err error
				if dir := c.String("mount"); dir != "" {
					var recs []meta.AuditRecord
					if _, recs, err = readMountAudit(dir); err != nil {
						return err
					}
					n, err = meta.VerifyAuditRecords(recs)
				} else {
					s, oerr := openAuditStore(c)
					if oerr != nil {
						return oerr
					}
					defer s.Close()
					n, err = s.VerifyAudit()
				}
				var br *meta.AuditBreak
				if errors.As(err, &br) {
					return exitf(4, "audit chain broken at record %d: %s (%d records checked)", br.Seq, br.Reason, n)
				}
				if err != nil {
					return exitf(1, "verify: %v", err)
				}
				fmt.Fprintf(c.App.Writer, "audit chain intact: %d records\n", n)
				return nil
			},
		}},
	}
}
