package main

import (
	"testing"

	"github.com/urfave/cli/v2"
)

// TestAdminGIDRange: --admin-gid (and its old name --bypass-gid) takes -1
// or a gid that fits a uint32 and is not (gid_t)-1; before issue 14
// --bypass-gid 4294972297 wrapped silently to gid 5001.
func TestAdminGIDRange(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want int
		ok   bool
	}{
		{"default", nil, -1, true},
		{"admin", []string{"--admin-gid", "4242"}, 4242, true},
		{"old name", []string{"--bypass-gid", "4242"}, 4242, true},
		{"zero", []string{"--admin-gid", "0"}, 0, true},
		{"largest", []string{"--admin-gid", "4294967294"}, 4294967294, true},
		{"(gid_t)-1", []string{"--admin-gid", "4294967295"}, 0, false},
		{"wraps", []string{"--bypass-gid", "4294972297"}, 0, false},
		{"negative", []string{"--admin-gid", "-2"}, 0, false},
		{"disagree", []string{"--admin-gid", "1", "--bypass-gid", "2"}, 0, false},
	}
	for _, c := range cases {
		var got int
		var err error
		app := &cli.App{Flags: controlFlags(), Action: func(ctx *cli.Context) error {
			got, err = adminGID(ctx)
			return nil
		}}
		if runErr := app.Run(append([]string{"wormfs"}, c.args...)); runErr != nil {
			t.Fatalf("%s: %v", c.name, runErr)
		}
		if c.ok && (err != nil || got != c.want) || !c.ok && err == nil {
			t.Errorf("%s: got %d, %v; want %d ok=%v", c.name, got, err, c.want, c.ok)
		}
	}
}
