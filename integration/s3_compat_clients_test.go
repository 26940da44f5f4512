package integration

// Issue 17, "must show" 3: real S3 clients from Debian (rclone, s3cmd,
// restic) do their jobs end to end against the listener, into a plain
// versioned bucket and into an Object Lock bucket with a default
// retention, where their deletes and prunes become delete markers and
// they report success wherever AWS would let them. .ci/run installs the
// clients; without one the test is skipped, or fails under CI
// (WORMFS_REQUIRE_FUSE=1, WORMFS_REQUIRE_CLIENTS=1 or CI=true).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// needClient returns the path of a client binary, or skips (fails under
// CI) when it is missing.
func needClient(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if requireEnv("WORMFS_REQUIRE_FUSE") || requireEnv("WORMFS_REQUIRE_CLIENTS") || os.Getenv("CI") == "true" {
		t.Fatalf("%s not found on PATH (.ci/run installs it from Debian): %v", name, err)
	}
	t.Skipf("%s not found on PATH (%v): apt-get install %s; set WORMFS_REQUIRE_CLIENTS=1 to make this a failure", name, err, name)
	return ""
}

// runClient runs a client with env, bounded to 5 minutes, and returns its
// combined output.
func runClient(t *testing.T, env []string, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %v in %v", filepath.Base(bin), strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond))
	return out.String(), err
}

func mustRun(t *testing.T, env []string, bin string, args ...string) string {
	t.Helper()
	out, err := runClient(t, env, bin, args...)
	if err != nil {
		t.Fatalf("%s %s failed: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, tailString(out, 3000))
	}
	return out
}

// writeFile writes size pseudo-random bytes (seeded by name) to path.
func writeFile(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var seed [32]byte
	copy(seed[:], path)
	rng := rand.NewChaCha8(seed)
	w := bufio.NewWriterSize(f, 1<<20)
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		_, _ = rng.Read(buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		left -= n
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// mixedTree is the tree of the issue: 0 B to 50 MiB in nested
// directories, and one file of 200 MiB when big is set.
func mixedTree(t *testing.T, big bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tree")
	files := map[string]int64{
		"empty":                 0,
		"one":                   1,
		"docs/readme.txt":       1 << 10,
		"docs/a b/space.txt":    100 << 10,
		"docs/a b/c/deep.bin":   1 << 20,
		"media/five-plus.bin":   5<<20 + 1,
		"media/seventeen.bin":   17 << 20,
		"media/fifty.bin":       50 << 20,
		"unicode/grüße €.txt":   4096,
		"unicode/plus+and=.txt": 10,
	}
	if big {
		files["media/big/two-hundred.bin"] = 200 << 20
	}
	for p, n := range files {
		writeFile(t, filepath.Join(dir, p), n)
	}
	return dir
}

// lockBucketWithDefault creates an Object Lock bucket whose default
// retention is GOVERNANCE for a day.
func (e *s3Env) lockBucketWithDefault(t *testing.T, name string) {
	t.Helper()
	e.lockBucket(t, name)
	_, err := e.Client.PutObjectLockConfiguration(e.ctx(t), &s3.PutObjectLockConfigurationInput{Bucket: aws.String(name),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}}}})
	must(t, err, "PutObjectLockConfiguration")
}

// versionCounts counts the versions and delete markers under prefix, and
// the keys whose latest entry is a delete marker.
func (e *s3Env) versionCounts(t *testing.T, bucket, prefix string) (versions, markers, deletedKeys int) {
	t.Helper()
	p := s3.NewListObjectVersionsPaginator(e.Client, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx(t))
		must(t, err, "ListObjectVersions")
		versions += len(page.Versions)
		markers += len(page.DeleteMarkers)
		for _, m := range page.DeleteMarkers {
			if aws.ToBool(m.IsLatest) {
				deletedKeys++
			}
		}
	}
	return
}

// currentKeys lists the current keys under prefix.
func (e *s3Env) currentKeys(t *testing.T, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(e.Client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx(t))
		must(t, err, "ListObjectsV2")
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys
}

func treeFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestS3CompatRclone(t *testing.T) {
	t.Parallel() // waits on external processes most of the time
	rclone := needClient(t, "rclone")
	e := testS3(t)
	conf := filepath.Join(t.TempDir(), "rclone.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// isolatedEnv drops AWS_* (AWS_CA_BUNDLE breaks rclone's S3 backend
	// with an http endpoint: "unable to load custom CA bundle").
	env := append(isolatedEnv(t), "RCLONE_CONFIG="+conf,
		"RCLONE_CONFIG_WFS_TYPE=s3", "RCLONE_CONFIG_WFS_PROVIDER=Other", "RCLONE_CONFIG_WFS_ENV_AUTH=false",
		"RCLONE_CONFIG_WFS_ACCESS_KEY_ID="+rootAccessKey, "RCLONE_CONFIG_WFS_SECRET_ACCESS_KEY="+rootSecretKey,
		"RCLONE_CONFIG_WFS_ENDPOINT="+e.PlainURL, "RCLONE_CONFIG_WFS_REGION="+testRegion,
		// The 200 MiB file goes up in 16 MiB parts (13 parts).
		"RCLONE_S3_UPLOAD_CUTOFF=100M", "RCLONE_S3_CHUNK_SIZE=16M")
	src := mixedTree(t, true)
	files := treeFiles(t, src)

	t.Run("versioned bucket", func(t *testing.T) {
		const b = "rclone-plain"
		e.plainBucket(t, b, "Enabled")
		mustRun(t, env, rclone, "sync", src, "wfs:"+b+"/tree")
		if got := e.currentKeys(t, b, "tree/"); len(got) != len(files) {
			t.Fatalf("after sync: %d keys, want %d: %q", len(got), len(files), got)
		}
		if v := e.storeVersion(t, b, "tree/media/big/two-hundred.bin", ""); v.Size != 200<<20 || !strings.HasSuffix(v.ETag, "-13") {
			t.Fatalf("the 200 MiB file: size %d ETag %s, want a 13-part upload", v.Size, v.ETag)
		}
		out := mustRun(t, env, rclone, "check", src, "wfs:"+b+"/tree")
		if !strings.Contains(out, "0 differences found") {
			t.Fatalf("rclone check: %s", out)
		}
		// Change one file, remove another, sync again: the old versions
		// stay and --s3-versions lists them.
		writeFile(t, filepath.Join(src, "docs/readme.txt"), 2<<10)
		if err := os.Remove(filepath.Join(src, "one")); err != nil {
			t.Fatal(err)
		}
		mustRun(t, env, rclone, "sync", src, "wfs:"+b+"/tree")
		out = mustRun(t, env, rclone, "check", src, "wfs:"+b+"/tree")
		if !strings.Contains(out, "0 differences found") {
			t.Fatalf("rclone check after the second sync: %s", out)
		}
		out = mustRun(t, env, rclone, "ls", "--s3-versions", "wfs:"+b+"/tree")
		// rclone puts the version's time before the extension.
		for _, want := range []string{"docs/readme-v20", "one-v20", "docs/readme.txt\n"} {
			if !strings.Contains(out, want) {
				t.Fatalf("rclone ls --s3-versions lacks %q:\n%s", want, out)
			}
		}
		// Server-side copy, then delete.
		out = mustRun(t, env, rclone, "copyto", "-v", "wfs:"+b+"/tree/media/fifty.bin", "wfs:"+b+"/copy/fifty.bin")
		if !strings.Contains(out, "server-side copy") {
			t.Fatalf("rclone copyto did not copy server-side:\n%s", out)
		}
		src50, dst50 := e.storeVersion(t, b, "tree/media/fifty.bin", ""), e.storeVersion(t, b, "copy/fifty.bin", "")
		if src50.ETag != dst50.ETag || dst50.Size != 50<<20 {
			t.Fatalf("copy: %+v, source %+v", dst50, src50)
		}
		mustRun(t, env, rclone, "delete", "wfs:"+b+"/copy")
		if got := e.currentKeys(t, b, "copy/"); len(got) != 0 {
			t.Fatalf("after rclone delete: %q", got)
		}
		if v, m, _ := e.versionCounts(t, b, "copy/"); v != 1 || m != 1 {
			t.Fatalf("after rclone delete in a versioned bucket: %d versions %d markers, want 1 and 1", v, m)
		}
	})

	t.Run("object lock bucket with default retention", func(t *testing.T) {
		const b = "rclone-lock"
		e.lockBucketWithDefault(t, b)
		lsrc := filepath.Join(t.TempDir(), "tree")
		mustRun(t, env, rclone, "copy", src, lsrc) // a copy of the tree to change
		files := treeFiles(t, lsrc)
		mustRun(t, env, rclone, "sync", lsrc, "wfs:"+b+"/tree")
		if v := e.storeVersion(t, b, "tree/media/big/two-hundred.bin", ""); v.RetMode == "" {
			t.Fatal("the 200 MiB file has no retention from the bucket default")
		}
		out := mustRun(t, env, rclone, "check", lsrc, "wfs:"+b+"/tree")
		if !strings.Contains(out, "0 differences found") {
			t.Fatalf("rclone check: %s", out)
		}
		before, _, _ := e.versionCounts(t, b, "tree/")
		// Deletions by sync and by delete succeed, as on AWS: they are
		// delete markers; every locked version stays.
		if err := os.Remove(filepath.Join(lsrc, "media/seventeen.bin")); err != nil {
			t.Fatal(err)
		}
		mustRun(t, env, rclone, "sync", lsrc, "wfs:"+b+"/tree")
		if _, _, dk := e.versionCounts(t, b, "tree/"); dk != 1 {
			t.Fatalf("sync's delete: %d keys deleted, want 1", dk)
		}
		mustRun(t, env, rclone, "delete", "wfs:"+b+"/tree")
		if got := e.currentKeys(t, b, "tree/"); len(got) != 0 {
			t.Fatalf("after rclone delete: %q", got)
		}
		v, m, dk := e.versionCounts(t, b, "tree/")
		if v != before || dk != len(files) || m != len(files) {
			t.Fatalf("after rclone delete: %d versions (before %d), %d markers, %d deleted keys (want %d)", v, before, m, dk, len(files))
		}
	})
}

// s3cmdConfig writes an s3cmd configuration for the listener's plain HTTP
// endpoint (path style, SigV4).
func s3cmdConfig(t *testing.T, e *s3Env) string {
	t.Helper()
	host := strings.TrimPrefix(e.PlainURL, "http://")
	cfg := fmt.Sprintf(`[default]
access_key = %s
secret_key = %s
host_base = %s
host_bucket = %s
use_https = False
signature_v2 = False
bucket_location = %s
check_ssl_certificate = False
progress_meter = False
`, rootAccessKey, rootSecretKey, host, host, testRegion)
	p := filepath.Join(t.TempDir(), "s3cfg")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestS3CompatS3cmd(t *testing.T) {
	t.Parallel()
	s3cmd := needClient(t, "s3cmd")
	e := testS3(t)
	env := isolatedEnv(t)
	cfg := s3cmdConfig(t, e)
	run := func(args ...string) string {
		t.Helper()
		return mustRun(t, env, s3cmd, append([]string{"-c", cfg}, args...)...)
	}
	work := t.TempDir()
	small := filepath.Join(work, "small.bin")
	writeFile(t, small, 123456)
	big := filepath.Join(work, "big.bin")
	writeFile(t, big, 100<<20)
	tree := mixedTree(t, false)

	t.Run("plain bucket", func(t *testing.T) {
		const b = "s3cmd-plain"
		run("mb", "s3://"+b)
		run("put", "--add-header=Cache-Control:max-age=300, public", small, "s3://"+b+"/small.bin")
		h, err := e.Client.HeadObject(e.ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("small.bin")})
		must(t, err, "HeadObject")
		if aws.ToString(h.CacheControl) != "max-age=300, public" {
			t.Fatalf("Cache-Control of the s3cmd upload: %q", aws.ToString(h.CacheControl))
		}
		got := filepath.Join(t.TempDir(), "got")
		run("get", "s3://"+b+"/small.bin", got)
		compareFiles(t, small, got)

		run("sync", tree+"/", "s3://"+b+"/tree/")
		if keys := e.currentKeys(t, b, "tree/"); len(keys) != len(treeFiles(t, tree)) {
			t.Fatalf("after s3cmd sync: %q", keys)
		}
		back := filepath.Join(t.TempDir(), "back") + "/"
		run("sync", "s3://"+b+"/tree/", back)
		for _, f := range treeFiles(t, tree) {
			compareFiles(t, filepath.Join(tree, f), filepath.Join(back, f))
		}

		out := run("info", "s3://"+b+"/small.bin")
		if !strings.Contains(out, "FULL_CONTROL") || !strings.Contains(out, "123456") {
			t.Fatalf("s3cmd info of an object:\n%s", out)
		}
		out = run("info", "s3://"+b)
		if !strings.Contains(out, "FULL_CONTROL") || !strings.Contains(out, "CORS:") {
			t.Fatalf("s3cmd info of a bucket:\n%s", out)
		}
		before := storeDigest(t, e.Store)
		run("setacl", "--acl-private", "s3://"+b+"/small.bin")
		assertUnchanged(t, e.Store, before)
		// Making it public is refused as AWS refuses it (BucketOwnerEnforced).
		out, err = runClient(t, env, s3cmd, "-c", cfg, "setacl", "--acl-public", "s3://"+b+"/small.bin")
		if err == nil || !strings.Contains(out, "AccessControlListNotSupported") {
			t.Fatalf("setacl --acl-public: %v\n%s", err, out)
		}

		start := time.Now()
		run("put", big, "s3://"+b+"/big.bin")
		v := e.storeVersion(t, b, "big.bin", "")
		if v.Size != 100<<20 || !strings.HasSuffix(v.ETag, "-7") {
			t.Fatalf("100 MiB s3cmd upload: size %d ETag %s, want 7 parts of 15 MiB", v.Size, v.ETag)
		}
		got = filepath.Join(t.TempDir(), "big")
		run("get", "s3://"+b+"/big.bin", got)
		compareFiles(t, big, got)
		t.Logf("100 MiB multipart round trip in %v", time.Since(start).Round(time.Millisecond))
	})

	t.Run("object lock bucket with default retention", func(t *testing.T) {
		const b = "s3cmd-lock"
		e.lockBucketWithDefault(t, b)
		// s3cmd 2.3 sends no Content-MD5 on uploads, which AWS requires
		// for a bucket with default retention: refused here as there.
		out, err := runClient(t, env, s3cmd, "-c", cfg, "put", small, "s3://"+b+"/small.bin")
		if err == nil || !strings.Contains(out, "InvalidRequest") || !strings.Contains(out, "Content-MD5") {
			t.Fatalf("s3cmd put into a bucket with default retention: %v\n%s", err, out)
		}
		// With the header added by hand it works.
		data, _ := os.ReadFile(small)
		sum := md5.Sum(data)
		run("put", "--add-header=Content-MD5:"+base64.StdEncoding.EncodeToString(sum[:]), small, "s3://"+b+"/small.bin")
		for i := 0; i < 3; i++ {
			e.put(t, b, fmt.Sprintf("dir/f%d", i), "locked")
		}
		before, _, _ := e.versionCounts(t, b, "")
		run("del", "s3://"+b+"/small.bin")
		run("del", "--recursive", "s3://"+b+"/dir/")
		v, m, dk := e.versionCounts(t, b, "")
		if v != before || v != 4 || m != 4 || dk != 4 {
			t.Fatalf("after s3cmd del: %d versions (before %d), %d markers, %d deleted keys; want 4, 4, 4", v, before, m, dk)
		}
		if keys := e.currentKeys(t, b, ""); len(keys) != 0 {
			t.Fatalf("after s3cmd del: %q", keys)
		}
	})
}

func compareFiles(t *testing.T, want, got string) {
	t.Helper()
	a, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("%s: %d bytes back, want the %d of %s", got, len(b), len(a), want)
	}
}

