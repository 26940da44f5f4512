package integration

// listxattr lists only the names a copy can set (SPEC §5; issue 16 item
// 8): cp --preserve=xattr, rsync -aX and mv across buckets copy a file's
// lock and user attributes and succeed. Before the fix they listed the
// read-only user.s3.version-id and user.s3.lockstatus, then failed setting
// them on the copy (rsync rc 23, cp rc 1, mv warnings).

import (
	"os/exec"
	"strings"
	"testing"
)

func TestMountXattrCopiesKeepLocks(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skip("rsync is not installed")
	}
	e := testMount(t)
	e.mkbucket("src")
	e.mkbucket("dst")
	e.mustSh(`echo record > src/a && setfattr -n user.s3.retention -v "GOVERNANCE +2d" src/a && setfattr -n user.s3.legalhold -v ON src/a && setfattr -n user.note -v hello src/a`)
	want := e.mustSh(`getfattr --absolute-names --only-values -n user.s3.retention src/a`)
	if list := e.mustSh(`getfattr --absolute-names -d -m - src/a`); strings.Contains(list, "version-id") || strings.Contains(list, "lockstatus") {
		t.Errorf("listxattr lists a read-only name:\n%s", list)
	}
	if got := e.mustSh(`getfattr --absolute-names --only-values -n user.s3.version-id src/a`); got == "" {
		t.Error("user.s3.version-id no longer reads by name")
	}
	for _, c := range []struct{ name, cmd, copy string }{
		{"cp --preserve=xattr", `cp --preserve=xattr src/a dst/cp`, "dst/cp"},
		{"cp -a", `cp -a src/a dst/cpa`, "dst/cpa"},
		{"rsync -aX", `rsync -aX src/a dst/rs`, "dst/rs"},
		{"mv across buckets", `cp src/a src/m && setfattr -n user.s3.retention -v "GOVERNANCE +2d" src/m && mv src/m dst/mv`, "dst/mv"},
	} {
		out, err := e.sh(c.cmd)
		if err != nil || strings.Contains(out, "Operation not") || strings.Contains(out, "warning") {
			t.Errorf("%s: %v\n%s", c.name, err, out)
			continue
		}
		got := e.mustSh(`getfattr --absolute-names --only-values -n user.s3.retention ` + c.copy)
		if c.name != "mv across buckets" && got != want {
			t.Errorf("%s: the copy's retention is %q, want %q", c.name, got, want)
		}
		if got == "" {
			t.Errorf("%s: the copy has no retention", c.name)
		}
		if c.name != "mv across buckets" {
			if hold := e.mustSh(`getfattr --absolute-names --only-values -n user.s3.legalhold ` + c.copy); hold != "ON" {
				t.Errorf("%s: the copy's legal hold is %q, want ON", c.name, hold)
			}
			if note := e.mustSh(`getfattr --absolute-names --only-values -n user.note ` + c.copy); note != "hello" {
				t.Errorf("%s: the copy's user.note is %q", c.name, note)
			}
		}
	}
}
