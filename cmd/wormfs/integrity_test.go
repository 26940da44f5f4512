package main

import (
	"os"
	"path/filepath"
	"testing"
)

// privateDir is a new directory for a data directory: t.TempDir() is
// 0755, which serve refuses (SPEC §1: a data directory others may read).
func privateDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}
