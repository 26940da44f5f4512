package integration

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes what the run built outside t.TempDir (the wormfs binary
// of the history tests), so a test run leaves nothing behind in $TMPDIR.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
