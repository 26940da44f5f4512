package s3

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeUsersFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsersLoad(t *testing.T) {
	cases := []struct {
		name    string
		content string
		want    []User
		errMsg  string // substring of the error; "" means success
	}{
		{"good", `{"users":[{"accessKey":"alice","secretKey":"alice-secret-1","allow":["read","write","lock"]},{"accessKey":"auditor","secretKey":"auditor-secret","allow":["read"]},{"accessKey":"admin","secretKey":"admin-secret-99","allow":["read","write","lock","bypass-governance"]}]}`,
			[]User{{AccessKey: "alice", SecretKey: "alice-secret-1", Allow: []string{"read", "write", "lock"}}, {AccessKey: "auditor", SecretKey: "auditor-secret", Allow: []string{"read"}}, {AccessKey: "admin", SecretKey: "admin-secret-99", Allow: []string{"read", "write", "lock", "bypass-governance"}}}, ""},
		{"good, empty list", `{"users":[]}`, []User{}, ""},
		{"good, user without grants", `{"users":[{"accessKey":"nobody","secretKey":"nobody-secret","allow":[]}]}`, []User{{AccessKey: "nobody", SecretKey: "nobody-secret", Allow: []string{}}}, ""},
		{"unknown grant", `{"users":[{"accessKey":"alice","secretKey":"alice-secret-1","allow":["read","admin"]}]}`, nil, `unknown grant "admin"`},
		{"grant in capitals", `{"users":[{"accessKey":"alice","secretKey":"alice-secret-1","allow":["READ"]}]}`, nil, "unknown grant"},
		{"empty access key", `{"users":[{"accessKey":"","secretKey":"alice-secret-1","allow":["read"]}]}`, nil, "empty access key"},
		{"missing access key", `{"users":[{"secretKey":"alice-secret-1","allow":["read"]}]}`, nil, "empty access key"},
		{"access key with slash", `{"users":[{"accessKey":"al/ice","secretKey":"alice-secret-1","allow":["read"]}]}`, nil, "may hold only"},
		{"access key with space", `{"users":[{"accessKey":"al ice","secretKey":"alice-secret-1","allow":["read"]}]}`, nil, "may hold only"},
		{"access key too short", `{"users":[{"accessKey":"al","secretKey":"alice-secret-1","allow":["read"]}]}`, nil, "characters"},
		{"duplicate access key", `{"users":[{"accessKey":"alice","secretKey":"alice-secret-1","allow":["read"]},{"accessKey":"alice","secretKey":"other-secret-2","allow":["write"]}]}`, nil, "already used by user 1"},
		{"short secret", `{"users":[{"accessKey":"alice","secretKey":"short","allow":["read"]}]}`, nil, "too short"},
		{"missing secret", `{"users":[{"accessKey":"alice","allow":["read"]}]}`, nil, "too short"},
		{"secret with space", `{"users":[{"accessKey":"alice","secretKey":"alice secret 1","allow":["read"]}]}`, nil, "space"},
		{"unknown field", `{"users":[{"accessKey":"alice","secretKey":"alice-secret-1","alow":["read"]}]}`, nil, "unknown field"},
		{"unknown top-level field", `{"users":[],"roles":[]}`, nil, "unknown field"},
		{"no users list", `{}`, nil, "no \"users\" list"},
		{"not JSON", `users: alice`, nil, "invalid character"},
		{"truncated JSON", `{"users":[{"accessKey":"alice"`, nil, "unexpected EOF"},
		{"trailing data", `{"users":[]} {"users":[]}`, nil, "data after"},
		{"users not a list", `{"users":{"alice":"x"}}`, nil, "cannot unmarshal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := LoadUsers(writeUsersFile(t, c.content))
			if c.errMsg != "" {
				if err == nil || !strings.Contains(err.Error(), c.errMsg) {
					t.Fatalf("err = %v, want one containing %q", err, c.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("users = %+v, want %+v", got, c.want)
			}
			if _, err := NewAuthenticator(testRootAK, testRootSK, got, nil); err != nil {
				t.Fatalf("loaded users refused by NewAuthenticator: %v", err)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := LoadUsers(filepath.Join(t.TempDir(), "nope.json"))
		if err == nil || !strings.Contains(err.Error(), "no such file") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestUsersNewAuthenticator(t *testing.T) {
	alice := User{AccessKey: "alice", SecretKey: "alice-secret-1", Allow: []string{"read"}}
	cases := []struct {
		name     string
		rootAK   string
		rootSK   string
		users    []User
		errMsg   string
		wantKeys int
	}{
		{"good", testRootAK, testRootSK, []User{alice}, "", 2},
		{"good, root only", testRootAK, testRootSK, nil, "", 1},
		{"empty root key", "", testRootSK, nil, "empty access key", 0},
		{"short root secret", testRootAK, "short", nil, "too short", 0},
		{"user shares the root key", testRootAK, testRootSK, []User{{AccessKey: testRootAK, SecretKey: "another-secret", Allow: []string{"read"}}}, "root access key", 0},
		{"duplicate user", testRootAK, testRootSK, []User{alice, alice}, "duplicate access key", 0},
		{"unknown grant", testRootAK, testRootSK, []User{{AccessKey: "bob", SecretKey: "bob-secret-12", Allow: []string{"delete"}}}, "unknown grant", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := NewAuthenticator(c.rootAK, c.rootSK, c.users, func() time.Time { return testNow })
			if c.errMsg != "" {
				if err == nil || !strings.Contains(err.Error(), c.errMsg) {
					t.Fatalf("err = %v, want one containing %q", err, c.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(a.accounts) != c.wantKeys {
				t.Fatalf("%d accounts", len(a.accounts))
			}
		})
	}
}

func TestUsersPrincipalCan(t *testing.T) {
	all := []Action{ActionRead, ActionWrite, ActionLock, ActionBypassGovernance}
	cases := []struct {
		name  string
		allow []string
		can   []Action
	}{
		{"nothing", nil, nil},
		{"read", []string{"read"}, []Action{ActionRead}},
		{"write only", []string{"write"}, []Action{ActionWrite}},
		{"lock", []string{"read", "lock"}, []Action{ActionRead, ActionLock}},
		{"bypass without lock", []string{"bypass-governance"}, []Action{ActionBypassGovernance}},
		{"everything", []string{"read", "write", "lock", "bypass-governance"}, all},
		{"repeated grant", []string{"read", "read"}, []Action{ActionRead}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := User{AccessKey: "user", SecretKey: "user-secret", Allow: c.allow}.principal()
			if err != nil {
				t.Fatal(err)
			}
			for _, act := range all {
				want := false
				for _, g := range c.can {
					want = want || g == act
				}
				if p.Can(act) != want {
					t.Errorf("Can(%v) = %v, want %v", act, p.Can(act), want)
				}
			}
			if p.Root {
				t.Fatal("a user is not root")
			}
		})
	}
	root := &Principal{AccessKey: "r", Root: true}
	for _, act := range all {
		if !root.Can(act) {
			t.Errorf("root cannot %v", act)
		}
	}
	var none *Principal
	if none.Can(ActionRead) || root.Can(Action(42)) || root.Can(Action(-1)) {
		t.Fatal("nil principal or unknown action allowed")
	}
	if ActionBypassGovernance.String() != "bypass-governance" || Action(9).String() != "Action(9)" {
		t.Fatal("Action.String")
	}
}
