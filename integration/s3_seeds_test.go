package integration

// The seed guides (shared/seeds/*.txt) run for real: every `aws s3api`
// command in them, taken verbatim from the seed text, run in order with the
// preinstalled AWS CLI against the listener. Only the endpoint is added or
// replaced, placeholders are filled and dates moved into the future; each
// step says what it changes and why. Then `aws s3 cp` of 100 MiB
// (multipart) and `aws s3 sync` of a small tree, up and back down.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wormfs/wormfs/meta"
)

// ---- the AWS CLI ----

type awsCLI struct {
	dir      string   // working directory (a temp dir)
	env      []string // isolated environment
	endpoint string   // http://127.0.0.1:PORT
	version  string
}

// newAWSCLI finds the aws binary and builds an environment that reads no
// config of the developer's: HOME and the config files are temp files.
// Without the binary the test is skipped, or fails when
// WORMFS_REQUIRE_AWSCLI=1.
func newAWSCLI(t *testing.T, e *s3Env) *awsCLI {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		if requireEnv("WORMFS_REQUIRE_AWSCLI") {
			t.Fatalf("aws CLI not found on PATH and WORMFS_REQUIRE_AWSCLI=1: %v", err)
		}
		t.Skipf("aws CLI not found on PATH (%v); set WORMFS_REQUIRE_AWSCLI=1 to make this a failure", err)
	}
	env := isolatedEnv(t)
	c := &awsCLI{dir: t.TempDir(), env: env, endpoint: e.PlainURL}
	out, stderr, rc := c.run(t, bin+" --version", nil)
	if rc != 0 {
		if requireEnv("WORMFS_REQUIRE_AWSCLI") {
			t.Fatalf("aws --version failed (%d): %s%s", rc, out, stderr)
		}
		t.Skipf("aws --version failed (%d): %s%s", rc, out, stderr)
	}
	c.version = strings.TrimSpace(out + stderr)
	t.Logf("using %s", c.version)
	return c
}

// isolatedEnv is the process environment without AWS_*, BOTO* and HOME,
// plus the root pair, the region, a temp HOME and empty AWS config files,
// so that nothing of the developer's configuration is read.
func isolatedEnv(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	cfg := filepath.Join(home, "aws-config")
	creds := filepath.Join(home, "aws-credentials")
	for _, f := range []string{cfg, creds} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	origHome, _ := os.UserHomeDir()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || k == "HOME" || strings.HasPrefix(k, "BOTO") {
			continue
		}
		env = append(env, kv)
	}
	// pyenv shims find their root through PYENV_ROOT or $HOME/.pyenv.
	if os.Getenv("PYENV_ROOT") == "" && origHome != "" {
		if _, err := os.Stat(filepath.Join(origHome, ".pyenv")); err == nil {
			env = append(env, "PYENV_ROOT="+filepath.Join(origHome, ".pyenv"))
		}
	}
	env = append(env,
		"HOME="+home,
		"AWS_ACCESS_KEY_ID="+rootAccessKey,
		"AWS_SECRET_ACCESS_KEY="+rootSecretKey,
		"AWS_DEFAULT_REGION="+testRegion,
		"AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_PAGER=",
	)
	return env
}

// run runs a shell command line (pipes, $VARS and quoting as the seeds
// write them) with the CLI environment plus extra, bounded to 5 minutes.
func (c *awsCLI) run(t *testing.T, script string, extra []string) (stdout, stderr string, rc int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = c.dir
	cmd.Env = append(append([]string{}, c.env...), extra...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s: timed out after 5 minutes", script)
	}
	rc = 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			rc = ee.ExitCode()
		} else {
			t.Fatalf("%s: %v", script, err)
		}
	}
	return o.String(), e.String(), rc
}

// ---- extracting the commands of the seeds ----

var wsRun = regexp.MustCompile(`\s+`)

// normCmd is a command on one line: continuations joined, runs of white
// space made one space.
func normCmd(s string) string {
	s = strings.ReplaceAll(s, "\\\n", " ")
	return strings.TrimSpace(wsRun.ReplaceAllString(s, " "))
}

