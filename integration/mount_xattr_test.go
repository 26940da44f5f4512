package integration

import (
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wormfs/wormfs/fs"
	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
)

const bypassGID = 4242

func withBypass(o *fs.Options) { o.BypassGID = bypassGID; o.AllowOther = true }

// snapshot is the store's record of a key and its bucket, to prove that a
// refused request changed nothing.
func (e *mountEnv) snapshot(bucket, key string) string {
	e.t.Helper()
	vs := e.versions(bucket, key)
	b, err := e.store.GetBucket(bucket)
	if err != nil {
		e.t.Fatal(err)
	}
	j, _ := json.Marshal(struct {
		V any
		B any
	}{vs, b})
	return string(j)
}

func getx(path, name string) (string, error) {
	buf := make([]byte, 4096)
	n, err := syscall.Getxattr(path, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// TestMountRetentionXattr: user.s3.retention in its three forms, read back
// canonical, stored on the current version.
func TestMountRetentionXattr(t *testing.T) {
	e := testMount(t, withBypass)
	b := e.mkbucket("ret")
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	cases := []struct {
		name, value string
		mode        lockctl.Mode
		until       time.Time // zero: check only the mode
	}{
		{"canonical", "GOVERNANCE " + until.Format(time.RFC3339), lockctl.ModeGovernance, until},
		{"S3 JSON", `{"Mode":"COMPLIANCE","RetainUntilDate":"` + until.Format(time.RFC3339) + `"}`, lockctl.ModeCompliance, until},
		{"relative days", "COMPLIANCE +30d", lockctl.ModeCompliance, time.Time{}},
		{"relative years, newline as echo adds", "GOVERNANCE +1y\n", lockctl.ModeGovernance, time.Time{}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			f := b + "/r" + string(rune('a'+i))
			os.WriteFile(f, []byte("locked"), 0o644)
			out, err := e.run("setfattr", "-n", "user.s3.retention", "-v", c.value, f)
			if err != nil {
				t.Fatalf("setfattr: %v %s", err, out)
			}
			vs := e.versions("ret", f[len(b)+1:])
			if len(vs) != 1 || vs[0].RetMode != c.mode || !c.until.IsZero() && !vs[0].RetUntil.Equal(c.until) {
				t.Fatalf("version = %+v", vs[0])
			}
			got, err := getx(f, "user.s3.retention")
			want := string(c.mode) + " " + lockctl.FormatInstant(vs[0].RetUntil) // ".mmm" when not zero (issue 14 item 13)
			if err != nil || got != want {
				t.Fatalf("getxattr = %q, %v; want %q", got, err, want)
			}
			out, err = e.run("getfattr", "--only-values", "-n", "user.s3.retention", f[len(e.dir)+1:])
			if err != nil || out != want {
				t.Fatalf("getfattr = %q, %v", out, err)
			}
		})
	}
}

// TestMountComplianceAndHold: COMPLIANCE retention and legal hold set with
// setfattr; shortening, changing the mode and removing fail with EPERM and
// change nothing, for root too; overwrite and unlink leave the locked
// version intact and readable.
func TestMountComplianceAndHold(t *testing.T) {
	e := testMount(t, withBypass)
	b := e.mkbucket("comp")
	f := b + "/c"
	os.WriteFile(f, []byte("precious"), 0o644)
	until := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	e.mustSh("setfattr -n user.s3.retention -v 'COMPLIANCE " + until.Format(time.RFC3339) + "' comp/c")
	e.mustSh("setfattr -n user.s3.legalhold -v ON comp/c")
	if got, _ := getx(f, "user.s3.legalhold"); got != "ON" {
		t.Fatalf("legal hold reads %q", got)
	}
	status, _ := getx(f, "user.s3.lockstatus")
	if !strings.Contains(status, "COMPLIANCE") || !strings.Contains(status, "legal hold ON") {
		t.Fatalf("lockstatus = %q", status)
	}
	refused := []struct{ name, script string }{
		{"shorten", "setfattr -n user.s3.retention -v 'COMPLIANCE " + until.Add(-time.Hour).Format(time.RFC3339) + "' comp/c"},
		{"shorten with bypass", "setfattr -n user.s3.retention -v 'COMPLIANCE " + until.Add(-time.Hour).Format(time.RFC3339) + " bypass' comp/c"},
		{"change mode", "setfattr -n user.s3.retention -v 'GOVERNANCE " + until.Add(time.Hour).Format(time.RFC3339) + "' comp/c"},
		{"change mode with bypass", "setfattr -n user.s3.retention -v 'GOVERNANCE " + until.Add(time.Hour).Format(time.RFC3339) + " bypass' comp/c"},
		{"remove retention", "setfattr -x user.s3.retention comp/c"},
	}
	for _, r := range refused {
		before := e.snapshot("comp", "c")
		out, err := e.sh(r.script)
		if !toolErrno(out, err, syscall.EPERM) {
			t.Errorf("%s: %v %q, want EPERM", r.name, err, out)
		}
		if after := e.snapshot("comp", "c"); after != before {
			t.Errorf("%s changed the store:\n%s\n%s", r.name, before, after)
		}
	}
	// Removing the hold needs permission: a user who is not the owner,
	// not root and not in the bypass group is refused (the file is
	// writable to everyone so the kernel lets the request through).
	os.Chmod(f, 0o666)
	for _, args := range [][]string{{"-x", "user.s3.legalhold", "comp/c"}, {"-n", "user.s3.legalhold", "-v", "OFF", "comp/c"}} {
		before := e.snapshot("comp", "c")
		out, err := e.runAs(65534, 65534, nil, "setfattr", args...)
		if !toolErrno(out, err, syscall.EPERM) {
			t.Errorf("setfattr %v as nobody: %v %q, want EPERM", args, err, out)
		}
		if after := e.snapshot("comp", "c"); after != before {
			t.Errorf("setfattr %v as nobody changed the store", args)
		}
	}
	// Extending is allowed.
	e.mustSh("setfattr -n user.s3.retention -v 'COMPLIANCE " + until.Add(time.Hour).Format(time.RFC3339) + "' comp/c")
	// Overwrite and unlink make new versions; the locked one stays.
	e.mustSh("echo replaced > comp/c; rm comp/c")
	vs := e.versions("comp", "c")
	// The chmod above made a new version (a protected version never
	// changes, issue 14) that kept the lock and got the extension.
	if len(vs) != 4 || !vs[0].DeleteMarker {
		t.Fatalf("versions after chmod+overwrite+rm: %d", len(vs))
	}
	locked := vs[3]
	if string(e.content(locked)) != "precious" || locked.RetMode != lockctl.ModeCompliance || !locked.LegalHold || !locked.RetUntil.Equal(until) || locked.Mode != 0o644 {
		t.Fatalf("locked version changed: %+v", locked)
	}
	if cp := vs[2]; string(e.content(cp)) != "precious" || cp.RetMode != lockctl.ModeCompliance || !cp.LegalHold || !cp.RetUntil.Equal(until.Add(time.Hour)) || cp.Mode != 0o666 {
		t.Fatalf("version made by the chmod: %+v", cp)
	}
	if vs[1].RetMode != "" || vs[1].LegalHold || string(e.content(vs[1])) != "replaced\n" {
		t.Fatalf("new version inherited the lock: %+v", vs[1])
	}
	if _, err := e.store.DeleteVersion("comp", "c", locked.ID, e.storeRoot()); err == nil {
		t.Fatal("permanent delete of the locked version succeeded")
	}
}

// TestMountGovernanceBypass: shortening GOVERNANCE needs a bypass-capable
// caller (root or --bypass-gid member) and an explicit request.
func TestMountGovernanceBypass(t *testing.T) {
	e := testMount(t, withBypass)
	b := e.mkbucket("gov")
	until := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	shorter := until.Add(-24 * time.Hour).Format(time.RFC3339)
	mk := func(name string, uid uint32) string {
		f := b + "/" + name
		os.WriteFile(f, []byte(name), 0o644)
		os.Chown(f, int(uid), int(uid))
		e.mustSh("setfattr -n user.s3.retention -v 'GOVERNANCE " + until.Format(time.RFC3339) + "' gov/" + name)
		return f
	}
	cases := []struct {
		name    string
		uid     uint32
		groups  []uint32
		value   string // "" = removexattr
		allowed bool
	}{
		{"root without bypass suffix", 0, nil, "GOVERNANCE " + shorter, false},
		{"root with bypass", 0, nil, "GOVERNANCE " + shorter + " bypass", true},
		{"root removexattr", 0, nil, "", false}, // never a bypass (issue 14)
		{"owner not in bypass group", 1000, nil, "GOVERNANCE " + shorter + " bypass", false},
		{"owner not in bypass group removexattr", 1000, nil, "", false},
		{"bypass group member without suffix", 1001, []uint32{bypassGID}, "GOVERNANCE " + shorter, false},
		{"bypass group member with bypass", 1001, []uint32{bypassGID}, "GOVERNANCE " + shorter + " bypass", true},
		{"bypass group member removexattr", 1001, []uint32{bypassGID}, "", false},
		{"mode change with bypass", 0, nil, "COMPLIANCE " + until.Format(time.RFC3339) + " bypass", true},
		{"bypass group as primary group", 1002, nil, "GOVERNANCE " + shorter + " bypass", true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			name := "g" + string(rune('a'+i))
			f := mk(name, c.uid)
			args := []string{"-x", "user.s3.retention", f}
			if c.value != "" {
				args = []string{"-n", "user.s3.retention", "-v", c.value, f}
			}
			before := e.snapshot("gov", name)
			gid := c.uid
			if c.uid == 1002 {
				gid = bypassGID
			}
			out, err := e.runAs(c.uid, gid, c.groups, "setfattr", args...)
			if c.allowed {
				if err != nil {
					t.Fatalf("refused: %v %s", err, out)
				}
				if e.snapshot("gov", name) == before {
					t.Fatal("allowed change changed nothing")
				}
				return
			}
			if !toolErrno(out, err, syscall.EPERM) {
				t.Fatalf("%v %q, want EPERM", err, out)
			}
			if e.snapshot("gov", name) != before {
				t.Fatal("refused change changed the store")
			}
		})
	}
	e.t = t
	// Extending GOVERNANCE is free for anyone who may set retention.
	f := mk("ext", 1000)
	if out, err := e.runAs(1000, 1000, nil, "setfattr", "-n", "user.s3.retention", "-v", "GOVERNANCE "+until.Add(time.Hour).Format(time.RFC3339), f); err != nil {
		t.Fatalf("extend as owner: %v %s", err, out)
	}
	vs := e.versions("gov", "ext")
	if !vs[0].RetUntil.Equal(until.Add(time.Hour)) {
		t.Fatalf("extend: %v", vs[0].RetUntil)
	}
	// Each bypass through the mount is in the audit log, with its caller.
	bypasses := map[string]bool{}
	e.store.Audit(0, func(r meta.AuditRecord) error {
		if r.Bucket == "gov" && r.Bypass {
			bypasses[r.Key] = strings.HasPrefix(r.Actor, "mount uid=")
		}
		return nil
	})
	for i, c := range cases {
		name := "g" + string(rune('a'+i))
		if byMount, ok := bypasses[name]; c.allowed != ok || ok && !byMount {
			t.Errorf("%s (%s): audit bypass record %v (by the mount: %v), want %v", name, c.name, ok, byMount, c.allowed)
		}
	}
}

