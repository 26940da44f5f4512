package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version of wormfs and of the libraries it is built with",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "wormfs %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					switch d.Path {
					case "github.com/hanwen/go-fuse/v2", "github.com/dgraph-io/badger/v4":
						fmt.Fprintf(c.App.Writer, "  %s %s\n", d.Path, d.Version)
					}
				}
			}
			return nil
		},
	}
}
