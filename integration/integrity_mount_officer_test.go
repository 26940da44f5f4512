package integration

// Issue 14: the compliance-officer scenario end to end against a real
// `wormfs serve` (mount, listener and control socket), and the helpers
// that run as root refusing links a user planted. Both failed on the main
// branch before the fix: there was no control socket (an administrator
// could not place a hold on another user's read-only file), the owner
// lifted holds, and `wormfs restore` wrote through a planted symlink.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// sharedBinary copies the wormfs binary where every user may run it.
func sharedBinary(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.Open(wormfsBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "wormfs")
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	return bin
}

// runBinAs runs bin as uid with groups and returns output and exit code.
func runBinAs(t *testing.T, uid uint32, groups []uint32, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: groups}}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return out.String(), 0
}

// TestIntegrityMountComplianceOfficer: alice writes a file and keeps it
// 0644 (read-only for everyone else). The compliance officer, a member of
// --admin-gid, places a legal hold on it with `wormfs legalhold on` (the
// control socket; setfattr is refused by the kernel). Alice can neither
// lift it nor delete the version, nor after root chowns another held file
// to her; the officer lifts it. Over S3 a `lock` user sets and lifts a
// hold; a `write` user can do neither.
func TestIntegrityMountComplianceOfficer(t *testing.T) {
	requireFUSE(t)
	base := t.TempDir()
	os.Chmod(base, 0o755)
	os.Chmod(filepath.Dir(base), 0o755)
	bin := sharedBinary(t, base)
	data, mnt := filepath.Join(base, "data"), filepath.Join(base, "mnt")
	os.Mkdir(mnt, 0o755)
	usersFile := filepath.Join(base, "users.json")
	users := `{"users":[
		{"accessKey":"LOCKUSER00000001","secretKey":"lock/user/secret/0001","allow":["read","write","lock"]},
		{"accessKey":"WRITEUSER0000001","secretKey":"write/user/secret/001","allow":["read","write"]}]}`
	if err := os.WriteFile(usersFile, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	d := relStart(t, bin, data, mnt, "--admin-gid", "4242", "--users", usersFile)
	if !strings.Contains(d.output(), "control socket /run/wormfs/") {
		t.Fatalf("no control socket in the log:\n%s", tailString(d.output(), 2000))
	}
	if err := os.Mkdir(filepath.Join(mnt, "cases"), 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(mnt, "cases"), 0o777)
	file := filepath.Join(mnt, "cases", "case.txt")
	if out, code := runBinAs(t, alice, nil, "/bin/sh", "-c", "echo testimony > "+file+" && chmod 644 "+file); code != 0 {
		t.Fatalf("alice writes: %s", out)
	}
	officerGroups := []uint32{4242}
	// setfattr as the officer: the kernel refuses (no write permission).
	if out, code := runBinAs(t, officer, officerGroups, "/usr/bin/setfattr", "-n", "user.s3.legalhold", "-v", "ON", file); code == 0 {
		t.Fatalf("setfattr by the officer on alice's 0644 file succeeded: %s", out)
	}
	if out, code := runBinAs(t, officer, officerGroups, bin, "legalhold", "on", file); code != 0 || strings.TrimSpace(out) != "ON" {
		t.Fatalf("officer: wormfs legalhold on: exit %d %s", code, out)
	}
	if got, _ := getx(file, "user.s3.legalhold"); got != "ON" {
		t.Fatalf("hold after the officer's command: %q", got)
	}
	id, _ := getx(file, "user.s3.version-id")
	vp := filepath.Join(mnt, ".wormfs", "versions", "cases", "case.txt", id)

	// Alice: no way to lift it or delete the version.
	for _, args := range [][]string{
		{bin, "legalhold", "off", file},
		{bin, "rm-version", file, id},
		{bin, "rm-version", "--bypass", file, id},
		{"/usr/bin/setfattr", "-n", "user.s3.legalhold", "-v", "OFF", file},
		{"/usr/bin/setfattr", "-x", "user.s3.legalhold", file},
		{"/bin/rm", "-f", vp},
	} {
		if out, code := runBinAs(t, alice, nil, args[0], args[1:]...); code == 0 {
			t.Fatalf("alice %v succeeded: %s", args[1:], out)
		}
	}
	// A non-admin's refusal over the socket is the lock rules' (exit 5).
	if out, code := runBinAs(t, alice, nil, bin, "legalhold", "off", file); code != 5 || !strings.Contains(out, "refused") {
		t.Fatalf("alice: wormfs legalhold off: exit %d %s, want 5 and a refusal", code, out)
	}

	// Root's held file given to alice: still hers to neither lift nor delete.
	memo := filepath.Join(mnt, "cases", "memo.txt")
	if err := os.WriteFile(memo, []byte("memo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := runBinAs(t, officer, officerGroups, bin, "legalhold", "on", memo); code != 0 {
		t.Fatalf("officer holds memo: %s", out)
	}
	if err := os.Chown(memo, alice, alice); err != nil {
		t.Fatal(err)
	}
	memoOut, _ := runBinAs(t, 0, nil, bin, "versions", memo)
	for _, line := range strings.Split(strings.TrimSpace(memoOut), "\n") {
		mid := strings.Fields(line)[0]
		if !strings.Contains(line, "legal hold ON") {
			t.Fatalf("memo version not held after chown: %s", line)
		}
		if out, code := runBinAs(t, alice, nil, bin, "rm-version", memo, mid); code == 0 {
			t.Fatalf("alice deleted held memo version %s after the chown: %s", mid, out)
		}
	}
	if out, code := runBinAs(t, alice, nil, bin, "legalhold", "off", memo); code == 0 {
		t.Fatalf("alice lifted the hold after the chown: %s", out)
	}

	// The officer lifts; then alice may delete her now unprotected version.
	if out, code := runBinAs(t, officer, officerGroups, bin, "legalhold", "off", file); code != 0 {
		t.Fatalf("officer: wormfs legalhold off: exit %d %s", code, out)
	}
	if got, _ := getx(file, "user.s3.legalhold"); got != "OFF" {
		t.Fatalf("hold after the officer lifted it: %q", got)
	}
	if out, code := runBinAs(t, alice, nil, bin, "rm-version", file, id); code != 0 {
		t.Fatalf("alice deletes her unheld version: exit %d %s", code, out)
	}

	// Over S3: a lock user sets and lifts a hold, a write user cannot.
	env := &s3Env{URL: d.url, PlainURL: d.url, noConfig: filepath.Join(t.TempDir(), "empty-aws-config")}
	os.WriteFile(env.noConfig, nil, 0o600)
	nr := func(o *s3.Options) { o.Retryer = aws.NopRetryer{} }
	lockUser := env.client("LOCKUSER00000001", "lock/user/secret/0001", nr)
	writeUser := env.client("WRITEUSER0000001", "write/user/secret/001", nr)
	ctx := t.Context()
	put, err := d.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cases"), Key: aws.String("s3.txt"), Body: strings.NewReader("over s3")})
	must(t, err, "PutObject")
	hold := func(c *s3.Client, on bool) error {
		st := types.ObjectLockLegalHoldStatusOff
		if on {
			st = types.ObjectLockLegalHoldStatusOn
		}
		_, err := c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String("cases"), Key: aws.String("s3.txt"), VersionId: put.VersionId,
			LegalHold: &types.ObjectLockLegalHold{Status: st}})
		return err
	}
	wantErr(t, hold(writeUser, true), 403, "AccessDenied")
	must(t, hold(lockUser, true), "lock user places a hold")
	wantErr(t, hold(writeUser, false), 403, "AccessDenied")
	_, err = writeUser.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("cases"), Key: aws.String("s3.txt"), VersionId: put.VersionId})
	wantErr(t, err, 403, "AccessDenied")
	must(t, hold(lockUser, false), "lock user lifts the hold")

	// The audit log names who did what; alice may not read it.
	if out, code := runBinAs(t, alice, nil, "/bin/cat", filepath.Join(mnt, ".wormfs", "audit")); code == 0 {
		t.Fatalf("alice read the audit log: %.200s", out)
	}
	raw, err := os.ReadFile(filepath.Join(mnt, ".wormfs", "audit"))
	if err != nil {
		t.Fatal(err)
	}
	var on, off bool
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var r struct{ Action, Key, Actor string }
		json.Unmarshal([]byte(l), &r)
		if r.Key == "case.txt" && strings.Contains(r.Actor, "control uid=1001") {
			on = on || r.Action == "legal-hold-on"
			off = off || r.Action == "legal-hold-off"
		}
	}
	if !on || !off {
		t.Fatalf("audit log lacks the officer's hold and release:\n%s", raw)
	}
}

