package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/wormfs/wormfs/fs"
)

// TestHistoryVersionsView: .wormfs/versions/<bucket>/<key>/ lists every
// version and delete marker newest first, named by the S3 version ids (as
// ListObjectVersions gives them, in its order), each file holding its
// version's exact bytes, with its own attributes; removing the delete
// marker brings the file back at once.
func TestHistoryVersionsView(t *testing.T) {
	e := testHistory(t, nil)
	b := e.mkbucket("hist")
	// Four versions and a delete marker, through the mount and over S3.
	contents := []string{"one\n", "two, longer\n", "", "four\x00binary\xff\n"}
	for i, c := range contents {
		if i == 3 {
			e.s3.put(t, "hist", "f.txt", c)
			continue
		}
		if err := os.WriteFile(filepath.Join(b, "f.txt"), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(b, "f.txt")); err != nil {
		t.Fatal(err)
	}
	e.mustSh("mkdir -p hist/x/z && echo nested > hist/x/y.txt && echo deeper > hist/x/z/w")

	names := viewNames(t, e.vp("hist", "f.txt"))
	if want := e.ids("hist", "f.txt"); !slices.Equal(names, want) {
		t.Fatalf("versions view lists %v, store has %v (newest first)", names, want)
	}
	if len(names) != 5 {
		t.Fatalf("want 4 versions and a delete marker, got %v", names)
	}

	// The S3 view of the same history: the same ids, and the same order.
	out, err := e.s3.Client.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String("hist"), Prefix: aws.String("f.txt")})
	must(t, err, "ListObjectVersions")
	s3ids := map[string]time.Time{}
	var s3versions, s3markers []string
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == "f.txt" {
			s3versions = append(s3versions, aws.ToString(v.VersionId))
			s3ids[aws.ToString(v.VersionId)] = aws.ToTime(v.LastModified)
		}
	}
	for _, m := range out.DeleteMarkers {
		if aws.ToString(m.Key) == "f.txt" {
			s3markers = append(s3markers, aws.ToString(m.VersionId))
			s3ids[aws.ToString(m.VersionId)] = aws.ToTime(m.LastModified)
			if !aws.ToBool(m.IsLatest) {
				t.Fatalf("the delete marker is not the latest over S3")
			}
		}
	}
	if len(s3ids) != len(names) {
		t.Fatalf("S3 lists %d versions and markers, the view %d", len(s3ids), len(names))
	}
	var viewVersions, viewMarkers []string
	for i, id := range names {
		if _, ok := s3ids[id]; !ok {
			t.Fatalf("view entry %s is not an S3 version id (S3: %v %v)", id, s3versions, s3markers)
		}
		if i > 0 && s3ids[id].After(s3ids[names[i-1]]) {
			t.Fatalf("view order is not newest first by S3 LastModified: %s after %s", id, names[i-1])
		}
		dm, err := getx(e.vp("hist", "f.txt", id), "user.s3.delete-marker")
		if dm == "true" {
			viewMarkers = append(viewMarkers, id)
		} else {
			if !errnoIs(err, syscall.ENODATA) {
				t.Fatalf("user.s3.delete-marker of a version: %q, %v", dm, err)
			}
			viewVersions = append(viewVersions, id)
		}
	}
	if !slices.Equal(viewVersions, s3versions) || !slices.Equal(viewMarkers, s3markers) {
		t.Fatalf("view order versions %v markers %v; S3 versions %v markers %v", viewVersions, viewMarkers, s3versions, s3markers)
	}
	if viewMarkers[0] != names[0] {
		t.Fatalf("newest entry %s is not the delete marker %s", names[0], viewMarkers[0])
	}

	// Each version's exact bytes and attributes (oldest first = write order).
	for i, id := range viewVersions {
		want := contents[len(contents)-1-i]
		p := e.vp("hist", "f.txt", id)
		got, err := os.ReadFile(p)
		if err != nil || string(got) != want {
			t.Fatalf("version %s reads %q, %v; want %q", id, got, err, want)
		}
		st, err := os.Stat(p)
		if err != nil || st.Size() != int64(len(want)) || !st.Mode().IsRegular() {
			t.Fatalf("stat %s: %v %v", id, st, err)
		}
		if vid, err := getx(p, "user.s3.version-id"); vid != id || err != nil {
			t.Fatalf("user.s3.version-id of %s = %q, %v", id, vid, err)
		}
		if s, err := getx(p, "user.s3.lockstatus"); s != "unprotected" || err != nil {
			t.Fatalf("user.s3.lockstatus of %s = %q, %v", id, s, err)
		}
	}
	dmPath := e.vp("hist", "f.txt", names[0])
	if b, err := os.ReadFile(dmPath); err != nil || len(b) != 0 {
		t.Fatalf("delete marker reads %q, %v", b, err)
	}
	list := e.mustSh("getfattr -d -m - " + dmPath)
	if !strings.Contains(list, `user.s3.delete-marker="true"`) || !strings.Contains(list, "user.s3.version-id=\""+names[0]) {
		t.Fatalf("getfattr -d of the delete marker:\n%s", list)
	}

	// Keys with slashes: intermediate components are directories.
	if got := viewNames(t, e.p(".wormfs", "versions", "hist")); !slices.Equal(got, []string{"f.txt", "x"}) {
		t.Fatalf("versions/hist lists %v", got)
	}
	if got := viewNames(t, e.p(".wormfs", "versions", "hist", "x")); !slices.Equal(got, []string{"y.txt", "z"}) {
		t.Fatalf("versions/hist/x lists %v", got)
	}
	if got := viewNames(t, e.vp("hist", "x/z/w")); !slices.Equal(got, e.ids("hist", "x/z/w")) || len(got) != 1 {
		t.Fatalf("versions/hist/x/z/w lists %v", got)
	}
	if b, err := os.ReadFile(e.vp("hist", "x/y.txt", e.ids("hist", "x/y.txt")[0])); string(b) != "nested\n" || err != nil {
		t.Fatalf("x/y.txt version reads %q, %v", b, err)
	}
	if _, err := os.Stat(e.vp("hist", "nope")); !errnoIs(err, syscall.ENOENT) {
		t.Fatalf("stat of a key without history: %v", err)
	}

	// The CLI lists the same, through the mount.
	cli, code := runWormfs(t, "versions", filepath.Join(b, "f.txt"))
	lines := strings.Split(strings.TrimSpace(cli), "\n")
	if code != 0 || len(lines) != 5 || !strings.HasPrefix(lines[0], names[0]+"\tdelete-marker") || !strings.HasSuffix(lines[0], "latest") {
		t.Fatalf("wormfs versions (exit %d):\n%s", code, cli)
	}

	// Removing the delete marker un-deletes the key: the file is back
	// with the newest version, without waiting for the entry timeout.
	if _, err := os.Stat(filepath.Join(b, "f.txt")); !errnoIs(err, syscall.ENOENT) {
		t.Fatalf("deleted file: %v", err)
	}
	if err := os.Remove(dmPath); err != nil {
		t.Fatalf("rm delete marker: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(b, "f.txt"))
	if err != nil || string(got) != contents[3] {
		t.Fatalf("after removing the delete marker the file reads %q, %v", got, err)
	}
	if after := e.ids("hist", "f.txt"); !slices.Equal(after, names[1:]) {
		t.Fatalf("after removing the delete marker the store has %v, want %v", after, names[1:])
	}
	if got := viewNames(t, e.vp("hist", "f.txt")); !slices.Equal(got, names[1:]) {
		t.Fatalf("after removing the delete marker the view lists %v", got)
	}
	// An unprotected old version may be removed for good (by root).
	if err := os.Remove(e.vp("hist", "f.txt", names[3])); err != nil {
		t.Fatalf("rm an unprotected version: %v", err)
	}
	if _, err := e.store.Get("hist", "f.txt", names[3]); err == nil {
		t.Fatal("permanently deleted version still in the store")
	}
	n := 0
	for _, r := range auditRecords(t, e.store) {
		if r.Action == "version-delete" && r.Key == "f.txt" && (r.VersionID == names[0] || r.VersionID == names[3]) {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d audit records of the two permanent deletes", n)
	}
}

// TestHistoryNotListed: .wormfs is reachable by name and never listed, so
// find and rm -r never enter it; rm -r of a bucket with locked files
// leaves every locked version in the store.
func TestHistoryNotListed(t *testing.T) {
	e := testHistory(t, nil)
	b := e.mkbucket("walk")
	e.mustSh("mkdir -p walk/d && echo a > walk/a && echo b > walk/d/b && echo keep > walk/locked && setfattr -n user.s3.retention -v 'COMPLIANCE +1d' walk/locked && setfattr -n user.s3.legalhold -v ON walk/d/b")
	locked := e.intactOf("walk", "locked", "")
	held := e.intactOf("walk", "d/b", "")

	if names := viewNames(t, e.dir); slices.Contains(names, ".wormfs") || !slices.Equal(names, []string{"walk"}) {
		t.Fatalf("mount root lists %v", names)
	}
	if out := e.mustSh("ls -a " + e.dir); strings.Contains(out, ".wormfs") {
		t.Fatalf("ls -a lists the views:\n%s", out)
	}
	if st, err := os.Stat(e.p(".wormfs")); err != nil || !st.IsDir() {
		t.Fatalf("stat .wormfs: %v %v", st, err)
	}
	if got := viewNames(t, e.p(".wormfs")); !slices.Equal(got, []string{"at", "audit", "versions"}) {
		t.Fatalf(".wormfs lists %v", got)
	}
	for _, p := range []string{e.p(".wormfs"), e.vp("walk", "a"), e.p(".wormfs", "audit"), e.p(".wormfs", "at", time.Now().UTC().Add(time.Second).Format(time.RFC3339), "walk", "a")} {
		var sf, root syscall.Statfs_t
		if err := syscall.Statfs(p, &sf); err != nil || syscall.Statfs(e.dir, &root) != nil || sf.Namelen != 255 || sf.Blocks != root.Blocks {
			t.Fatalf("statfs %s: %+v, %v (root %+v)", p, sf, err, root)
		}
	}
	for _, name := range []string{".wormfsx", ".wormfs2", ".wormfs.bak"} {
		if _, err := os.Stat(e.p(name)); !errnoIs(err, syscall.ENOENT) {
			t.Fatalf("stat %s: %v", name, err)
		}
	}
	found := e.mustSh("find " + e.dir)
	if strings.Contains(found, ".wormfs") || !strings.Contains(found, "walk/d/b") {
		t.Fatalf("find:\n%s", found)
	}
	// rm -r removes what it may (delete markers) and fails on the bucket,
	// which holds versions; it never wanders into the views.
	out, err := e.sh("rm -r " + b)
	if err == nil || !strings.Contains(out, "walk") {
		t.Fatalf("rm -r of a bucket holding versions succeeded: %v\n%s", err, out)
	}
	if strings.Contains(out, ".wormfs") {
		t.Fatalf("rm -r went into the views:\n%s", out)
	}
	e.assertIntact("walk", "locked", locked)
	e.assertIntact("walk", "d/b", held)
	if got := e.shape("walk", "a"); !mEqualShape(got, []string{"DM", "a\n"}) {
		t.Fatalf("walk/a after rm -r: %v", got)
	}
	if _, err := e.store.GetBucket("walk"); err != nil {
		t.Fatalf("bucket gone: %v", err)
	}
	if _, err := os.Stat(e.vp("walk", "locked", locked.id)); err != nil {
		t.Fatalf("versions view after rm -r: %v", err)
	}
}

// TestHistoryAtView: cp -a of .wormfs/at/<t>/<bucket>/ reproduces the
// tree as it was at t, after overwrites, renames and deletes; the view is
// read-only; any RFC 3339 spelling of the instant works and a malformed
// one is ENOENT.
func TestHistoryAtView(t *testing.T) {
	e := testHistory(t, nil)
	e.mkbucket("tree")
	e.mustSh(`cd tree && mkdir -p docs/old empty src/pkg && printf 'readme v1\n' > README &&
		head -c 3000000 /dev/urandom > src/blob.bin && echo 'package pkg' > src/pkg/a.go &&
		echo notes > docs/old/notes.txt && ln -s ../README docs/link && echo gone > docs/gone.txt &&
		chmod 600 docs/old/notes.txt && chmod 700 docs/old && chmod 755 src/pkg/a.go`)
	e.s3.put(t, "tree", "s3/made-over-s3.txt", "from s3\n")
	before := manifest(t, e.p("tree"))
	time.Sleep(20 * time.Millisecond)
	at := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)

	// Change everything.
	e.mustSh(`cd tree && printf 'readme v2\n' > README && echo more >> src/pkg/a.go &&
		mv docs/old docs/archive && mv src/blob.bin src/moved.bin && rm docs/gone.txt docs/link &&
		rmdir empty && echo new > docs/new.txt && truncate -s 10 src/moved.bin`)
	_, err := e.s3.Client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String("tree"), Key: aws.String("s3/made-over-s3.txt")})
	must(t, err, "DeleteObject")
	if now := manifest(t, e.p("tree")); manifestString(now) == manifestString(before) {
		t.Fatal("the changes changed nothing")
	}

	for _, spelling := range []string{
		at.Format(time.RFC3339Nano),
		at.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano),
		at.In(time.FixedZone("", -5*3600-1800)).Format(time.RFC3339Nano),
	} {
		dst := filepath.Join(t.TempDir(), "dst") // cp -a SRC/ DST/ makes DST the copy
		out, err := e.run("cp", "-a", e.p(".wormfs", "at", spelling, "tree")+"/", dst+"/")
		if err != nil {
			t.Fatalf("cp -a at %s: %v\n%s", spelling, err, out)
		}
		if got := manifest(t, dst); manifestString(got) != manifestString(before) {
			t.Fatalf("tree at %s:\n%s\nwant:\n%s", spelling, manifestString(got), manifestString(before))
		}
	}
	// Whole seconds: an instant before the first write shows no bucket.
	early := e.p(".wormfs", "at", at.Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339))
	if names := viewNames(t, early); len(names) != 0 {
		t.Fatalf("an hour before: %v", names)
	}
	if _, err := os.Stat(filepath.Join(early, "tree")); !errnoIs(err, syscall.ENOENT) {
		t.Fatalf("bucket before it existed: %v", err)
	}
	// Now: the current tree.
	nowDir := e.p(".wormfs", "at", time.Now().UTC().Add(time.Second).Format(time.RFC3339), "tree")
	if got, want := manifestString(manifest(t, nowDir)), manifestString(manifest(t, e.p("tree"))); got != want {
		t.Fatalf("tree at now:\n%s\nwant:\n%s", got, want)
	}

	for _, bad := range []string{"yesterday", "2026-13-01T00:00:00Z", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01 00:00:00Z", "2026-01-01T25:00:00Z"} {
		if _, err := os.Stat(e.p(".wormfs", "at", bad)); !errnoIs(err, syscall.ENOENT) {
			t.Fatalf("malformed instant %q: %v", bad, err)
		}
	}

	// Read-only: every change is EROFS.
	ro := e.p(".wormfs", "at", at.Format(time.RFC3339Nano), "tree")
	cases := []struct {
		name string
		f    func() error
	}{
		{"write", func() error { return os.WriteFile(filepath.Join(ro, "README"), []byte("x"), 0o644) }},
		{"append", func() error {
			f, err := os.OpenFile(filepath.Join(ro, "README"), os.O_WRONLY|os.O_APPEND, 0)
			if err == nil {
				f.Close()
			}
			return err
		}},
		{"create", func() error { return os.WriteFile(filepath.Join(ro, "new"), []byte("x"), 0o644) }},
		{"truncate", func() error { return os.Truncate(filepath.Join(ro, "README"), 0) }},
		{"mkdir", func() error { return os.Mkdir(filepath.Join(ro, "d"), 0o755) }},
		{"rmdir", func() error { return os.Remove(filepath.Join(ro, "empty")) }},
		{"unlink", func() error { return os.Remove(filepath.Join(ro, "README")) }},
		{"rename", func() error { return os.Rename(filepath.Join(ro, "README"), filepath.Join(ro, "R")) }},
		{"chmod", func() error { return os.Chmod(filepath.Join(ro, "README"), 0o600) }},
		{"symlink", func() error { return os.Symlink("x", filepath.Join(ro, "l")) }},
		{"setxattr", func() error {
			return syscall.Setxattr(filepath.Join(ro, "README"), "user.s3.legalhold", []byte("ON"), 0)
		}},
	}
	for _, c := range cases {
		t.Run("readonly/"+c.name, func(t *testing.T) {
			if err := c.f(); !errnoIs(err, syscall.EROFS) {
				t.Fatalf("%s in the at view: %v, want EROFS", c.name, err)
			}
		})
	}
	if got, err := os.ReadFile(filepath.Join(ro, "README")); err != nil || string(got) != "readme v1\n" {
		t.Fatalf("README at t: %q, %v", got, err)
	}
	if target, err := os.Readlink(filepath.Join(ro, "docs", "link")); err != nil || target != "../README" {
		t.Fatalf("symlink at t: %q, %v", target, err)
	}
	// Lower-case t and z, as RFC 3339 allows.
	lower := e.p(".wormfs", "at", strings.ToLower(at.Format(time.RFC3339Nano)), "tree", "README")
	if got, err := os.ReadFile(lower); err != nil || string(got) != "readme v1\n" {
		t.Fatalf("README at the lower-case instant: %q, %v", got, err)
	}
	// An instant in the future follows the tree until it is reached
	// (within the entry timeout).
	future := e.p(".wormfs", "at", time.Now().UTC().Add(time.Hour).Format(time.RFC3339), "tree", "README")
	if got, err := os.ReadFile(future); err != nil || string(got) != "readme v2\n" {
		t.Fatalf("README an hour ahead: %q, %v", got, err)
	}
	e.mustSh("printf 'readme v3\n' > tree/README")
	mWaitFor(t, "the future instant to show the new version", 3*time.Second, func() bool {
		got, _ := os.ReadFile(future)
		return string(got) == "readme v3\n"
	})
}

