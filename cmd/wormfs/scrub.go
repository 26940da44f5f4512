package main

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/wormfs/wormfs/meta"
)

// scrubCommand is `wormfs scrub`: read every stored chunk of a stopped
// store and check it against its CRC32C, with progress; exit code 4 when
// any chunk is damaged (each is listed with the versions that use it).
func scrubCommand() *cli.Command {
	return &cli.Command{
		Name:      "scrub",
		Usage:     "verify every stored chunk of a stopped store against its CRC32C (progress on stderr); exit code 4 on damage",
		ArgsUsage: " ",
		Flags:     []cli.Flag{dataFlag()},
		Action: func(c *cli.Context) error {
			dir := c.String("data")
			st, err := meta.OpenReadOnly(dir)
			if errors.Is(err, meta.ErrLocked) {
				return exitf(3, "%v: scrub needs the daemon stopped", err)
			}
			if err != nil {
				return exitf(1, "scrub %s: %v", dir, err)
			}
			defer st.Close()
			errw := c.App.ErrWriter
			start, last := time.Now(), time.Time{}
			bad, err := st.Scrub(c.Context, func(done, total int64) {
				if now := time.Now(); now.Sub(last) >= time.Second || done == total {
					last = now
					pct := 100.0
					if total > 0 {
						pct = 100 * float64(done) / float64(total)
					}
					fmt.Fprintf(errw, "scrub: %d of %d bytes checked (%.1f%%)\n", done, total, pct)
				}
			})
			if err != nil {
				return exitf(1, "scrub %s: %v", dir, err)
			}
			if len(bad) == 0 {
				fmt.Fprintf(c.App.Writer, "scrub: no damage found (%s)\n", time.Since(start).Round(time.Millisecond))
				return nil
			}
			ids := make([]uint64, len(bad))
			for i, b := range bad {
				ids[i] = b.ID
			}
			users, uerr := st.ChunkUsers(ids)
			for _, b := range bad {
				fmt.Fprintln(c.App.Writer, "damaged:", b.String())
				names := users[b.ID]
				sort.Strings(names)
				for _, n := range names {
					fmt.Fprintln(c.App.Writer, "  used by", n)
				}
			}
			if uerr != nil {
				fmt.Fprintln(errw, "scrub: listing the versions that use the damaged chunks:", uerr)
			}
			return exitf(4, "%d damaged chunks", len(bad))
		},
	}
}