// seedDir finds shared/seeds: $WORMFS_SEEDS, or a shared/seeds beside one
// of the directories above the package (the repo sits next to shared/).
func seedDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("WORMFS_SEEDS"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		for _, c := range []string{filepath.Join(d, "shared", "seeds"), filepath.Join(d, "seeds")} {
			if m, _ := filepath.Glob(filepath.Join(c, "*.txt")); len(m) > 0 {
				return c
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if requireEnv("WORMFS_REQUIRE_AWSCLI") {
		t.Fatalf("shared/seeds not found above %s (set WORMFS_SEEDS)", wd)
	}
	t.Skipf("shared/seeds not found above %s (set WORMFS_SEEDS)", wd)
	return ""
}

// seedCommand is one `aws s3api`/`aws s3` command as written in a seed:
// Text is verbatim (continuation lines and multi-line quoted JSON kept).
type seedCommand struct {
	File string
	Text string
}

var awsStart = regexp.MustCompile(`\baws\s+(--endpoint(?:-url)?[= ]\S+\s+)?s3(api)?\s`)

// extractCommands returns the aws s3/s3api commands of a seed text in
// order: from "aws" to the end of the line, following backslash
// continuations and single-quoted strings over line ends; a ")" closing a
// $(...) around the command is not part of it.
func extractCommands(file, text string) []seedCommand {
	var cmds []seedCommand
	for _, loc := range awsStart.FindAllStringIndex(text, -1) {
		i := loc[0]
		var b strings.Builder
		inQuote := false
		for i < len(text) {
			ch := text[i]
			if ch == '\'' {
				inQuote = !inQuote
			}
			if ch == '\n' && !inQuote {
				s := strings.TrimRight(b.String(), " \t")
				if strings.HasSuffix(s, "\\") {
					b.WriteByte('\n')
					i++
					continue
				}
				break
			}
			b.WriteByte(ch)
			i++
		}
		cmd := strings.TrimRight(b.String(), " \t\r")
		if strings.Count(cmd, "(") < strings.Count(cmd, ")") && strings.HasSuffix(cmd, ")") {
			cmd = strings.TrimSuffix(cmd, ")")
		}
		cmds = append(cmds, seedCommand{File: file, Text: cmd})
	}
	return cmds
}

// ---- the steps ----

type seedStep struct {
	name string
	// seed names the seed file (prefix, e.g. "002") and the command in it
	// by a unique prefix of its whitespace-normalised text. Empty seed:
	// a setup or check step of this test, not a seed command; cmd is then
	// the command line itself.
	seed, cmd string
	// why explains every change to the seed command besides the endpoint.
	why   string
	subst []string // old, new pairs applied to the command text
	pipe  string   // shell text before the command (as the seed writes it)
	// capture stores the trimmed stdout in this variable for later steps.
	capture string
	// wantFail: the command must fail with this error code in stderr,
	// and leave bucket unchanged.
	wantFail, bucket string
	// check inspects stdout (JSON) and the store.
	check func(t *testing.T, out string, st *meta.Store, vars map[string]string)
}

func TestSeedsAWSCLI(t *testing.T) {
	t.Parallel() // waits on external processes most of the time
	dir := seedDir(t)
	e := testS3(t)
	cli := newAWSCLI(t, e)

	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	sort.Strings(files)
	var all []seedCommand
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, extractCommands(filepath.Base(f), string(b))...)
	}
	if len(all) == 0 {
		t.Fatalf("no aws commands found in %s", dir)
	}
	used := make([]int, len(all))
	find := func(seed, prefix string) (int, error) {
		found := -1
		for i, c := range all {
			if strings.HasPrefix(c.File, seed) && strings.HasPrefix(normCmd(c.Text), normCmd(prefix)) {
				if found >= 0 {
					return -1, fmt.Errorf("seed %s: %q matches more than one command", seed, prefix)
				}
				found = i
			}
		}
		if found < 0 {
			return -1, fmt.Errorf("seed %s: no command starts with %q", seed, prefix)
		}
		return found, nil
	}

	// "-" as a file: the AWS CLI v1 reads --body from a path (it has no
	// stdin support for blobs: "Blob values must be a path to a file"), so
	// for `echo "important data" | aws s3api put-object ... --body -` the
	// piped text is also put in a file named "-".
	if err := os.WriteFile(filepath.Join(cli.dir, "-"), []byte("important data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ name, body string }{
		{"report.pdf", "%PDF-1.4 audit report\n"},
		{"object.txt", "an object for the OVH guide\n"},
	} {
		if err := os.WriteFile(filepath.Join(cli.dir, f.name), []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The guides are independent (each has its own buckets): they run at
	// the same time (goroutines, not t.Parallel, whose limit is
	// GOMAXPROCS: the CLI processes mostly wait), each in its own order.
	var mu sync.Mutex
	var guides []string
	steps := map[string][]seedStep{}
	for _, s := range seedSteps() {
		g := strings.Fields(s.name)[0]
		if steps[g] == nil {
			guides = append(guides, g)
		}
		steps[g] = append(steps[g], s)
	}
	t.Run("guides", func(t *testing.T) {
		var wg sync.WaitGroup
		defer wg.Wait()
		for _, g := range guides {
			wg.Add(1)
			go t.Run(g, func(t *testing.T) {
				defer wg.Done()
				vars := map[string]string{}
				for i, s := range steps[g] {
					ok := t.Run(fmt.Sprintf("%02d %s", i, s.name), func(t *testing.T) {
						text := s.cmd
						if s.seed != "" {
							mu.Lock()
							idx, err := find(s.seed, s.cmd)
							if err == nil {
								used[idx]++
								text = all[idx].Text
							}
							mu.Unlock()
							if err != nil {
								t.Fatal(err)
							}
						}
						runSeedStep(t, e, cli, s, text, vars)
					})
					if !ok && s.capture != "" {
						t.Fatalf("step %q failed; later steps need %s", s.name, s.capture)
					}
				}
			})
		}
	})
	for i, c := range all {
		if used[i] == 0 {
			t.Errorf("seed command not run: %s: %s", c.File, normCmd(c.Text))
		}
	}
	t.Logf("%d seed commands in %d files, all run", len(all), len(files))
}

// runSeedStep runs one step's command (text: the seed's, or the step's
// own) after its substitutions, and checks the outcome.
func runSeedStep(t *testing.T, e *s3Env, cli *awsCLI, s seedStep, text string, vars map[string]string) {
	t.Helper()
	for j := 0; j+1 < len(s.subst); j += 2 {
		if !strings.Contains(text, s.subst[j]) {
			t.Fatalf("substitution %q not in the command %q", s.subst[j], text)
		}
		text = strings.ReplaceAll(text, s.subst[j], s.subst[j+1])
	}
	script := s.pipe + withEndpoint(text, cli.endpoint)
	if s.why != "" {
		t.Logf("changed: %s", s.why)
	}
	var extra []string
	for k, v := range vars {
		extra = append(extra, k+"="+v)
	}
	var before string
	if s.wantFail != "" {
		before = bucketDigest(t, e.Store, s.bucket)
	}
	start := time.Now()
	out, stderr, rc := cli.run(t, script, extra)
	t.Logf("$ %s\n-> rc=%d (%.1fs)\n%s%s", script, rc, time.Since(start).Seconds(), out, stderr)
	if s.wantFail != "" {
		if rc == 0 || !strings.Contains(stderr, s.wantFail) {
			t.Fatalf("want a failure with %s, got rc=%d stdout=%q stderr=%q", s.wantFail, rc, out, stderr)
		}
		if after := bucketDigest(t, e.Store, s.bucket); after != before {
			t.Fatalf("the refused command changed bucket %s:\nbefore:\n%s\nafter:\n%s", s.bucket, before, after)
		}
		return
	}
	if rc != 0 {
		t.Fatalf("rc=%d\nstderr: %s", rc, stderr)
	}
	if s.capture != "" {
		vars[s.capture] = strings.TrimSpace(out)
		if vars[s.capture] == "" || vars[s.capture] == "None" {
			t.Fatalf("%s captured %q", s.capture, vars[s.capture])
		}
	}
	if s.check != nil {
		s.check(t, out, e.Store, vars)
	}
}

var (
	endpointFlag = regexp.MustCompile(`--endpoint(-url)?[= ]\S+`)
	awsWord      = regexp.MustCompile(`\baws\s`)
)

// withEndpoint points every aws command of a script at the listener: an
// --endpoint[-url] it has is replaced, otherwise --endpoint-url is added
// right after "aws" (a global option may come before the service).
func withEndpoint(script, url string) string {
	script = endpointFlag.ReplaceAllStringFunc(script, func(m string) string {
		if strings.HasPrefix(m, "--endpoint=") {
			return "--endpoint=" + url
		}
		if strings.HasPrefix(m, "--endpoint ") {
			return "--endpoint " + url
		}
		if strings.HasPrefix(m, "--endpoint-url=") {
			return "--endpoint-url=" + url
		}
		return "--endpoint-url " + url
	})
	locs := awsWord.FindAllStringIndex(script, -1)
	var b strings.Builder
	prev := 0
	for i, loc := range locs {
		end := len(script)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		b.WriteString(script[prev:loc[1]])
		if !strings.Contains(script[loc[1]:end], "--endpoint") {
			b.WriteString("--endpoint-url " + url + " ")
		}
		prev = loc[1]
	}
	b.WriteString(script[prev:])
	return b.String()
}

// ---- checks ----

func parseJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	return m
}

// sameShape fails unless got has exactly the keys of want, recursively in
// objects, with equal values wherever want has a non-nil value; a want
// value of nil only requires the key.
func sameShape(t *testing.T, path string, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T %v, want an object", path, got, got)
			return
		}
		for k := range w {
			if _, ok := g[k]; !ok {
				t.Errorf("%s: key %q missing (got keys %v)", path, k, keysOf(g))
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				t.Errorf("%s: unexpected key %q", path, k)
			}
		}
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				sameShape(t, path+"."+k, gv, wv)
			}
		}
	case nil:
	default:
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func wantJSON(want string) func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
	return func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
		t.Helper()
		var w any
		if err := json.Unmarshal([]byte(want), &w); err != nil {
			t.Fatalf("bad expected JSON: %v", err)
		}
		sameShape(t, "$", parseJSON(t, out), w)
	}
}