// TestHistoryBucketMode: with --bucket the views keep the bucket name in
// their paths, show only that bucket, and are not listed at the root.
func TestHistoryBucketMode(t *testing.T) {
	e := testMount(t)
	e.mkbucket("only")
	e.mkbucket("other")
	e.mustSh("echo v1 > only/f && echo v2 > only/f && echo o > other/g")
	if err := e.m.Unmount(); err != nil {
		t.Fatal(err)
	}
	e.remount(func(o *fs.Options) { o.Bucket = "only" })
	if names := viewNames(t, e.dir); !slices.Equal(names, []string{"f"}) {
		t.Fatalf("root of a --bucket mount lists %v", names)
	}
	if found := e.mustSh("find " + e.dir); strings.Contains(found, ".wormfs") {
		t.Fatalf("find:\n%s", found)
	}
	ids := e.ids("only", "f")
	if got := viewNames(t, e.vp("only", "f")); !slices.Equal(got, ids) || len(ids) != 2 {
		t.Fatalf("versions view in --bucket mode: %v, store %v", got, ids)
	}
	if got := viewNames(t, e.p(".wormfs", "versions")); !slices.Equal(got, []string{"only"}) {
		t.Fatalf("versions/ in --bucket mode lists %v", got)
	}
	if _, err := os.Stat(e.p(".wormfs", "versions", "other")); !errnoIs(err, syscall.ENOENT) {
		t.Fatalf("another bucket through a --bucket mount: %v", err)
	}
	if b, err := os.ReadFile(e.vp("only", "f", ids[1])); string(b) != "v1\n" || err != nil {
		t.Fatalf("old version: %q, %v", b, err)
	}
	at := e.p(".wormfs", "at", time.Now().UTC().Add(time.Second).Format(time.RFC3339Nano))
	if got := viewNames(t, at); !slices.Equal(got, []string{"only"}) {
		t.Fatalf("at view in --bucket mode lists %v", got)
	}
	if src, ok := mountSource(e.dir); !ok || src != "wormfs:only" {
		t.Fatalf("mount source %q (%v), want wormfs:only", src, ok)
	}
	out, code := runWormfs(t, "versions", e.p("f"))
	if code != 0 || !strings.HasPrefix(out, ids[0]+"\tversion\t3\t") || !bytes.Contains([]byte(out), []byte(ids[1])) {
		t.Fatalf("wormfs versions in --bucket mode (exit %d):\n%s", code, out)
	}
}

