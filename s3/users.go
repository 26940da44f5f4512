package s3

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wormfs/wormfs/policy"
)

// Action is a grant of the users file (SPEC §6).
type Action int

const (
	ActionRead             Action = iota // "read"
	ActionWrite                          // "write"
	ActionLock                           // "lock": set retention / legal hold
	ActionBypassGovernance               // "bypass-governance"
)

// actionNames are the grant names of the users file, by Action.
var actionNames = [...]string{
	ActionRead:             "read",
	ActionWrite:            "write",
	ActionLock:             "lock",
	ActionBypassGovernance: "bypass-governance",
}

func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// User is one entry of the users file.
type User struct {
	AccessKey string   `json:"accessKey"`
	SecretKey string   `json:"secretKey"`
	Allow     []string `json:"allow"`

	// Name is the user's name in policies (aws:username, Principal
	// {"AWS": "NAME"}); it defaults to the access key.
	Name string `json:"name,omitempty"`
	// Groups names groups of the users file whose policies apply to the
	// user as well.
	Groups []string `json:"groups,omitempty"`
	// Policies are IAM identity policy documents of the user.
	Policies []json.RawMessage `json:"policies,omitempty"`

	// groupPolicies are the documents of Groups, resolved by LoadUsers.
	groupPolicies []json.RawMessage
}

// Group is an entry of the users file's "groups" object.
type Group struct {
	Policies []json.RawMessage `json:"policies"`
}

// Limits on credentials. Access keys end up in the credential scope
// ("AKID/date/region/s3/aws4_request") and in the Authorization header, so
// they are restricted to characters that cannot break either.
const (
	minAccessKeyLen = 3
	maxAccessKeyLen = 128
	minSecretKeyLen = 8
	maxSecretKeyLen = 1024
	maxUsersFile    = 4 << 20
)

// validateKeyPair checks one access key / secret key pair.
func validateKeyPair(accessKey, secretKey string) error {
	if accessKey == "" {
		return errors.New("empty access key")
	}
	if n := len(accessKey); n < minAccessKeyLen || n > maxAccessKeyLen {
		return fmt.Errorf("access key %q must be %d to %d characters", trimForMessage(accessKey), minAccessKeyLen, maxAccessKeyLen)
	}
	for i := 0; i < len(accessKey); i++ {
		c := accessKey[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~+@", c) >= 0) {
			return fmt.Errorf("access key %q may hold only letters, digits and -_.~+@", trimForMessage(accessKey))
		}
	}
	if n := len(secretKey); n < minSecretKeyLen {
		return fmt.Errorf("secret key of %q is too short: %d characters, at least %d needed", accessKey, n, minSecretKeyLen)
	} else if n > maxSecretKeyLen {
		return fmt.Errorf("secret key of %q is longer than %d characters", accessKey, maxSecretKeyLen)
	}
	for _, r := range secretKey {
		if r < 0x21 || r == 0x7f {
			return fmt.Errorf("secret key of %q holds a space or control character", accessKey)
		}
	}
	return nil
}

// principal validates u and returns what it may do.
func (u User) principal() (Principal, error) {
	if err := validateKeyPair(u.AccessKey, u.SecretKey); err != nil {
		return Principal{}, err
	}
	p := Principal{AccessKey: u.AccessKey}
	if err := p.setPolicies(u); err != nil {
		return Principal{}, fmt.Errorf("user %q: %w", u.AccessKey, err)
	}
	for _, g := range u.Allow {
		found := false
		for a, name := range actionNames {
			if g == name {
				p.grants |= 1 << uint(a)
				found = true
			}
		}
		if !found {
			return Principal{}, fmt.Errorf("user %q: unknown grant %q (known: %s)", u.AccessKey, trimForMessage(g), strings.Join(actionNames[:], ", "))
		}
	}
	p.addGrantPolicies()
	return p, nil
}

// LoadUsers reads a users file {"users":[{"accessKey":…,"secretKey":…,"allow":[…]}]};
// a user may also carry "name", "groups" and "policies", and the file a
// "groups" object {"NAME":{"policies":[…]}} whose policies apply to the
// members (README "Authorization policies"). Unknown fields, unknown
// grants or groups, malformed policies, empty, malformed or duplicate
// access keys and names, and short secrets are errors naming the entry.
func LoadUsers(path string) ([]User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("s3: users file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxUsersFile+1))
	if err != nil {
		return nil, fmt.Errorf("s3: users file %s: %w", path, err)
	}
	if len(data) > maxUsersFile {
		return nil, fmt.Errorf("s3: users file %s: larger than %d bytes", path, maxUsersFile)
	}
	var doc struct {
		Users  *[]User          `json:"users"`
		Groups map[string]Group `json:"groups"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("s3: users file %s: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("s3: users file %s: data after the JSON object", path)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("s3: users file %s: data after the JSON object", path)
	}
	if doc.Users == nil {
		return nil, fmt.Errorf("s3: users file %s: no \"users\" list", path)
	}
	users := *doc.Users
	for name, g := range doc.Groups {
		if !validPolicyName(name) {
			return nil, fmt.Errorf("s3: users file %s: group %q: a group name holds 1 to 128 letters, digits and -_.~+@=,", path, trimForMessage(name))
		}
		for j, raw := range g.Policies {
			if _, err := parseIdentityPolicy(raw); err != nil {
				return nil, fmt.Errorf("s3: users file %s: group %q: policy %d: %w", path, name, j+1, err)
			}
		}
	}
	seen := make(map[string]int, len(users))
	names := make(map[string]int, len(users))
	for i := range users {
		u := &users[i]
		for _, g := range u.Groups {
			grp, ok := doc.Groups[g]
			if !ok {
				return nil, fmt.Errorf("s3: users file %s: user %d: group %q is not in \"groups\"", path, i+1, trimForMessage(g))
			}
			u.groupPolicies = append(u.groupPolicies, grp.Policies...)
		}
		p, err := u.principal()
		if err != nil {
			return nil, fmt.Errorf("s3: users file %s: user %d: %w", path, i+1, err)
		}
		if j, dup := names[p.name]; dup {
			return nil, fmt.Errorf("s3: users file %s: user %d: name %q already used by user %d", path, i+1, p.name, j)
		}
		names[p.name] = i + 1
	}
	for i, u := range users {
		if _, err := u.principal(); err != nil {
			return nil, fmt.Errorf("s3: users file %s: user %d: %w", path, i+1, err)
		}
		if j, dup := seen[u.AccessKey]; dup {
			return nil, fmt.Errorf("s3: users file %s: user %d: access key %q already used by user %d", path, i+1, u.AccessKey, j)
		}
		seen[u.AccessKey] = i + 1
	}
	return users, nil
}

// Principal is who signed a request.
type Principal struct {
	AccessKey string
	Root      bool
	grants    uint8 // bit per Action

	name     string           // the name in policies (aws:username)
	groups   []string         // users-file groups
	policies []*policy.Policy // identity policies: grant shorthands, the user's, its groups'
	usesTags bool             // some identity policy reads s3:ExistingObjectTag/…
	usesCtx  bool             // some identity policy reads condition keys
}

// Can reports whether p may do a. Root may do everything; a nil principal
// nothing.
func (p *Principal) Can(a Action) bool {
	if p == nil || a < 0 || int(a) >= len(actionNames) {
		return false
	}
	return p.Root || p.grants&(1<<uint(a)) != 0
}