func wantNoOutput(t *testing.T, out string, st *meta.Store, vars map[string]string) {
	t.Helper()
	if strings.TrimSpace(out) != "" {
		t.Errorf("want no output (the seed says so), got %q", out)
	}
}

// wantRetention checks get-object-retention's output: exactly
// {"Retention":{"Mode","RetainUntilDate"}}, with the mode and the instant.
func wantRetention(mode string, until time.Time) func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
	return func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
		t.Helper()
		m := parseJSON(t, out)
		sameShape(t, "$", m, map[string]any{"Retention": map[string]any{"Mode": mode, "RetainUntilDate": nil}})
		r, _ := m["Retention"].(map[string]any)
		s, _ := r["RetainUntilDate"].(string)
		got, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("RetainUntilDate %q is not ISO 8601: %v", s, err)
		}
		if !got.Equal(until) {
			t.Errorf("RetainUntilDate = %s, want %s", got, until)
		}
	}
}

func storeBucketCheck(bucket string, lock bool, rule string) func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
	return func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
		t.Helper()
		b, err := st.GetBucket(bucket)
		if err != nil {
			t.Fatalf("store: bucket %s: %v", bucket, err)
		}
		if b.ObjectLock != lock || b.Versioning != meta.VersioningEnabled && lock {
			t.Errorf("store bucket %s = %+v, want ObjectLock=%v, versioning Enabled", bucket, b, lock)
		}
		if rule != "" && fmt.Sprintf("%s/%d/%d", b.Rule.Mode, b.Rule.Days, b.Rule.Years) != rule {
			t.Errorf("store rule = %+v, want %s (mode/days/years)", b.Rule, rule)
		}
	}
}