// TestMountXattrReadOnlyAndUser: version-id and lockstatus are read-only;
// other user.* attributes are stored as user metadata, survive new
// versions, and show in listxattr (getfattr -d) with the user.s3.* names.
func TestMountXattrReadOnlyAndUser(t *testing.T) {
	e := testMount(t, withBypass)
	b := e.mkbucket("uxa")
	f := b + "/u"
	os.WriteFile(f, []byte("v1"), 0o644)
	vs := e.versions("uxa", "u")
	if got, err := getx(f, "user.s3.version-id"); err != nil || got != vs[0].ID {
		t.Fatalf("version-id = %q, %v; want %q", got, err, vs[0].ID)
	}
	if got, _ := getx(f, "user.s3.lockstatus"); got != "unprotected" {
		t.Fatalf("lockstatus = %q", got)
	}
	if _, err := getx(f, "user.s3.retention"); mErrno(err) != syscall.ENODATA {
		t.Fatalf("absent retention: %v, want ENODATA", err)
	}
	if _, err := getx(f, "user.s3.legalhold"); mErrno(err) != syscall.ENODATA {
		t.Fatalf("absent legal hold: %v, want ENODATA", err)
	}
	e.mustSh("setfattr -n user.color -v blue uxa/u")
	if vs := e.versions("uxa", "u"); len(vs) != 1 || vs[0].UserMeta["color"] != "blue" {
		t.Fatalf("user attribute not stored in place: %+v", vs)
	}
	e.mustSh("echo v2 > uxa/u")
	if got, _ := getx(f, "user.color"); got != "blue" {
		t.Fatalf("user attribute lost by a new version: %q", got)
	}
	vs = e.versions("uxa", "u")
	if len(vs) != 2 || vs[0].UserMeta["color"] != "blue" {
		t.Fatalf("new version's metadata: %+v", vs[0].UserMeta)
	}
	// The read-only names are read by name and not listed (SPEC §5), so
	// copies that set every listed name do not fail on them.
	out := e.mustSh("getfattr -d -m - uxa/u")
	if !strings.Contains(out, "user.color=\"blue\"") {
		t.Errorf("getfattr -d lacks user.color:\n%s", out)
	}
	if strings.Contains(out, "version-id") || strings.Contains(out, "lockstatus") {
		t.Errorf("getfattr -d lists a read-only name:\n%s", out)
	}
	for name, want := range map[string]string{"user.s3.version-id": vs[0].ID, "user.s3.lockstatus": "unprotected"} {
		if got, err := getx(f, name); err != nil || got != want {
			t.Errorf("%s by name: %q, %v; want %q", name, got, err, want)
		}
	}
	if strings.Contains(out, "user.s3.retention") {
		t.Errorf("getfattr -d lists an absent retention:\n%s", out)
	}
	e.mustSh("setfattr -x user.color uxa/u")
	if _, err := getx(f, "user.color"); mErrno(err) != syscall.ENODATA {
		t.Fatalf("removed user attribute: %v", err)
	}
	if err := syscall.Removexattr(f, "user.color"); mErrno(err) != syscall.ENODATA {
		t.Fatalf("remove absent user attribute: %v, want ENODATA", err)
	}
}

