package integration

// Issue 14: the mount's adversarial suite over every destroy-or-alter path,
// metadata included. A protected version (COMPLIANCE and a legal hold) is
// attacked by root and by its unprivileged owner: what would destroy or
// alter it is refused with the store's digest unchanged; what is allowed
// (a change of the file) makes a new version and leaves the protected
// one's whole record (bytes, ETag, mode, owner, times, user metadata,
// lock) as it was. On the main branch the metadata changes altered the
// version in place and root's rm in the versions view bypassed GOVERNANCE.

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wormfs/wormfs/meta/metatest"
)

func TestIntegrityMountAdversarialMetadata(t *testing.T) {
	e := testMount(t, withBypass)
	b := e.mkbucket("adv2")
	os.Chmod(b, 0o777)
	at := func() string { return time.Now().UTC().Format(time.RFC3339) }
	for _, w := range []struct {
		name string
		uid  uint32
	}{{"root", 0}, {"owner", alice}} {
		t.Run(w.name, func(t *testing.T) {
			n := 0
			// fresh makes a protected file owned by w and returns its path,
			// key and protected version id.
			fresh := func() (string, string, string) {
				n++
				key := fmt.Sprintf("%s-%d", w.name, n)
				p := e.p("adv2", key)
				if out, err := e.runAs(w.uid, w.uid, nil, "sh", "-c", "echo precious > "+p+" && setfattr -n user.note -v kept "+p+" && setfattr -n user.s3.retention -v 'COMPLIANCE +1d' "+p); err != nil {
					t.Fatalf("%v %s", err, out)
				}
				if err := setx(p, "user.s3.legalhold", "ON"); err != nil {
					t.Fatal(err)
				}
				return p, key, e.ids("adv2", key)[0]
			}
			// Refused: the store does not change at all.
			refused := []struct {
				name   string
				script func(p, key, id string) string
			}{
				{"rm version", func(p, key, id string) string { return "rm -f " + e.vp("adv2", key, id) }},
				{"rm -rf versions dir", func(p, key, id string) string { return "rm -rf " + e.vp("adv2", key) }},
				{"mv version", func(p, key, id string) string { return "mv " + e.vp("adv2", key, id) + " " + e.vp("adv2", key, "x") }},
				{"write version", func(p, key, id string) string { return "echo evil >> " + e.vp("adv2", key, id) }},
				{"truncate version", func(p, key, id string) string { return "truncate -s 0 " + e.vp("adv2", key, id) }},
				{"chmod version", func(p, key, id string) string { return "chmod 777 " + e.vp("adv2", key, id) }},
				{"touch version", func(p, key, id string) string { return "touch -d 2001-01-01 " + e.vp("adv2", key, id) }},
				{"chown version", func(p, key, id string) string { return "chown 1000 " + e.vp("adv2", key, id) }},
				{"setfattr user on version", func(p, key, id string) string { return "setfattr -n user.note -v evil " + e.vp("adv2", key, id) }},
				{"removexattr user on version", func(p, key, id string) string { return "setfattr -x user.note " + e.vp("adv2", key, id) }},
				{"hold off on version", func(p, key, id string) string {
					return "setfattr -n user.s3.legalhold -v OFF " + e.vp("adv2", key, id)
				}},
				{"hold off", func(p, key, id string) string { return "setfattr -n user.s3.legalhold -v OFF " + p }},
				{"removexattr hold", func(p, key, id string) string { return "setfattr -x user.s3.legalhold " + p }},
				{"removexattr retention", func(p, key, id string) string { return "setfattr -x user.s3.retention " + p }},
				{"shorten", func(p, key, id string) string {
					return "setfattr -n user.s3.retention -v 'COMPLIANCE +1h' " + p
				}},
				{"shorten with bypass", func(p, key, id string) string {
					return "setfattr -n user.s3.retention -v 'COMPLIANCE +1h bypass' " + p
				}},
				{"to governance with bypass", func(p, key, id string) string {
					return "setfattr -n user.s3.retention -v 'GOVERNANCE +2d bypass' " + p
				}},
				{"write at view", func(p, key, id string) string { return "echo evil >> .wormfs/at/" + at() + "/adv2/" + key }},
				{"chmod at view", func(p, key, id string) string { return "chmod 777 .wormfs/at/" + at() + "/adv2/" + key }},
				{"setfattr at view", func(p, key, id string) string {
					return "setfattr -n user.note -v evil .wormfs/at/" + at() + "/adv2/" + key
				}},
				{"rmdir bucket", func(p, key, id string) string { return "rmdir adv2" }},
			}
			p, key, id := fresh()
			for _, r := range refused {
				if w.uid == 0 && strings.HasPrefix(r.name, "hold off") || w.uid == 0 && r.name == "removexattr hold" {
					continue // root is a lock administrator: it may lift holds
				}
				before := metatest.Digest(t, e.store)
				rec := e.record("adv2", key, id)
				out, err := e.runAs(w.uid, w.uid, nil, "sh", "-c", r.script(p, key, id))
				if err == nil {
					t.Fatalf("%s: succeeded: %s", r.name, out)
				}
				metatest.Unchanged(t, e.store, before)
				if got := e.record("adv2", key, id); got != rec {
					t.Fatalf("%s: protected version changed", r.name)
				}
			}
			// Allowed changes of the file: a new version, the protected one
			// identical.
			allowed := []struct {
				name   string
				script func(p string) string
			}{
				{"chmod", func(p string) string { return "chmod 600 " + p }},
				{"chmod 0", func(p string) string { return "chmod 0 " + p }},
				{"touch -d", func(p string) string { return "touch -d 2001-01-01T00:00:00Z " + p }},
				{"setfattr user", func(p string) string { return "setfattr -n user.note -v changed " + p }},
				{"setfattr new user", func(p string) string { return "setfattr -n user.other -v x " + p }},
				{"removexattr user", func(p string) string { return "setfattr -x user.note " + p }},
				{"append", func(p string) string { return "echo more >> " + p }},
				{"overwrite", func(p string) string { return "echo other > " + p }},
				{"truncate", func(p string) string { return "truncate -s 0 " + p }},
				{"write at offset", func(p string) string { return "printf X | dd of=" + p + " bs=1 seek=2 conv=notrunc 2>/dev/null" }},
				{"rm", func(p string) string { return "rm -f " + p }},
				{"mv away", func(p string) string { return "mv " + p + " " + p + ".moved" }},
				{"mv over", func(p string) string { return "echo x > " + p + ".src && mv " + p + ".src " + p }},
			}
			if w.uid == 0 {
				allowed = append(allowed, struct {
					name   string
					script func(p string) string
				}{"chown", func(p string) string { return "chown 1000:1000 " + p }})
			}
			for _, a := range allowed {
				p, key, id := fresh()
				rec := e.record("adv2", key, id)
				if out, err := e.runAs(w.uid, w.uid, nil, "sh", "-c", a.script(p)); err != nil {
					t.Fatalf("%s: %v %s", a.name, err, out)
				}
				// An ftruncate publishes when the kernel releases the
				// handle, just after close returns (README): wait for it.
				mWaitFor(t, a.name+": a new version on top of the protected one", 5*time.Second, func() bool {
					vs := e.versions("adv2", key)
					return len(vs) >= 2 && vs[0].ID != id
				})
				if got := e.record("adv2", key, id); got != rec {
					t.Fatalf("%s changed the protected version:\nbefore %s\nafter  %s", a.name, rec, got)
				}
			}
		})
	}
	// A directory marker stamped with a COMPLIANCE default rule is a
	// protected version too: chmod and chown of the directory make a new
	// marker.
	t.Run("directory marker", func(t *testing.T) {
		db := e.mkbucket("adv2d")
		if err := setx(db, "user.s3.retention", "COMPLIANCE 1d"); err != nil {
			t.Fatal(err)
		}
		e.mustSh("mkdir adv2d/dir")
		id := e.ids("adv2d", "dir/")[0]
		rec := e.record("adv2d", "dir/", id)
		e.mustSh("chmod 700 adv2d/dir && chown 1000 adv2d/dir && setfattr -n user.x -v y adv2d/dir")
		if got := e.record("adv2d", "dir/", id); got != rec {
			t.Fatalf("protected marker changed:\n%s\n%s", rec, got)
		}
		if st, err := os.Stat(e.p("adv2d", "dir")); err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("directory after chmod: %v %v", st, err)
		}
		if ids := e.ids("adv2d", "dir/"); len(ids) != 4 {
			t.Fatalf("marker versions %v, want 4", ids)
		}
		if out, err := e.run("rm", "-rf", e.vp("adv2d", "dir/")); err == nil && !strings.Contains(out, "denied") {
			if _, err := e.store.Get("adv2d", "dir/", id); err != nil {
				t.Fatalf("protected marker removed: %v", err)
			}
		}
	})
}
