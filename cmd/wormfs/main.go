// Command wormfs runs the wormfs daemon (a FUSE mount and an S3 listener over
// one embedded Badger store) and the tools that go with it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitError carries an exit code out of an action.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

func newApp() *cli.App {
	return &cli.App{
		Name:                 "wormfs",
		Usage:                "a mounted directory with the guarantees of S3 Object Lock",
		Version:              version,
		EnableBashCompletion: false,
		HideHelpCommand:      true,
		Commands: []*cli.Command{
			serveCommand(),
			fsckCommand(),
			scrubCommand(),
			auditCommand(),
			credentialsCommand(),
			versionsCommand(),
			retentionCommand(),
			legalholdCommand(),
			restoreCommand(),
			rmVersionCommand(),
			versionCommand(),
		},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := newApp().RunContext(ctx, os.Args)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wormfs:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}
