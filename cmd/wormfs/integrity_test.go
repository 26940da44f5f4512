package main

// Daemon-level tests of issue 14, the store side (items 7, 10, 11, 12):
// they run the real binary as an operator would. Each was run against the
// binary of the code before the fix and failed there (see the commit
// message).

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/wormfs/wormfs/meta"
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

// runServe runs `wormfs serve` expecting it to fail at once and returns
// its output and exit code.
func runServe(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wormfsBin, append([]string{"serve"}, args...)...)
	cmd.Env = append(append(os.Environ(), "WORMFS_ACCESS_KEY=", "WORMFS_SECRET_KEY="), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("wormfs serve %v did not stop", args)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// startStop starts the daemon on data (S3 only), waits until it is ready,
// stops it and returns its whole stderr.
func startStop(t *testing.T, args ...string) string {
	t.Helper()
	d := startDaemon(t, append([]string{"--s3", freeAddr(t)}, args...)...)
	d.waitLine(t, `^wormfs: ready`)
	werr, rest := d.stop(t, syscall.SIGTERM)
	if werr != nil {
		t.Fatalf("daemon exit: %v\n%s%s", werr, d.stderr.all.String(), rest)
	}
	return d.stderr.all.String() + rest
}

var credRE = regexp.MustCompile(`access key (WORM[A-Z2-7]{16}) secret key (\S{40})`)

// Item 7: a start that fails generates, stores and prints nothing; the
// first start that succeeds does; `credentials show` prints the pair again
// and `credentials rotate` replaces it. Before: a start that failed on a
// missing mount point had already printed and stored a pair "shown once".
func TestServeCredentialsOnlyAfterSuccess(t *testing.T) {
	data := privateDir(t)
	out, code := runServe(t, nil, "--data", data, "--mount", filepath.Join(t.TempDir(), "missing"), "--s3", freeAddr(t))
	if code == 0 || strings.Contains(out, "generated S3 root credentials") || credRE.MatchString(out) {
		t.Fatalf("failed start (exit %d) showed credentials:\n%s", code, out)
	}
	if out, code := runWormfs(t, "credentials", "show", "--data", data); code == 0 || credRE.MatchString(out) {
		t.Fatalf("credentials show after a failed start: exit %d\n%s", code, out)
	}
	log := startStop(t, "--data", data)
	m := credRE.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("first successful start did not show the generated pair:\n%s", log)
	}
	out, code = runWormfs(t, "credentials", "show", "--data", data)
	if code != 0 || !strings.Contains(out, "access key "+m[1]) || !strings.Contains(out, "secret key "+m[2]) {
		t.Fatalf("credentials show: exit %d\n%s", code, out)
	}
	out, code = runWormfs(t, "credentials", "rotate", "--data", data)
	rot := regexp.MustCompile(`access key (WORM[A-Z2-7]{16})\nsecret key (\S{40})`).FindStringSubmatch(out)
	if code != 0 || rot == nil || rot[1] == m[1] || rot[2] == m[2] {
		t.Fatalf("credentials rotate: exit %d\n%s", code, out)
	}
	if log := startStop(t, "--data", data); !strings.Contains(log, "S3 root access key "+rot[1]) || strings.Contains(log, rot[2]) {
		t.Fatalf("restart after rotate does not use the new pair (or prints its secret):\n%s", log)
	}
}

// Item 7: a data directory group or others may reach is refused with the
// chmod to run; the files of a new store are 0600 in a 0700 directory;
// a secret on the command line is warned about, one from a file is not;
// every numeric flag is range-checked. Before: 0755 was used as it was,
// files were 0644, --secret-key-file did not exist and --bypass-gid
// 4294972297 wrapped to gid 5001.
func TestServeSecureDefaults(t *testing.T) {
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o755)
	out, code := runServe(t, nil, "--data", open, "--s3", freeAddr(t))
	if code == 0 || !strings.Contains(out, "chmod 700 "+open) {
		t.Fatalf("serve on a 0755 data dir: exit %d\n%s", code, out)
	}
	if ents, _ := os.ReadDir(open); len(ents) != 0 {
		t.Fatalf("a refused start wrote into the data dir: %v", ents)
	}

	data := filepath.Join(t.TempDir(), "new")
	log := startStop(t, "--data", data, "--access-key", "rootkey", "--secret-key", "rootsecret123")
	if !strings.Contains(log, "warning: --secret-key was given on the command line") {
		t.Errorf("no warning for a secret on the command line:\n%s", log)
	}
	fi, _ := os.Stat(data)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("new data dir mode %v, want 0700", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(data)
	for _, e := range ents {
		if fi, _ := e.Info(); fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}

	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("filesecret123\n"), 0o600)
	log = startStop(t, "--data", data, "--access-key", "rootkey", "--secret-key-file", secret)
	if strings.Contains(log, "warning") {
		t.Errorf("a secret from a file was warned about:\n%s", log)
	}

	for _, args := range [][]string{
		{"--bypass-gid", "4294972297"},
		{"--bypass-gid", "4294967295"},
		{"--bypass-gid", "-2"},
	} {
		out, code := runServe(t, nil, append([]string{"--data", privateDir(t), "--s3", freeAddr(t)}, args...)...)
		if code == 0 || !strings.Contains(out, "--bypass-gid must be") {
			t.Errorf("serve %v: exit %d\n%s", args, code, out)
		}
	}
}