// TestHistoryViewHostile: odd names and requests in the views get clear
// errors and change nothing.
func TestHistoryViewHostile(t *testing.T) {
	e := testHistory(t, nil)
	e.mkbucket("odd")
	e.mustSh("echo a > odd/f && rm odd/f && mkdir -p odd/d && echo b > odd/d/g")
	ids := e.ids("odd", "f") // a delete marker, then the version
	e.mustSh("for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo $i > odd/many; done")
	lettered := ""
	for _, id := range e.ids("odd", "many") {
		if strings.ContainsAny(id, "abcdef") {
			lettered = id
		}
	}
	if lettered == "" {
		t.Fatal("no version id with a hex letter")
	}
	before := storeDigest(t, e.store)
	long := strings.Repeat("x", 300)
	cases := []struct {
		name  string
		f     func() error
		errno syscall.Errno
	}{
		{"long name in versions", func() error { _, err := os.Stat(e.vp("odd", long)); return err }, syscall.ENAMETOOLONG},
		{"long name in at", func() error {
			_, err := os.Stat(e.p(".wormfs", "at", time.Now().UTC().Add(time.Second).Format(time.RFC3339), "odd", long))
			return err
		}, syscall.ENAMETOOLONG},
		{"unknown bucket", func() error { _, err := os.Stat(e.p(".wormfs", "versions", "nosuchbucket")); return err }, syscall.ENOENT},
		{"invalid bucket name", func() error { _, err := os.Stat(e.p(".wormfs", "versions", "UPPER")); return err }, syscall.ENOENT},
		{"unknown version id", func() error { _, err := os.Stat(e.vp("odd", "f", "00000000000fffff")); return err }, syscall.ENOENT},
		{"another spelling of an id", func() error { _, err := os.Stat(e.vp("odd", "many", strings.ToUpper(lettered))); return err }, syscall.ENOENT},
		{"null id of a versioned key", func() error { _, err := os.Stat(e.vp("odd", "f", "null")); return err }, syscall.ENOENT},
		{"unknown name under .wormfs", func() error { _, err := os.Stat(e.p(".wormfs", "nope")); return err }, syscall.ENOENT},
		{"unlink a key directory", func() error { return syscall.Unlink(e.vp("odd", "d")) }, syscall.EISDIR},
		{"rmdir a key directory", func() error { return syscall.Rmdir(e.vp("odd", "f")) }, syscall.EROFS},
		{"mkdir in the versions view", func() error { return os.Mkdir(e.vp("odd", "f", "new"), 0o755) }, syscall.EROFS},
		{"mkdir in .wormfs", func() error { return os.Mkdir(e.p(".wormfs", "mine"), 0o755) }, syscall.EROFS},
		{"mkdir .wormfs at the root", func() error { return os.Mkdir(e.p(".wormfs2"), 0o755) }, syscall.EPERM},
		{"symlink in the versions view", func() error { return os.Symlink("x", e.vp("odd", "f", "l")) }, syscall.EROFS},
		{"set delete-marker attribute", func() error {
			return syscall.Setxattr(e.vp("odd", "f", ids[1]), "user.s3.delete-marker", []byte("true"), 0)
		}, syscall.EPERM},
		{"set version-id", func() error { return syscall.Setxattr(e.vp("odd", "f", ids[1]), "user.s3.version-id", []byte("x"), 0) }, syscall.EPERM},
		{"retention on a delete marker", func() error {
			return syscall.Setxattr(e.vp("odd", "f", ids[0]), "user.s3.retention", []byte("GOVERNANCE +1d"), 0)
		}, syscall.EINVAL},
		{"malformed retention", func() error {
			return syscall.Setxattr(e.vp("odd", "f", ids[1]), "user.s3.retention", []byte("FOREVER"), 0)
		}, syscall.EINVAL},
		{"user metadata in the view", func() error { return syscall.Setxattr(e.vp("odd", "f", ids[1]), "user.note", []byte("x"), 0) }, syscall.EROFS},
		{"audit file truncate", func() error { return os.Truncate(e.p(".wormfs", "audit"), 0) }, syscall.EROFS},
		{"audit file unlink", func() error { return os.Remove(e.p(".wormfs", "audit")) }, syscall.EROFS},
		{"rename into the versions view", func() error { return os.Rename(e.p("odd", "d", "g"), e.vp("odd", "f", "g")) }, syscall.EXDEV},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.f(); !errnoIs(err, c.errno) {
				t.Fatalf("got %v, want %v", err, c.errno)
			}
		})
	}
	assertUnchanged(t, e.store, before)
}

// TestHistoryShadowedObject: an object a shadowed by keys under a/ (made
// over S3) stays reachable in the versions view, next to a/'s keys.
func TestHistoryShadowedObject(t *testing.T) {
	e := testHistory(t, nil)
	e.s3.lockBucket(t, "shadow")
	id := e.s3.put(t, "shadow", "a", "the object a\n")
	e.s3.put(t, "shadow", "a/b", "under a\n")
	if st, err := os.Stat(e.p("shadow", "a")); err != nil || !st.IsDir() {
		t.Fatalf("main tree a: %v %v (the directory shadows the object)", st, err)
	}
	if got := viewNames(t, e.vp("shadow", "a")); !slices.Equal(got, []string{id, "b"}) {
		t.Fatalf("versions view of a lists %v, want [%s b]", got, id)
	}
	if b, err := os.ReadFile(e.vp("shadow", "a", id)); err != nil || string(b) != "the object a\n" {
		t.Fatalf("shadowed object through the view: %q, %v", b, err)
	}
	if got := viewNames(t, e.vp("shadow", "a/b")); len(got) != 1 {
		t.Fatalf("versions view of a/b lists %v", got)
	}
}