// TestMountBucketDefaultRetention: user.s3.retention on a bucket directory
// is the default rule, stamped on new versions; removing it clears it.
func TestMountBucketDefaultRetention(t *testing.T) {
	e := testMount(t, withBypass)
	b := e.mkbucket("defret")
	if _, err := getx(b, "user.s3.retention"); mErrno(err) != syscall.ENODATA {
		t.Fatalf("no rule yet: %v", err)
	}
	e.mustSh("setfattr -n user.s3.retention -v 'GOVERNANCE 2d' defret")
	if got, _ := getx(b, "user.s3.retention"); got != "GOVERNANCE 2d" {
		t.Fatalf("rule reads %q", got)
	}
	bk, _ := e.store.GetBucket("defret")
	if bk.Rule.Mode != lockctl.ModeGovernance || bk.Rule.Days != 2 {
		t.Fatalf("bucket rule = %+v", bk.Rule)
	}
	start := e.store.Now()
	os.WriteFile(b+"/stamped", []byte("x"), 0o644)
	v := e.versions("defret", "stamped")[0]
	if v.RetMode != lockctl.ModeGovernance || v.RetUntil.Before(start.Add(48*time.Hour-time.Second)) || v.RetUntil.After(start.Add(48*time.Hour+5*time.Second)) {
		t.Fatalf("new version retention %s %v", v.RetMode, v.RetUntil)
	}
	if out := e.mustSh("getfattr -d -m - defret"); !strings.Contains(out, `user.s3.retention="GOVERNANCE 2d"`) {
		t.Fatalf("getfattr -d on the bucket:\n%s", out)
	}
	e.mustSh("setfattr -x user.s3.retention defret")
	if bk, _ := e.store.GetBucket("defret"); !bk.Rule.IsZero() || !bk.ObjectLock {
		t.Fatalf("rule after removexattr = %+v", bk)
	}
	os.WriteFile(b+"/plain", []byte("x"), 0o644)
	if v := e.versions("defret", "plain")[0]; v.RetMode != "" {
		t.Fatalf("version after clearing the default has retention %s", v.RetMode)
	}
	if v := e.versions("defret", "stamped")[0]; v.RetMode != lockctl.ModeGovernance {
		t.Fatal("changing the default touched an existing version")
	}
}