func TestS3CompatRestic(t *testing.T) {
	t.Parallel()
	restic := needClient(t, "restic")
	e := testS3(t)
	tree := mixedTree(t, false)
	for _, c := range []struct {
		name, bucket string
		lock         bool
	}{
		{"versioned bucket", "restic-plain", false},
		{"object lock bucket with default retention", "restic-lock", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.lock {
				e.lockBucketWithDefault(t, c.bucket)
			} else {
				e.plainBucket(t, c.bucket, "Enabled")
			}
			env := append(isolatedEnv(t), "AWS_ACCESS_KEY_ID="+rootAccessKey, "AWS_SECRET_ACCESS_KEY="+rootSecretKey,
				"RESTIC_REPOSITORY=s3:"+e.PlainURL+"/"+c.bucket+"/repo", "RESTIC_PASSWORD=wormfs-test",
				"RESTIC_CACHE_DIR="+t.TempDir())
			src := filepath.Join(t.TempDir(), "data")
			if err := os.CopyFS(src, os.DirFS(tree)); err != nil {
				t.Fatal(err)
			}
			mustRun(t, env, restic, "init")
			mustRun(t, env, restic, "backup", src)
			// A second snapshot without the 50 MiB file: pruning the first
			// frees its data.
			if err := os.Remove(filepath.Join(src, "media/fifty.bin")); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(src, "docs/new.txt"), 5000)
			mustRun(t, env, restic, "backup", src)
			mustRun(t, env, restic, "check", "--read-data")
			out := filepath.Join(t.TempDir(), "restore")
			mustRun(t, env, restic, "restore", "latest", "--target", out)
			for _, f := range treeFiles(t, src) {
				compareFiles(t, filepath.Join(src, f), filepath.Join(out, src, f))
			}
			before, _, _ := e.versionCounts(t, c.bucket, "repo/")
			prune := mustRun(t, env, restic, "forget", "--keep-last", "1", "--prune")
			if !strings.Contains(prune, "done") {
				t.Fatalf("forget --prune:\n%s", prune)
			}
			mustRun(t, env, restic, "check", "--read-data")
			v, m, dk := e.versionCounts(t, c.bucket, "repo/")
			if m == 0 || dk != m {
				t.Fatalf("prune deleted nothing: %d versions %d markers", v, m)
			}
			if v < before {
				t.Fatalf("prune removed versions in a versioned bucket: %d, before %d", v, before)
			}
			t.Logf("prune: %d versions (before %d), %d delete markers", v, before, m)
			if c.lock {
				vs, err := e.Store.Versions(c.bucket, "repo/config")
				if err != nil || len(vs) == 0 || vs[len(vs)-1].RetMode == "" {
					t.Fatalf("restic's config has no retention from the bucket default: %+v %v", vs, err)
				}
			}
		})
	}
}