// TestIntegrityMountHelpersNoLinks: `wormfs restore`, `retention`,
// `legalhold` and `versions` run as root never follow a symbolic link a
// user planted (at the file or in a directory above it) and refuse paths
// outside a wormfs mount; a root-owned 0600 file stays untouched.
func TestIntegrityMountHelpersNoLinks(t *testing.T) {
	e := testMount(t, withBypass)
	b := e.mkbucket("links")
	os.Chmod(b, 0o777)
	outside := t.TempDir()
	secret := filepath.Join(outside, "shadow")
	if err := os.WriteFile(secret, []byte("root only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := e.p("links", "f")
	if out, err := e.runAs(alice, alice, nil, "sh", "-c", "echo old > "+f+" && echo new > "+f); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	old := e.ids("links", "f")[1]
	// Alice replaces the file by a link to root's file, and plants a
	// directory link.
	if out, err := e.runAs(alice, alice, nil, "sh", "-c", "rm "+f+" && ln -s "+secret+" "+f+" && ln -s "+outside+" "+e.p("links", "d")); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	for _, args := range [][]string{
		{"restore", f, old},
		{"restore", filepath.Join(e.p("links", "d"), "shadow"), old},
		{"legalhold", "on", f},
		{"retention", "set", f, "GOVERNANCE", "+1d"},
		{"retention", "get", filepath.Join(e.p("links", "d"), "shadow")},
		{"legalhold", "on", secret},
		{"versions", secret},
	} {
		out, code := runWormfs(t, args...)
		if code == 0 {
			t.Errorf("wormfs %v as root succeeded: %s", args, out)
		}
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "root only\n" {
		t.Fatalf("root's file after the helpers: %q %v", b, err)
	}
	st, _ := os.Stat(secret)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("root's file mode %v", st.Mode())
	}
	if _, err := getx(secret, "user.s3.legalhold"); err == nil {
		t.Fatal("a hold attribute landed on root's file")
	}
	// The helpers still work on a plain file.
	g := e.p("links", "g")
	e.mustSh("echo a > links/g && echo b > links/g")
	if out, code := runWormfs(t, "restore", g, e.ids("links", "g")[1]); code != 0 {
		t.Fatalf("restore of a plain file: exit %d %s", code, out)
	}
	if b, _ := os.ReadFile(g); string(b) != "a\n" {
		t.Fatalf("after restore: %q", b)
	}
}
