package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"github.com/wormfs/wormfs/meta"
)

// credentialsCommand shows or replaces the generated root pair of a
// stopped store: the only other place it is ever printed is the log of the
// first start that succeeded.
func credentialsCommand() *cli.Command {
	return &cli.Command{
		Name:  "credentials",
		Usage: "show or rotate the generated S3 root credentials of a stopped store (root only: they are read from the data directory)",
		Subcommands: []*cli.Command{{
			Name:      "show",
			Usage:     "print the stored root access key and secret key",
			ArgsUsage: " ",
			Flags:     []cli.Flag{dataFlag()},
			Action: func(c *cli.Context) error {
				s, err := openCredentialStore(c, false)
				if err != nil {
					return err
				}
				defer s.Close()
				cr, err := storedCredentials(s)
				if errors.Is(err, meta.ErrNoSuchKey) {
					return exitf(1, "no generated credentials in %s (the daemon was always given --access-key/--secret-key, or never started successfully)", c.String("data"))
				}
				if err != nil {
					return exitf(1, "%v", err)
				}
				fmt.Fprintf(c.App.Writer, "access key %s\nsecret key %s\n", cr.AccessKey, cr.SecretKey)
				return nil
			},
		}, {
			Name:      "rotate",
			Usage:     "replace the stored root pair by a new random one and print it (the old pair stops working at the next start)",
			ArgsUsage: " ",
			Flags:     []cli.Flag{dataFlag()},
			Action: func(c *cli.Context) error {
				s, err := openCredentialStore(c, true)
				if err != nil {
					return err
				}
				cr := newCredentials()
				if err := storeCredentials(s, cr); err != nil {
					s.Close()
					return exitf(1, "%v", err)
				}
				if err := s.Close(); err != nil {
					return exitf(1, "close store: %v", err)
				}
				fmt.Fprintf(c.App.Writer, "new root credentials (the daemon uses them from its next start):\naccess key %s\nsecret key %s\n", cr.AccessKey, cr.SecretKey)
				return nil
			},
		}},
	}
}

func openCredentialStore(c *cli.Context, write bool) (*meta.Store, error) {
	dir := c.String("data")
	if _, err := os.Stat(dir); err != nil {
		return nil, exitf(1, "data directory: %v", err)
	}
	if err := meta.CheckDataDir(dir); err != nil {
		return nil, exitf(2, "%v", err)
	}
	var s *meta.Store
	var err error
	if write {
		meta.RestrictUmask()
		s, err = meta.Open(meta.Options{Dir: dir, GCInterval: -1})
	} else {
		s, err = meta.OpenReadOnly(dir)
	}
	if errors.Is(err, meta.ErrLocked) {
		return nil, exitf(3, "%v: stop the daemon first", err)
	}
	if err != nil {
		return nil, exitf(1, "open %s: %v", dir, err)
	}
	return s, nil
}