func checkAll(fs ...func(t *testing.T, out string, st *meta.Store, vars map[string]string)) func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
	return func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
		t.Helper()
		for _, f := range fs {
			f(t, out, st, vars)
		}
	}
}

// seedSteps is the run: the seeds' commands in their order, with the
// setup a reader of each guide has done (the bucket or object the guide
// assumes) as separate steps.
func seedSteps() []seedStep {
	now := time.Now().UTC()
	// Retain-until dates of the seeds are in the past, or earlier than
	// the bucket default they would then shorten; these are in the future
	// and beyond every default used.
	s4Until := now.AddDate(0, 3, 0).Truncate(24 * time.Hour)
	ovhUntil := now.AddDate(1, 0, 0).Truncate(24 * time.Hour).Add(12 * time.Hour)
	s4Date := s4Until.Format("2006-01-02T15:04:05Z")
	ovhDate := ovhUntil.Format("2006-01-02T15:04:05") + ".00Z" // the seed's Y-m-dTH:M:S.%2fZ form

	const (
		binero = "binero-locked"
		ovh    = "ovh-locked"
	)
	versionJSON := func(bucket, key string) func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
		return func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
			t.Helper()
			m := parseJSON(t, out)
			if _, ok := m["ETag"]; !ok {
				t.Errorf("put-object output has no ETag: %v", m)
			}
			v, err := st.Get(bucket, key, "")
			if err != nil {
				t.Fatalf("store: %v", err)
			}
			if m["VersionId"] != v.ID {
				t.Errorf("VersionId = %v, store has %s", m["VersionId"], v.ID)
			}
		}
	}
	defaultStamped := func(bucket, key, mode string, years, months, days int) func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
		return func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
			t.Helper()
			v, err := st.Get(bucket, key, "")
			if err != nil {
				t.Fatalf("store: %v", err)
			}
			want := v.Created.AddDate(years, months, days)
			if string(v.RetMode) != mode || v.RetUntil.Sub(want).Abs() > 24*time.Hour {
				t.Errorf("store lock of %s/%s = %s until %s, want the bucket default %s until ≈%s", bucket, key, v.RetMode, v.RetUntil, mode, want)
			}
		}
	}

	return []seedStep{
		// ---- 000: Binero ----
		{name: "binero create-bucket with LocationConstraint and object lock", seed: "000",
			cmd:   "aws --endpoint=https://object-eu-se-1a.binero.cloud s3api create-bucket",
			subst: []string{"[BUCKET_NAME]", binero}, why: "[BUCKET_NAME] filled",
			check: checkAll(storeBucketCheck(binero, true, ""), func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
				m := parseJSON(t, out)
				if _, ok := m["Location"]; !ok {
					t.Errorf("create-bucket output has no Location: %v", m)
				}
			})},
		{name: "binero put-object-lock-configuration COMPLIANCE 1 day", seed: "000",
			cmd:   "aws --endpoint=https://object-eu-se-1a.binero.cloud s3api put-object-lock-configuration",
			subst: []string{"[BUCKET_NAME]", binero}, why: "[BUCKET_NAME] filled",
			check: checkAll(wantNoOutput, storeBucketCheck(binero, true, "COMPLIANCE/1/0"))},
		{name: "binero check: get-object-lock-configuration", cmd: "aws s3api get-object-lock-configuration --bucket " + binero,
			check: wantJSON(`{"ObjectLockConfiguration":{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}}`)},

		// ---- 001: Scaleway ----
		{name: "scaleway setup: create my-locked-bucket (the guide's 'On a new bucket')",
			cmd: "aws s3api create-bucket --bucket my-locked-bucket --object-lock-enabled-for-bucket"},
		{name: "scaleway put-object-lock-configuration COMPLIANCE 365 days", seed: "001",
			cmd:   "aws s3api put-object-lock-configuration --bucket my-locked-bucket",
			check: checkAll(wantNoOutput, storeBucketCheck("my-locked-bucket", true, "COMPLIANCE/365/0"))},
		{name: "scaleway get-object-lock-configuration", seed: "001", cmd: "aws s3api get-object-lock-configuration --bucket my-locked-bucket",
			check: wantJSON(`{"ObjectLockConfiguration":{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":365}}}}`)},
		{name: "scaleway the Rule block replaced: GOVERNANCE 5 years",
			cmd:   `aws s3api put-object-lock-configuration --bucket my-locked-bucket --object-lock-configuration '{"ObjectLockEnabled": "Enabled", "Rule": { "DefaultRetention": { "Mode": "GOVERNANCE", "Years": 5 } } }'`,
			check: checkAll(wantNoOutput, storeBucketCheck("my-locked-bucket", true, "GOVERNANCE/0/5"))},
		{name: "scaleway check: get-object-lock-configuration Years", cmd: "aws s3api get-object-lock-configuration --bucket my-locked-bucket",
			check: wantJSON(`{"ObjectLockConfiguration":{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Years":5}}}}`)},
		{name: "scaleway create my-compliance-bucket", seed: "001", cmd: "aws s3api create-bucket --bucket my-compliance-bucket",
			check: storeBucketCheck("my-compliance-bucket", true, "")},
		{name: "scaleway put-object-lock-configuration COMPLIANCE 7 years", seed: "001",
			cmd:   "aws s3api put-object-lock-configuration --bucket my-compliance-bucket",
			check: checkAll(wantNoOutput, storeBucketCheck("my-compliance-bucket", true, "COMPLIANCE/0/7"))},
		{name: "scaleway check: an upload is locked COMPLIANCE for 7 years",
			cmd:   "aws s3api put-object --bucket my-compliance-bucket --key records/2026.csv --body object.txt",
			check: checkAll(versionJSON("my-compliance-bucket", "records/2026.csv"), defaultStamped("my-compliance-bucket", "records/2026.csv", "COMPLIANCE", 7, 0, 0))},
		{name: "scaleway setup: my-governance-bucket exists with versioning (the guide's 'existing bucket')",
			cmd: "aws s3api create-bucket --bucket my-governance-bucket && aws s3api put-bucket-versioning --bucket my-governance-bucket --versioning-configuration Status=Enabled"},
		{name: "scaleway enable object lock on an existing bucket GOVERNANCE 90 days", seed: "001",
			cmd:   "aws s3api put-object-lock-configuration --bucket my-governance-bucket",
			check: checkAll(wantNoOutput, storeBucketCheck("my-governance-bucket", true, "GOVERNANCE/90/0"))},
		{name: "scaleway setup: upload audit/report-2026-05.pdf",
			cmd:   "aws s3api put-object --bucket my-governance-bucket --key audit/report-2026-05.pdf --body report.pdf",
			check: defaultStamped("my-governance-bucket", "audit/report-2026-05.pdf", "GOVERNANCE", 0, 0, 90)},
		{name: "scaleway put-object-legal-hold Status=ON", seed: "001", cmd: "aws s3api put-object-legal-hold --bucket my-governance-bucket",
			check: checkAll(wantNoOutput, func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
				v, err := st.Get("my-governance-bucket", "audit/report-2026-05.pdf", "")
				if err != nil || !v.LegalHold {
					t.Errorf("store: legal hold not ON: %+v %v", v, err)
				}
			})},

		// ---- 002: S4 ----
		{name: "s4 setup: create mybucket (no object lock yet)", cmd: "aws s3api create-bucket --bucket mybucket"},
		{name: "s4 put-bucket-versioning Enabled", seed: "002", cmd: "aws s3api put-bucket-versioning --bucket mybucket",
			check: wantNoOutput},
		{name: "s4 put-object-lock-configuration shorthand GOVERNANCE 30 days", seed: "002",
			cmd:   "aws s3api put-object-lock-configuration --bucket mybucket",
			check: checkAll(wantNoOutput, storeBucketCheck("mybucket", true, "GOVERNANCE/30/0"))},
		{name: "s4 get-object-lock-configuration", seed: "002", cmd: "aws s3api get-object-lock-configuration --bucket mybucket",
			check: wantJSON(`{"ObjectLockConfiguration":{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":30}}}}`)},
		{name: "s4 put-object from stdin gets the default retention", seed: "002", cmd: "aws s3api put-object --bucket mybucket --key report.txt",
			pipe: `echo "important data" | `,
			why:  `AWS CLI v1 reads --body - as a file named "-", which holds the piped text`,
			check: checkAll(versionJSON("mybucket", "report.txt"), defaultStamped("mybucket", "report.txt", "GOVERNANCE", 0, 0, 30),
				func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
					v, _ := st.Get("mybucket", "report.txt", "")
					if v == nil || v.Size != int64(len("important data\n")) {
						t.Errorf("store version = %+v, want the 15 bytes piped", v)
					}
				})},
		{name: "s4 VERSION_ID=$(list-object-versions --query ...)", seed: "002", cmd: "aws s3api list-object-versions --bucket mybucket --prefix report.txt",
			capture: "VERSION_ID",
			check: func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
				v, err := st.Get("mybucket", "report.txt", "")
				if err != nil || vars["VERSION_ID"] != v.ID {
					t.Errorf("VERSION_ID = %q, store latest = %+v (%v)", vars["VERSION_ID"], v, err)
				}
			}},
		{name: "s4 check: list-object-versions JSON shape", cmd: "aws s3api list-object-versions --bucket mybucket --prefix report.txt",
			check: func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
				m := parseJSON(t, out)
				vs, _ := m["Versions"].([]any)
				if len(vs) != 1 {
					t.Fatalf("Versions = %v, want one", m["Versions"])
				}
				v, _ := vs[0].(map[string]any)
				for _, k := range []string{"ETag", "Size", "StorageClass", "Key", "VersionId", "IsLatest", "LastModified"} {
					if _, ok := v[k]; !ok {
						t.Errorf("Versions[0] has no %s: %v", k, keysOf(v))
					}
				}
				for k := range v {
					if strings.Contains(k, "ObjectLock") || strings.Contains(k, "Retention") || strings.Contains(k, "LegalHold") {
						t.Errorf("Versions[0] carries a lock field %s (SPEC: ListObjectVersions carries none)", k)
					}
				}
				if v["VersionId"] != vars["VERSION_ID"] || v["IsLatest"] != true || v["Key"] != "report.txt" {
					t.Errorf("Versions[0] = %v", v)
				}
			}},
		{name: "s4 put-object-retention GOVERNANCE", seed: "002", cmd: "aws s3api put-object-retention --bucket mybucket",
			subst: []string{"2026-12-31T00:00:00Z", s4Date},
			why:   "the seed's 2026-12-31 would shorten the 30-day default GOVERNANCE retention (refused without bypass); a date 3 months ahead",
			check: wantNoOutput},
		{name: "s4 get-object-retention", seed: "002", cmd: "aws s3api get-object-retention --bucket mybucket",
			check: wantRetention("GOVERNANCE", s4Until)},
		{name: "s4 put-object-legal-hold ON", seed: "002", cmd: "aws s3api put-object-legal-hold --bucket mybucket --key report.txt --version-id $VERSION_ID --legal-hold Status=ON",
			check: wantNoOutput},
		{name: "s4 get-object-legal-hold", seed: "002", cmd: "aws s3api get-object-legal-hold --bucket mybucket",
			check: wantJSON(`{"LegalHold":{"Status":"ON"}}`)},
		{name: "s4 put-object-legal-hold OFF", seed: "002", cmd: "aws s3api put-object-legal-hold --bucket mybucket --key report.txt --version-id $VERSION_ID --legal-hold Status=OFF",
			check: wantNoOutput},
		{name: "s4 check: get-object-legal-hold OFF", cmd: "aws s3api get-object-legal-hold --bucket mybucket --key report.txt --version-id $VERSION_ID",
			check: wantJSON(`{"LegalHold":{"Status":"OFF"}}`)},
		{name: "s4 delete-object of the locked version fails AccessDenied", seed: "002", cmd: "aws s3api delete-object --bucket mybucket",
			wantFail: "AccessDenied", bucket: "mybucket"},

		// ---- 003: OVH ----
		{name: "ovh create-bucket with object lock", seed: "003", cmd: "aws s3api create-bucket --bucket <bucket_name>",
			subst: []string{"<bucket_name>", ovh}, why: "placeholder filled",
			check: storeBucketCheck(ovh, true, "")},
		{name: "ovh setup: objects uploaded before the default rule",
			cmd: "aws s3api put-object --bucket " + ovh + " --key compliance.txt --body object.txt" +
				" && aws s3api put-object --bucket " + ovh + " --key plain.txt --body object.txt"},
		{name: "ovh put-object-lock-configuration GOVERNANCE 60 days", seed: "003", cmd: "aws s3api put-object-lock-configuration --bucket <bucket_name>",
			subst: []string{"<bucket_name>", ovh}, why: "placeholder filled",
			check: checkAll(wantNoOutput, storeBucketCheck(ovh, true, "GOVERNANCE/60/0"))},
		{name: "ovh get-object-lock-configuration", seed: "003", cmd: "aws s3api get-object-lock-configuration --bucket <bucket_name>",
			subst: []string{"<bucket_name>", ovh}, why: "placeholder filled",
			check: wantJSON(`{"ObjectLockConfiguration":{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":60}}}}`)},
		{name: "ovh put-object-retention COMPLIANCE", seed: "003", cmd: "aws s3api put-object-retention --bucket <bucket_name>",
			subst: []string{"<bucket_name>", ovh, "<object_key>", "compliance.txt", "2023-01-01T12:00:00.00Z", ovhDate},
			why:   "placeholders filled; the seed's 2023 date is in the past: a date a year ahead in the same format",
			check: wantNoOutput},
		{name: "ovh get-object-retention", seed: "003", cmd: "aws s3api get-object-retention --bucket <bucket_name>",
			subst: []string{"<bucket_name>", ovh, "<object_key>", "compliance.txt"}, why: "placeholders filled",
			check: wantRetention("COMPLIANCE", ovhUntil)},
		{name: "ovh setup: upload governed.txt (default GOVERNANCE 60 days)",
			cmd:   "aws s3api put-object --bucket " + ovh + " --key governed.txt --body object.txt",
			check: defaultStamped(ovh, "governed.txt", "GOVERNANCE", 0, 0, 60)},
		{name: "ovh setup: VERSION_ID of governed.txt", cmd: "aws s3api list-object-versions --bucket " + ovh + " --prefix governed.txt --query 'Versions[0].VersionId' --output text",
			capture: "GOVERNED_ID"},
		{name: "ovh delete-object --version-id of a locked version fails AccessDenied", seed: "003", cmd: "aws s3api delete-object --bucket <bucket_name> --key <object_key> --version-id <version_id>",
			subst:    []string{"<bucket_name>", ovh, "<object_key>", "governed.txt", "<version_id>", "$GOVERNED_ID"},
			why:      "placeholders filled; run here, after the bucket and object it needs exist (the guide shows it before create-bucket)",
			wantFail: "AccessDenied", bucket: ovh},
		{name: "ovh delete-object --bypass-governance-retention (no version: a delete marker)", seed: "003", cmd: "aws s3api delete-object --bucket <bucket_name> --key <object_key> --bypass-governance-retention",
			subst: []string{"<bucket_name>", ovh, "<object_key>", "governed.txt"}, why: "placeholders filled",
			check: func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
				vs, err := st.Versions(ovh, "governed.txt")
				if err != nil || len(vs) != 2 || !vs[0].DeleteMarker || vs[1].ID != vars["GOVERNED_ID"] {
					t.Errorf("store versions = %+v (%v), want [delete marker, the governed version]", vs, err)
				}
				m := parseJSON(t, out)
				if m["DeleteMarker"] != true {
					t.Errorf("delete-object output = %v, want DeleteMarker true", m)
				}
			}},
		{name: "ovh check: bypass with a version id deletes the GOVERNANCE version (root may)",
			cmd: "aws s3api delete-object --bucket " + ovh + " --key governed.txt --version-id $GOVERNED_ID --bypass-governance-retention",
			check: func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
				vs, _ := st.Versions(ovh, "governed.txt")
				if len(vs) != 1 || !vs[0].DeleteMarker {
					t.Errorf("store versions = %+v, want only the delete marker", vs)
				}
			}},
		{name: "ovh check: delete-object --version-id of an unlocked version works", seed: "003", cmd: "aws s3api delete-object --bucket <bucket_name> --key <object_key> --version-id <version_id>",
			subst: []string{"<bucket_name>", ovh, "<object_key>", "plain.txt", "<version_id>", "$(aws s3api list-object-versions --bucket " + ovh + " --prefix plain.txt --query 'Versions[0].VersionId' --output text)"},
			why:   "placeholders filled; plain.txt was uploaded before the default rule, so it is not locked",
			check: func(t *testing.T, out string, st *meta.Store, vars map[string]string) {
				if vs, _ := st.Versions(ovh, "plain.txt"); len(vs) != 0 {
					t.Errorf("plain.txt still has versions %+v", vs)
				}
			}},
		{name: "ovh setup: upload held.txt", cmd: "aws s3api put-object --bucket " + ovh + " --key held.txt --body object.txt"},
		{name: "ovh put-object-legal-hold ON", seed: "003", cmd: "aws s3api put-object-legal-hold --bucket <bucket_name>",
			subst: []string{"<bucket_name>", ovh, "<object_key>", "held.txt"}, why: "placeholders filled", check: wantNoOutput},
		{name: "ovh get-object-legal-hold", seed: "003", cmd: "aws s3api get-object-legal-hold --bucket <bucket_name>",
			subst: []string{"<bucket_name>", ovh, "<object_key>", "held.txt"}, why: "placeholders filled",
			check: wantJSON(`{"LegalHold":{"Status":"ON"}}`)},
	}
}

