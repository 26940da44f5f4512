package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func runWormfs(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, wormfsBin, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("wormfs %v hung", args)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("wormfs %v: %v", args, err)
	}
	return string(out), code
}

// TestFileHelpers runs the helpers a person uses on a mounted path against
// a real daemon: retention get/set (absolute, relative, refused shortening),
// legal hold, versions and restore.
func TestFileHelpers(t *testing.T) {
	requireFUSE(t)
	data, mnt := privateDir(t), t.TempDir()
	d := startDaemon(t, "--data", data, "--mount", mnt, "--s3", "")
	d.waitLine(t, `^wormfs: ready`)
	t.Cleanup(func() {
		if isMounted(t, mnt) {
			d.stop(t, syscall.SIGTERM)
		}
	})

	bucket := filepath.Join(mnt, "helpers")
	if err := os.Mkdir(bucket, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(bucket, "ledger.txt")
	for _, content := range []string{"first\n", "second\n"} {
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if out, code := runWormfs(t, "retention", "get", f); code != 0 || strings.TrimSpace(out) != "none" {
		t.Errorf("retention get before any: %q exit %d", out, code)
	}
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	if out, code := runWormfs(t, "retention", "set", f, "governance", until); code != 0 || strings.TrimSpace(out) != "GOVERNANCE "+until {
		t.Errorf("retention set: %q exit %d", out, code)
	}
	// GOVERNANCE to COMPLIANCE is a mode change: refused without the
	// bypass, allowed to root with it.
	if out, code := runWormfs(t, "retention", "set", f, "COMPLIANCE", "+30d"); code != 5 {
		t.Errorf("mode change without --bypass: %q exit %d, want exit 5", out, code)
	}
	if out, code := runWormfs(t, "retention", "set", "--bypass", f, "COMPLIANCE", "+30d"); code != 0 || !strings.HasPrefix(out, "COMPLIANCE ") {
		t.Errorf("retention set relative with bypass: %q exit %d", out, code)
	}
	out, code := runWormfs(t, "retention", "set", f, "COMPLIANCE", until)
	if code != 5 || !strings.Contains(out, "refused by the lock rules") {
		t.Errorf("shortening COMPLIANCE: %q exit %d, want exit 5 and a refusal", out, code)
	}
	if out, code := runWormfs(t, "retention", "set", f, "FOREVER", "+1d"); code != 2 || !strings.Contains(out, "malformed") {
		t.Errorf("unknown mode: %q exit %d", out, code)
	}
	if out, code := runWormfs(t, "legalhold", "on", f); code != 0 || strings.TrimSpace(out) != "ON" {
		t.Errorf("legalhold on: %q exit %d", out, code)
	}
	if out, code := runWormfs(t, "legalhold", "maybe", f); code != 2 {
		t.Errorf("legalhold maybe: %q exit %d", out, code)
	}

	out, code = runWormfs(t, "versions", f)
	if code != 0 {
		t.Fatalf("versions: %q exit %d", out, code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("versions printed %d lines, want 2:\n%s", len(lines), out)
	}
	newest, oldest := strings.Fields(lines[0]), strings.Fields(lines[1])
	if !strings.HasSuffix(lines[0], "latest") || !strings.Contains(lines[0], "protected") || newest[1] != "version" || newest[2] != "7" {
		t.Errorf("newest line %q: want the latest, protected 7-byte version", lines[0])
	}
	if oldest[2] != "6" || !strings.Contains(lines[1], "unprotected") {
		t.Errorf("oldest line %q: want the unprotected 6-byte version", lines[1])
	}

	// Restore the first version: a new version with its bytes; the locked
	// one stays.
	if out, code := runWormfs(t, "restore", f, oldest[0]); code != 0 || !strings.Contains(out, "restored "+oldest[0]) {
		t.Fatalf("restore: %q exit %d", out, code)
	}
	if b, _ := os.ReadFile(f); string(b) != "first\n" {
		t.Errorf("after restore the file reads %q", b)
	}
	out, _ = runWormfs(t, "versions", f)
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 3 {
		t.Errorf("after restore %d versions, want 3:\n%s", n, out)
	}
	if out, code := runWormfs(t, "restore", f, "no-such-version"); code == 0 {
		t.Errorf("restore of a missing version succeeded: %q", out)
	}

	// Unlink leaves a delete marker, shown by versions.
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	out, _ = runWormfs(t, "versions", f)
	first := strings.Split(strings.TrimSpace(out), "\n")[0]
	if !strings.Contains(first, "delete-marker") {
		t.Errorf("after rm the newest entry is %q, want a delete marker", first)
	}
	if out, code := runWormfs(t, "versions", filepath.Join(t.TempDir(), "x")); code != 2 || !strings.Contains(out, "not inside a wormfs mount") {
		t.Errorf("versions outside a mount: %q exit %d", out, code)
	}
}