// listing is the names and sizes of the files of dir.
func listing(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		fi, _ := e.Info()
		out = append(out, e.Name()+" "+fi.ModTime().String()+" "+strconv.FormatInt(fi.Size(), 10))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// Item 10: a store whose MANIFEST is gone is refused by serve and fsck,
// and nothing in it is deleted. Before: serve started an empty store and
// deleted every table.
func TestServeMissingManifestRefused(t *testing.T) {
	data := privateDir(t)
	startStop(t, "--data", data)
	// Tables to lose: a flattened LSM tree.
	db, err := badger.Open(meta.BadgerOptions(data))
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("Xfiller"), make([]byte, 100)) })
	db.Flatten(1)
	db.Close()
	if err := os.Remove(filepath.Join(data, "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	before := listing(t, data)
	out, code := runServe(t, nil, "--data", data, "--s3", freeAddr(t))
	if code == 0 || !strings.Contains(out, "MANIFEST") || strings.Contains(out, "ready") {
		t.Fatalf("serve without MANIFEST: exit %d\n%s", code, out)
	}
	if out, code := runWormfs(t, "fsck", "--data", data); code == 0 || !strings.Contains(out, "MANIFEST") {
		t.Fatalf("fsck without MANIFEST: exit %d\n%s", code, out)
	}
	if after := listing(t, data); after != before {
		t.Fatalf("refused starts changed the data dir:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// Item 11: a persisted compliance clock moved forward in a stopped store
// stops serve with a clear message; --accept-clock starts and the
// acceptance is in the audit log. Before: serve started and every lock
// had expired.
func TestServeClockMovedForwardRefused(t *testing.T) {
	data := privateDir(t)
	startStop(t, "--data", data)
	db, err := badger.Open(meta.BadgerOptions(data))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte{'C'}, binary.BigEndian.AppendUint64(nil, uint64(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, code := runServe(t, nil, "--data", data, "--s3", freeAddr(t))
	if code == 0 || !strings.Contains(out, "compliance") || !strings.Contains(out, "--accept-clock") || strings.Contains(out, "ready") {
		t.Fatalf("serve with the clock at 2100: exit %d\n%s", code, out)
	}
	startStop(t, "--data", data, "--accept-clock")
	if out, code := runWormfs(t, "audit", "--data", data); code != 0 || !strings.Contains(out, `"action":"clock-accept"`) {
		t.Fatalf("audit after --accept-clock: exit %d\n%s", code, out)
	}
}

// Item 12: every start logs the audit head; `audit head` prints it;
// `audit verify --expect` accepts the chain that holds it and refuses one
// whose tail was removed; `audit verify --mount` refuses a directory that
// is not a wormfs mount. Before: none of these existed, and --mount read
// any DIR/.wormfs/audit.
func TestAuditHeadAndExpect(t *testing.T) {
	data := privateDir(t)
	startStop(t, "--data", data)
	out, code := runWormfs(t, "audit", "head", "--data", data)
	head := strings.TrimSpace(out)
	if code != 0 || head != "0: (empty audit log)" {
		t.Fatalf("audit head: exit %d %q", code, out)
	}
	// Make a record: the clock moved forward two days, and accepted.
	db, _ := badger.Open(meta.BadgerOptions(data))
	db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte{'C'}, binary.BigEndian.AppendUint64(nil, uint64(time.Now().Add(48*time.Hour).UnixNano())))
	})
	db.Close()
	log := startStop(t, "--data", data, "--accept-clock")
	if !strings.Contains(log, "audit head ") {
		t.Fatalf("start did not log the audit head:\n%s", log)
	}
	out, _ = runWormfs(t, "audit", "head", "--data", data)
	kept := strings.TrimSpace(out)
	if !regexp.MustCompile(`^1:[0-9a-f]{64}$`).MatchString(kept) || !strings.Contains(log, "audit head "+kept) {
		t.Fatalf("audit head %q; start log:\n%s", kept, log)
	}
	if out, code := runWormfs(t, "audit", "verify", "--data", data, "--expect", kept); code != 0 {
		t.Fatalf("verify --expect the current head: exit %d\n%s", code, out)
	}
	// Remove the last record and the head, as an attacker would to hide it.
	db, _ = badger.Open(meta.BadgerOptions(data))
	db.Update(func(txn *badger.Txn) error {
		txn.Delete(append([]byte{'A'}, binary.BigEndian.AppendUint64(nil, 1)...))
		return txn.Delete([]byte{'H'})
	})
	db.Close()
	if out, code := runWormfs(t, "audit", "verify", "--data", data); code != 0 {
		t.Fatalf("the emptied log is consistent in itself, verify: exit %d\n%s", code, out)
	}
	if out, code := runWormfs(t, "audit", "verify", "--data", data, "--expect", kept); code == 0 || !strings.Contains(out, "kept head") {
		t.Fatalf("verify --expect after removing the tail: exit %d\n%s", code, out)
	}

	fake := t.TempDir()
	os.MkdirAll(filepath.Join(fake, ".wormfs"), 0o755)
	os.WriteFile(filepath.Join(fake, ".wormfs", "audit"), nil, 0o644)
	if out, code := runWormfs(t, "audit", "verify", "--mount", fake); code == 0 || !strings.Contains(out, "not the mount point") {
		t.Fatalf("audit verify --mount on a plain directory: exit %d\n%s", code, out)
	}
}