// TestMountXattrMalformed: malformed values and names each get the errno
// of SPEC §5 and change nothing.
func TestMountXattrMalformed(t *testing.T) {
	e := testMount(t, withBypass)
	b := e.mkbucket("bad")
	f := b + "/f"
	os.WriteFile(f, []byte("x"), 0o644)
	lf := b + "/locked"
	os.WriteFile(lf, []byte("y"), 0o644)
	until := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	e.mustSh("setfattr -n user.s3.retention -v 'COMPLIANCE " + until.Format(time.RFC3339) + "' bad/locked")
	future := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		name   string
		path   string
		attr   string
		value  string
		remove bool
		get    bool
		errno  syscall.Errno
	}{
		{"empty retention", f, "user.s3.retention", "", false, false, syscall.EINVAL},
		{"oversized retention", f, "user.s3.retention", "GOVERNANCE " + future + strings.Repeat(" x", 200), false, false, syscall.EINVAL},
		{"unknown mode", f, "user.s3.retention", "FOREVER " + future, false, false, syscall.EINVAL},
		{"date in the past", f, "user.s3.retention", "GOVERNANCE 2001-01-01T00:00:00Z", false, false, syscall.EINVAL},
		{"broken JSON", f, "user.s3.retention", `{"Mode":"GOVERNANCE","RetainUntilDate":`, false, false, syscall.EINVAL},
		{"JSON unknown mode", f, "user.s3.retention", `{"Mode":"FOO","RetainUntilDate":"` + future + `"}`, false, false, syscall.EINVAL},
		{"NUL byte", f, "user.s3.retention", "GOVERNANCE\x00" + future, false, false, syscall.EINVAL},
		{"mode only", f, "user.s3.retention", "GOVERNANCE", false, false, syscall.EINVAL},
		{"date only", f, "user.s3.retention", future, false, false, syscall.EINVAL},
		{"impossible date", f, "user.s3.retention", "GOVERNANCE 2030-13-45T00:00:00Z", false, false, syscall.EINVAL},
		{"double space", f, "user.s3.retention", "GOVERNANCE  " + future, false, false, syscall.EINVAL},
		{"zero relative period", f, "user.s3.retention", "GOVERNANCE +0d", false, false, syscall.EINVAL},
		{"negative relative period", f, "user.s3.retention", "GOVERNANCE +-5d", false, false, syscall.EINVAL},
		{"beyond the maximum retention", f, "user.s3.retention", "COMPLIANCE +1000y", false, false, syscall.EINVAL},
		{"misspelt bypass", f, "user.s3.retention", "GOVERNANCE " + future + " bypas", false, false, syscall.EINVAL},
		{"two newlines", f, "user.s3.retention", "GOVERNANCE " + future + "\n\n", false, false, syscall.EINVAL},
		{"empty legal hold", f, "user.s3.legalhold", "", false, false, syscall.EINVAL},
		{"legal hold MAYBE", f, "user.s3.legalhold", "MAYBE", false, false, syscall.EINVAL},
		{"legal hold with NUL", f, "user.s3.legalhold", "ON\x00", false, false, syscall.EINVAL},
		{"legal hold two words", f, "user.s3.legalhold", "ON OFF", false, false, syscall.EINVAL},
		{"bucket rule zero days", b, "user.s3.retention", "COMPLIANCE 0d", false, false, syscall.EINVAL},
		{"bucket rule weeks", b, "user.s3.retention", "GOVERNANCE 5w", false, false, syscall.EINVAL},
		{"bucket rule with a date", b, "user.s3.retention", "COMPLIANCE " + future, false, false, syscall.EINVAL},
		{"bucket rule too long", b, "user.s3.retention", "COMPLIANCE 1000y", false, false, syscall.EINVAL},
		{"unknown user.s3 name set", f, "user.s3.colour", "x", false, false, syscall.EINVAL},
		{"unknown user.s3 name get", f, "user.s3.colour", "", false, true, syscall.ENODATA},
		{"version-id is read-only", f, "user.s3.version-id", "null", false, false, syscall.EPERM},
		{"lockstatus is read-only", f, "user.s3.lockstatus", "unprotected", false, false, syscall.EPERM},
		{"remove version-id", f, "user.s3.version-id", "", true, false, syscall.EPERM},
		{"security.capability get", f, "security.capability", "", false, true, syscall.ENODATA},
		{"security.selinux set", f, "security.selinux", "x", false, false, syscall.ENOTSUP},
		{"trusted get", f, "trusted.x", "", false, true, syscall.ENODATA},
		{"system ACL get", f, "system.posix_acl_access", "", false, true, syscall.ENODATA},
		{"user value with control bytes", f, "user.bin", "\x00\x01\x02", false, false, syscall.EINVAL},
		{"user value too long", f, "user.big", strings.Repeat("v", 3000), false, false, syscall.E2BIG},
		{"remove absent retention", f, "user.s3.retention", "", true, false, syscall.ENODATA},
		{"remove absent bucket rule", b, "user.s3.retention", "", true, false, syscall.ENODATA},
		{"shorten COMPLIANCE", lf, "user.s3.retention", "COMPLIANCE " + until.Add(-time.Hour).Format(time.RFC3339), false, false, syscall.EPERM},
		{"COMPLIANCE to GOVERNANCE", lf, "user.s3.retention", "GOVERNANCE " + until.Add(time.Hour).Format(time.RFC3339) + " bypass", false, false, syscall.EPERM},
		{"remove COMPLIANCE", lf, "user.s3.retention", "", true, false, syscall.EPERM},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			key := strings.TrimPrefix(strings.TrimPrefix(c.path, b), "/")
			if key == "" {
				key = "f"
			}
			before := e.snapshot("bad", key)
			var err error
			switch {
			case c.get:
				_, err = getx(c.path, c.attr)
			case c.remove:
				err = syscall.Removexattr(c.path, c.attr)
			default:
				err = syscall.Setxattr(c.path, c.attr, []byte(c.value), 0)
			}
			if mErrno(err) != c.errno {
				t.Fatalf("got %v, want %v", err, c.errno)
			}
			if after := e.snapshot("bad", key); after != before {
				t.Fatalf("store changed:\n%s\n%s", before, after)
			}
		})
	}
}

// storeRoot is the actor of a direct store call with a bypass request by
// a principal allowed to bypass (the strongest there is).
func (e *mountEnv) storeRoot() meta.Actor {
	return meta.Actor{Name: "test", Bypass: lockctl.Bypass{Requested: true, Allowed: true}}
}
