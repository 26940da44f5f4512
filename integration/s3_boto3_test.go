package integration

// boto3 at its default settings (testdata/boto3_smoke.py) against the
// listener, over TLS (boto3 then sends aws-chunked bodies with CRC32
// trailers) and over plain HTTP.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBoto3Smoke(t *testing.T) {
	t.Parallel() // waits on external processes most of the time
	require := requireEnv("WORMFS_REQUIRE_BOTO3") || requireEnv("WORMFS_REQUIRE_AWSCLI")
	py, err := exec.LookPath("python3")
	if err != nil {
		if require {
			t.Fatalf("python3 not found: %v", err)
		}
		t.Skipf("python3 not found (%v); set WORMFS_REQUIRE_BOTO3=1 to make this a failure", err)
	}
	env := isolatedEnv(t)
	if out, err := runPy(t, py, env, "-c", "import boto3"); err != nil {
		if require {
			t.Fatalf("python3 cannot import boto3: %v\n%s", err, out)
		}
		t.Skipf("python3 cannot import boto3 (%v); set WORMFS_REQUIRE_BOTO3=1 to make this a failure", err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "boto3_smoke.py"))
	if err != nil {
		t.Fatal(err)
	}
	e := testS3(t)
	ca := filepath.Join(t.TempDir(), "listener.pem")
	if err := os.WriteFile(ca, e.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, endpoint, bucket string }{
		{"https", e.URL, "boto3-tls"},
		{"http", e.PlainURL, "boto3-plain"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := append(append([]string{}, env...),
				"WORMFS_S3_ENDPOINT="+c.endpoint, "WORMFS_BUCKET="+c.bucket, "AWS_CA_BUNDLE="+ca)
			out, err := runPy(t, py, env, script)
			t.Logf("boto3_smoke.py output:\n%s", out)
			if err != nil {
				t.Fatalf("boto3_smoke.py failed: %v", err)
			}
			if !strings.Contains(out, "OK ") || strings.Contains(out, "FAIL") {
				t.Fatalf("boto3_smoke.py did not finish with OK")
			}
			// What the script did is in the store.
			vs, err := e.Store.Versions(c.bucket, "docs/hello.txt")
			if err != nil || len(vs) != 1 || !vs[0].LegalHold {
				t.Errorf("store versions of docs/hello.txt = %+v (%v), want the held one only", vs, err)
			}
			v, err := e.Store.Get(c.bucket, "big/twelve.bin", "")
			if err != nil || v.Size != 12<<20 || !strings.HasSuffix(v.ETag, "-2") {
				t.Errorf("store big/twelve.bin = %+v (%v), want 12 MiB with a 2-part ETag", v, err)
			}
		})
	}
}

func runPy(t *testing.T, py string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