// ---- aws s3 cp (multipart) and aws s3 sync ----

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestSeedsAWSS3CopyAndSync(t *testing.T) {
	t.Parallel() // waits on external processes most of the time
	e := testS3(t)
	cli := newAWSCLI(t, e)
	run := func(t *testing.T, script string) string {
		t.Helper()
		script = withEndpoint(script, cli.endpoint)
		start := time.Now()
		out, stderr, rc := cli.run(t, script, nil)
		t.Logf("$ %s (%.1fs)", script, time.Since(start).Seconds())
		if rc != 0 {
			t.Fatalf("$ %s\nrc=%d\n%s%s", script, rc, out, stderr)
		}
		return out
	}
	run(t, "aws s3 mb s3://cli-bucket")
	run(t, "aws s3api put-bucket-versioning --bucket cli-bucket --versioning-configuration Status=Enabled")

	t.Run("cp 100 MiB multipart", func(t *testing.T) {
		src := filepath.Join(cli.dir, "big.bin")
		f, err := os.Create(src)
		if err != nil {
			t.Fatal(err)
		}
		chunk := randBytes(t, 1<<20)
		for i := 0; i < 100; i++ {
			chunk[0] = byte(i) // no two MiB alike
			if _, err := f.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		run(t, "aws s3 cp big.bin s3://cli-bucket/big/big.bin")
		vs, err := e.Store.Versions("cli-bucket", "big/big.bin")
		if err != nil || len(vs) != 1 {
			t.Fatalf("store versions = %v (%v), want one", vs, err)
		}
		if vs[0].Size != 100<<20 || !regexp.MustCompile(`^[0-9a-f]{32}-[0-9]+$`).MatchString(vs[0].ETag) {
			t.Errorf("store version size %d ETag %q, want 100 MiB and a multipart ETag hex-N", vs[0].Size, vs[0].ETag)
		}
		run(t, "aws s3 cp s3://cli-bucket/big/big.bin back.bin")
		if a, b := fileSHA(t, src), fileSHA(t, filepath.Join(cli.dir, "back.bin")); a != b {
			t.Fatalf("downloaded sha256 %s, uploaded %s", b, a)
		}
	})

	t.Run("cp into a bucket with default retention, rm makes a marker", func(t *testing.T) {
		// The Yandex guide: with a default lock every upload must carry an
		// integrity header; the CLI's defaults must satisfy that, for a
		// single PUT and for a multipart upload.
		run(t, "aws s3api create-bucket --bucket cli-locked --object-lock-enabled-for-bucket")
		run(t, `aws s3api put-object-lock-configuration --bucket cli-locked --object-lock-configuration '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}'`)
		if err := os.WriteFile(filepath.Join(cli.dir, "small.txt"), []byte("small locked file\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		mid := randBytes(t, 20<<20)
		if err := os.WriteFile(filepath.Join(cli.dir, "mid.bin"), mid, 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, "aws s3 cp small.txt s3://cli-locked/small.txt")
		run(t, "aws s3 cp mid.bin s3://cli-locked/mid.bin")
		for _, k := range []string{"small.txt", "mid.bin"} {
			v, err := e.Store.Get("cli-locked", k, "")
			if err != nil {
				t.Fatalf("store %s: %v", k, err)
			}
			if v.RetMode != "GOVERNANCE" || v.RetUntil.Sub(v.Created.AddDate(0, 0, 1)).Abs() > time.Hour {
				t.Errorf("%s lock = %s until %s, want the default GOVERNANCE 1 day", k, v.RetMode, v.RetUntil)
			}
		}
		if v, _ := e.Store.Get("cli-locked", "mid.bin", ""); v == nil || !strings.HasSuffix(v.ETag, "-3") {
			t.Errorf("mid.bin = %+v, want a 3-part upload", v)
		}
		run(t, "aws s3 rm s3://cli-locked/small.txt")
		vs, err := e.Store.Versions("cli-locked", "small.txt")
		if err != nil || len(vs) != 2 || !vs[0].DeleteMarker {
			t.Errorf("after aws s3 rm: versions %+v (%v), want [marker, the locked version]", vs, err)
		}
		out := run(t, "aws s3 ls s3://cli-locked/")
		if strings.Contains(out, "small.txt") || !strings.Contains(out, "mid.bin") {
			t.Errorf("aws s3 ls after rm:\n%s", out)
		}
	})

	t.Run("sync a tree up and back down", func(t *testing.T) {
		up := filepath.Join(cli.dir, "tree")
		files := map[string]string{
			"a.txt":             "alpha\n",
			"sub/b.txt":         "bravo\n",
			"sub/deeper/c.json": `{"c":3}`,
			"sub/deeper/empty":  "",
			"with space/d e.md": "# delta echo\n",
			"unicode/ünï.txt":   "unicode name\n",
		}
		for name, body := range files {
			p := filepath.Join(up, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		run(t, "aws s3 sync tree s3://cli-bucket/tree")
		for name, body := range files {
			v, err := e.Store.Get("cli-bucket", "tree/"+name, "")
			if err != nil || v.Size != int64(len(body)) {
				t.Errorf("store tree/%s = %+v (%v), want %d bytes", name, v, err, len(body))
			}
		}
		// A second sync uploads nothing new.
		if out := run(t, "aws s3 sync tree s3://cli-bucket/tree"); strings.Contains(out, "upload:") {
			t.Errorf("second sync uploaded again:\n%s", out)
		}
		run(t, "aws s3 sync s3://cli-bucket/tree down")
		for name, body := range files {
			got, err := os.ReadFile(filepath.Join(cli.dir, "down", filepath.FromSlash(name)))
			if err != nil || string(got) != body {
				t.Errorf("down/%s = %q (%v), want %q", name, got, err, body)
			}
		}
		out := run(t, "aws s3 ls --recursive s3://cli-bucket/tree/")
		if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n != len(files) {
			t.Errorf("aws s3 ls lists %d objects, want %d:\n%s", n, len(files), out)
		}
	})
}
