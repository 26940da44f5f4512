package s3

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wormfs/wormfs/meta"
)

func newPolicyTestServer(t testing.TB) *Server {
	t.Helper()
	st, err := meta.Open(meta.Options{Dir: t.TempDir(), GCInterval: -1, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.CreateBucket("b1b", meta.BucketOptions{ObjectLock: true}, meta.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	s, err := New(st, Options{AccessKey: testRootKey, SecretKey: testRootSecret, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGrantWordsArePolicies checks that the grant words, now built-in
// policies, allow exactly what they allowed before: for every operation
// and every combination of the four words, the policy decision equals the
// old rule "the principal holds every grant in op.needs" (plus the lock
// grant for lock headers and the bypass grant for a bypass).
func TestGrantWordsArePolicies(t *testing.T) {
	s := newPolicyTestServer(t)
	lockHdr := http.Header{"X-Amz-Object-Lock-Mode": {"GOVERNANCE"}, "X-Amz-Object-Lock-Retain-Until-Date": {"2099-01-01T00:00:00Z"}}
	holdHdr := http.Header{"X-Amz-Object-Lock-Legal-Hold": {"ON"}}
	copyHdr := http.Header{"X-Amz-Copy-Source": {"b1b/src"}}
	targets := []struct {
		name, method, target string
		hdr                  http.Header
	}{
		{"list buckets", "GET", "/", nil},
		{"list", "GET", "/b1b?prefix=a&delimiter=/&max-keys=5", nil},
		{"versions", "GET", "/b1b?versions", nil},
		{"uploads", "GET", "/b1b?uploads", nil},
		{"head bucket", "HEAD", "/b1b", nil},
		{"create bucket", "PUT", "/b2b", nil},
		{"delete bucket", "DELETE", "/b1b", nil},
		{"location", "GET", "/b1b?location", nil},
		{"get versioning", "GET", "/b1b?versioning", nil},
		{"put versioning", "PUT", "/b1b?versioning", nil},
		{"get lock config", "GET", "/b1b?object-lock", nil},
		{"put lock config", "PUT", "/b1b?object-lock", nil},
		{"delete objects", "POST", "/b1b?delete", nil},
		{"get", "GET", "/b1b/k", nil},
		{"get version", "GET", "/b1b/k?versionId=0000000000000001", nil},
		{"head", "HEAD", "/b1b/k", nil},
		{"put", "PUT", "/b1b/k", nil},
		{"put with retention headers", "PUT", "/b1b/k", lockHdr},
		{"put with legal hold header", "PUT", "/b1b/k", holdHdr},
		{"delete", "DELETE", "/b1b/k", nil},
		{"delete version", "DELETE", "/b1b/k?versionId=0000000000000001", nil},
		{"get retention", "GET", "/b1b/k?retention", nil},
		{"put retention", "PUT", "/b1b/k?retention", nil},
		{"get legal hold", "GET", "/b1b/k?legal-hold", nil},
		{"put legal hold", "PUT", "/b1b/k?legal-hold", nil},
		{"get tagging", "GET", "/b1b/k?tagging", nil},
		{"put version tagging", "PUT", "/b1b/k?tagging&versionId=0000000000000001", nil},
		{"delete tagging", "DELETE", "/b1b/k?tagging", nil},
		{"create upload", "POST", "/b1b/k?uploads", nil},
		{"create upload locked", "POST", "/b1b/k?uploads", lockHdr},
		{"upload part", "PUT", "/b1b/k?partNumber=1&uploadId=u", nil},
		{"upload part copy", "PUT", "/b1b/k?partNumber=1&uploadId=u", copyHdr},
		{"complete", "POST", "/b1b/k?uploadId=u", nil},
		{"abort", "DELETE", "/b1b/k?uploadId=u", nil},
		{"list parts", "GET", "/b1b/k?uploadId=u", nil},
		{"copy", "PUT", "/b1b/k", copyHdr},
		{"copy locked", "PUT", "/b1b/k", http.Header{"X-Amz-Copy-Source": {"b1b/src"}, "X-Amz-Object-Lock-Legal-Hold": {"OFF"}}},
	}
	for _, tc := range targets {
		for set := 0; set < 16; set++ {
			var allow []string
			for a := range actionNames {
				if set&(1<<a) != 0 {
					allow = append(allow, actionNames[a])
				}
			}
			t.Run(tc.name+"/"+strings.Join(allow, "+"), func(t *testing.T) {
				r := httptest.NewRequest(tc.method, "http://127.0.0.1"+tc.target, nil)
				for k, v := range tc.hdr {
					r.Header[k] = v
				}
				rt, err := s.route(r)
				if err != nil {
					t.Fatal(err)
				}
				p, err := User{AccessKey: "user", SecretKey: "user-secret", Allow: allow}.principal()
				if err != nil {
					t.Fatal(err)
				}
				old := true
				for _, a := range rt.op.needs {
					old = old && p.Can(a)
				}
				l, _ := parseLockHeaders(r.Header)
				if l.any {
					old = old && p.Can(ActionLock)
				}
				q := &request{s: s, w: httptest.NewRecorder(), r: r, p: &p, bucket: rt.bucket, key: rt.key}
				err = q.authorizeRoute(rt.op.name)
				switch rt.op.name {
				case "PutObjectRetention", "PutObjectLegalHold":
					if err == nil {
						err = q.authorize("s3:"+rt.op.name, q.bucket, q.key, nil)
					}
				case "DeleteObjects":
					if err == nil {
						err = q.authorizeDelete("k", "")
					}
				case "CopyObject", "UploadPartCopy":
					if err == nil {
						err = q.authorizeCopySource(copySource{bucket: "b1b", key: "src"})
					}
				}
				if err == nil && l.any {
					err = q.authorizeLockHeaders(l)
				}
				if got := err == nil; got != old {
					t.Fatalf("%s: policy says %v (%v), grants said %v", rt.op.name, got, err, old)
				}
				if q.mayBypass("k") != p.Can(ActionBypassGovernance) {
					t.Fatalf("bypass: policy %v, grant %v", q.mayBypass("k"), p.Can(ActionBypassGovernance))
				}
			})
		}
	}
}

func TestRemainingDays(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		until time.Time
		want  int64
	}{
		{"exactly 30 days", now.Add(30 * 24 * time.Hour), 30},
		{"30 days and a second", now.Add(30*24*time.Hour + time.Second), 31},
		{"a minute", now.Add(time.Minute), 1},
		{"past", now.Add(-time.Hour), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := remainingDays(tc.until, now); got != tc.want {
				t.Fatalf("remainingDays = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestUsersFilePolicies(t *testing.T) {
	const good = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`
	for _, tc := range []struct {
		name, content, errMsg string
	}{
		{"user and group policies", `{"users":[{"accessKey":"alice","secretKey":"alice-secret-1","allow":[],"name":"Alice","groups":["auditors"],"policies":[` + good + `]}],"groups":{"auditors":{"policies":[` + good + `]}}}`, ""},
		{"unknown group", `{"users":[{"accessKey":"alice","secretKey":"alice-secret-1","allow":[],"groups":["nope"]}]}`, `group "nope" is not in "groups"`},
		{"malformed user policy", `{"users":[{"accessKey":"alice","secretKey":"alice-secret-1","allow":[],"policies":[{"Statement":{"Effect":"Allow","Action":"s3:Nope","Resource":"*"}}]}]}`, "policy 1: statement 1: Action: invalid action"},
		{"principal in user policy", `{"users":[{"accessKey":"alice","secretKey":"alice-secret-1","allow":[],"policies":[{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}]}]}`, "not allowed in a user or group policy"},
		{"malformed group policy", `{"users":[],"groups":{"g":{"policies":[{"Version":"1"}]}}}`, `group "g": policy 1: Version`},
		{"unknown group field", `{"users":[],"groups":{"g":{"policy":[]}}}`, "unknown field"},
		{"duplicate name", `{"users":[{"accessKey":"alice","secretKey":"alice-secret-1","allow":[],"name":"x"},{"accessKey":"bob","secretKey":"bob-secret-12","allow":[],"name":"x"}]}`, `name "x" already used`},
		{"bad name", `{"users":[{"accessKey":"alice","secretKey":"alice-secret-1","allow":[],"name":"a b"}]}`, "a name holds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "users.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			users, err := LoadUsers(path)
			if tc.errMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				p, err := users[0].principal()
				if err != nil {
					t.Fatal(err)
				}
				if p.name != "Alice" || len(p.policies) != 2 {
					t.Fatalf("principal %q with %d policies", p.name, len(p.policies))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errMsg) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.errMsg)
			}
		})
	}
}
