package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/wormfs/wormfs/meta"
)

func fsckCommand() *cli.Command {
	return &cli.Command{
		Name:      "fsck",
		Usage:     "check a stopped store (key schema, chunk references and accounting, checksums, audit chain); changes nothing",
		ArgsUsage: " ",
		Flags:     []cli.Flag{dataFlag()},
		Action: func(c *cli.Context) error {
			dir := c.String("data")
			problems := 0
			stats, err := meta.Fsck(dir, func(p meta.Problem) {
				problems++
				fmt.Fprintln(c.App.Writer, "problem:", p.String())
			})
			if errors.Is(err, meta.ErrLocked) {
				return exitf(3, "%v: fsck needs the daemon stopped", err)
			}
			if err != nil {
				return exitf(1, "fsck %s: %v", dir, err)
			}
			fmt.Fprintf(c.App.Writer, "checked %d buckets, %d versions, %d delete markers, %d chunks (%d bytes), %d staged chunks, %d uploads, %d parts, %d audit records\n",
				stats.Buckets, stats.Versions, stats.DeleteMarkers, stats.Chunks, stats.Bytes, stats.StagedChunks, stats.Uploads, stats.Parts, stats.AuditRecords)
			if problems > 0 {
				return exitf(4, "%d problems found", problems)
			}
			fmt.Fprintln(c.App.Writer, "no problems found")
			return nil
		},
	}
}
