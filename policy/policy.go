// Package policy parses and evaluates IAM-style policy documents: the
// identity policies of the users file and the resource policies of buckets
// (PutBucketPolicy). Parsing is strict: an element, operator or condition
// key that wormfs does not know is an error wrapping ErrMalformed, never
// ignored. Evaluation is a pure function of the policies and a Request:
// an explicit Deny in any policy wins, then any Allow, else the request is
// implicitly denied.
//
// A principal is whoever asks: an S3 user (by its users-file name, its
// groups) or, for the mount, a local uid with its groups; see Principal.
package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformed is wrapped by every parse error; the S3 edge answers it
// with 400 MalformedPolicy and the error's message.
var ErrMalformed = errors.New("malformed policy")

type parseError struct{ msg string }

func (e *parseError) Error() string        { return e.msg }
func (e *parseError) Is(target error) bool { return target == ErrMalformed }

func errorf(format string, args ...any) error {
	return &parseError{msg: fmt.Sprintf(format, args...)}
}

// Kind says where a policy is attached.
type Kind int

const (
	// Identity policies belong to a user or group (users file): they name
	// no Principal.
	Identity Kind = iota
	// Resource policies belong to a bucket: every statement names a
	// Principal or NotPrincipal.
	Resource
)

// MaxSize bounds a policy document (AWS allows 20 KB for bucket policies).
const MaxSize = 20 << 10

// The two policy language versions. Only 2012-10-17 has policy variables.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Policy is a parsed, validated policy document.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
	usesTags   bool
	usesCtx    bool
}

// Effect of a statement.
type Effect bool

const (
	Deny  Effect = false
	Allow Effect = true
)

// Statement is one statement of a policy.
type Statement struct {
	Sid    string
	Effect Effect

	principal    *principalSet // nil: none given
	notPrincipal *principalSet
	actions      []pattern
	notAction    bool
	resources    []pattern
	notResource  bool
	conditions   []condition
}

// UsesExistingObjectTags reports whether a condition of p reads
// s3:ExistingObjectTag/<k>, so that the caller fetches the object's tags
// only when some policy needs them.
func (p *Policy) UsesExistingObjectTags() bool { return p != nil && p.usesTags }

// UsesContext reports whether evaluating p may read the request's
// Context (conditions, policy variables); when no policy does, the caller
// need not build one.
func (p *Policy) UsesContext() bool { return p != nil && p.usesCtx }

// Public reports whether some Allow statement of a resource policy applies
// to everyone (Principal "*"), as GetBucketPolicyStatus's IsPublic says.
func (p *Policy) Public() bool {
	if p == nil {
		return false
	}
	for i := range p.Statements {
		s := &p.Statements[i]
		if s.Effect == Allow && s.principal != nil && s.principal.any {
			return true
		}
	}
	return false
}

// Parse reads and validates a policy document of the given kind.
func Parse(data []byte, kind Kind) (*Policy, error) {
	if len(data) > MaxSize {
		return nil, errorf("the policy is larger than %d bytes", MaxSize)
	}
	doc, err := readJSON(data)
	if err != nil {
		return nil, errorf("%v", err)
	}
	if doc.kind != jObject {
		return nil, errorf("the policy must be a JSON object, not %s", doc.kind)
	}
	p := &Policy{Version: Version2008}
	var stmts *jvalue
	for i := range doc.obj {
		f := &doc.obj[i]
		switch f.name {
		case "Version":
			if f.val.kind != jString || f.val.text != Version2012 && f.val.text != Version2008 {
				return nil, errorf("Version must be %q (or the older %q)", Version2012, Version2008)
			}
			p.Version = f.val.text
		case "Id":
			if f.val.kind != jString {
				return nil, errorf("Id must be a string")
			}
			p.ID = f.val.text
		case "Statement":
			stmts = &f.val
		default:
			return nil, errorf("unknown policy element %q (known: Version, Id, Statement)", trim(f.name))
		}
	}
	if stmts == nil {
		return nil, errorf("the policy has no Statement")
	}
	var list []jvalue
	switch stmts.kind {
	case jObject:
		list = []jvalue{*stmts}
	case jArray:
		list = stmts.arr
	default:
		return nil, errorf("Statement must be an object or an array of objects, not %s", stmts.kind)
	}
	if len(list) == 0 {
		return nil, errorf("Statement is empty")
	}
	sids := map[string]bool{}
	for i, sv := range list {
		s, err := parseStatement(sv, kind, p.Version == Version2012)
		if err != nil {
			return nil, errorf("statement %d: %v", i+1, err)
		}
		if s.Sid != "" {
			if sids[s.Sid] {
				return nil, errorf("statement %d: Sid %q is used twice", i+1, trim(s.Sid))
			}
			sids[s.Sid] = true
		}
		for _, c := range s.conditions {
			if strings.HasPrefix(c.key, existingTagPrefix) {
				p.usesTags = true
			}
		}
		if len(s.conditions) > 0 {
			p.usesCtx = true
		}
		for _, r := range s.resources {
			if r.vars {
				p.usesCtx = true
			}
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func parseStatement(v jvalue, kind Kind, withVars bool) (Statement, error) {
	var s Statement
	if v.kind != jObject {
		return s, errorf("a statement must be an object, not %s", v.kind)
	}
	has := map[string]bool{}
	for _, f := range v.obj {
		has[f.name] = true
		var err error
		switch f.name {
		case "Sid":
			if f.val.kind != jString {
				return s, errorf("Sid must be a string")
			}
			s.Sid = f.val.text
		case "Effect":
			switch {
			case f.val.kind == jString && f.val.text == "Allow":
				s.Effect = Allow
			case f.val.kind == jString && f.val.text == "Deny":
				s.Effect = Deny
			default:
				return s, errorf("Effect must be \"Allow\" or \"Deny\"")
			}
		case "Principal", "NotPrincipal":
			if kind == Identity {
				return s, errorf("%s is not allowed in a user or group policy (it applies to its user)", f.name)
			}
			var ps *principalSet
			if ps, err = parsePrincipal(f.val); err != nil {
				return s, errorf("%s: %v", f.name, err)
			}
			if f.name == "Principal" {
				s.principal = ps
			} else {
				s.notPrincipal = ps
			}
		case "Action", "NotAction":
			s.notAction = f.name == "NotAction"
			if s.actions, err = parseActions(f.val); err != nil {
				return s, errorf("%s: %v", f.name, err)
			}
		case "Resource", "NotResource":
			s.notResource = f.name == "NotResource"
			if s.resources, err = parseResources(f.val, withVars); err != nil {
				return s, errorf("%s: %v", f.name, err)
			}
		case "Condition":
			if s.conditions, err = parseConditions(f.val, withVars); err != nil {
				return s, errorf("Condition: %v", err)
			}
		default:
			return s, errorf("unknown statement element %q (known: Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition)", trim(f.name))
		}
	}
	switch {
	case !has["Effect"]:
		return s, errorf("Effect is missing")
	case has["Action"] == has["NotAction"]:
		return s, errorf("exactly one of Action and NotAction is needed")
	case has["Resource"] == has["NotResource"]:
		return s, errorf("exactly one of Resource and NotResource is needed")
	case kind == Resource && has["Principal"] == has["NotPrincipal"]:
		return s, errorf("a bucket policy statement needs exactly one of Principal and NotPrincipal")
	}
	return s, nil
}

// stringList reads a string or a non-empty array of strings.
func stringList(v jvalue) ([]string, error) {
	switch v.kind {
	case jString:
		return []string{v.text}, nil
	case jArray:
		if len(v.arr) == 0 {
			return nil, errorf("empty list")
		}
		out := make([]string, 0, len(v.arr))
		for _, e := range v.arr {
			if e.kind != jString {
				return nil, errorf("list entries must be strings, not %s", e.kind)
			}
			out = append(out, e.text)
		}
		return out, nil
	}
	return nil, errorf("must be a string or an array of strings, not %s", v.kind)
}

func parseActions(v jvalue) ([]pattern, error) {
	names, err := stringList(v)
	if err != nil {
		return nil, err
	}
	out := make([]pattern, 0, len(names))
	for _, n := range names {
		if n != "*" {
			svc, act, ok := strings.Cut(n, ":")
			if !ok || !strings.EqualFold(svc, "s3") || act == "" {
				return nil, errorf("invalid action %q: wormfs knows s3:<action> (wildcards * and ? allowed) and \"*\"", trim(n))
			}
		}
		p, err := compilePattern(n, false, true)
		if err != nil {
			return nil, err
		}
		if !p.hasWildcard() && !knownActions[p.lit] {
			return nil, errorf("invalid action %q: not an S3 action", trim(n))
		}
		out = append(out, p)
	}
	return out, nil
}

// resourcePrefix begins every S3 resource ARN.
const resourcePrefix = "arn:aws:s3:::"

func parseResources(v jvalue, withVars bool) ([]pattern, error) {
	names, err := stringList(v)
	if err != nil {
		return nil, err
	}
	out := make([]pattern, 0, len(names))
	for _, n := range names {
		if n != "*" && (!strings.HasPrefix(n, resourcePrefix) || len(n) == len(resourcePrefix)) {
			return nil, errorf("invalid resource %q: expected \"*\" or arn:aws:s3:::BUCKET[/KEY] (wildcards * and ? allowed)", trim(n))
		}
		p, err := compilePattern(n, withVars, false)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parseConditions(v jvalue, withVars bool) ([]condition, error) {
	if v.kind != jObject {
		return nil, errorf("must be an object of operators, not %s", v.kind)
	}
	var out []condition
	for _, f := range v.obj {
		cs, err := parseCondition(f.name, f.val, withVars)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// CheckBucket verifies that every resource of a bucket policy lies in
// bucket: AWS refuses a bucket policy whose resources are elsewhere.
func (p *Policy) CheckBucket(bucket string) error {
	for i := range p.Statements {
		for _, r := range p.Statements[i].resources {
			if r.source == "*" {
				continue
			}
			rest := strings.TrimPrefix(r.source, resourcePrefix)
			b, _, _ := strings.Cut(rest, "/")
			bp, err := compilePattern(b, false, false)
			if err != nil || !bp.match(bucket, nil) {
				return errorf("statement %d: resource %q is not in bucket %q", i+1, trim(r.source), bucket)
			}
		}
	}
	return nil
}

// principalSet is a parsed Principal or NotPrincipal element.
type principalSet struct {
	any    bool // "*"
	root   bool // the account root
	users  []string
	uids   []uint32
	gids   []uint32
	groups []string
}

// parsePrincipal reads "*", {"AWS": …} or {"wormfs": …}.
//
// AWS entries: "*"; "arn:aws:iam::ACCOUNT:root" (the root pair);
// "arn:aws:iam::ACCOUNT:user/NAME" or a bare NAME (the users-file user
// NAME). wormfs has one account, so ACCOUNT may be any account id.
// wormfs entries: "uid:N", "gid:N", "group:NAME" (a users-file group or,
// in the mount, a local group), "user:NAME".
func parsePrincipal(v jvalue) (*principalSet, error) {
	ps := &principalSet{}
	if v.kind == jString {
		if v.text != "*" {
			return nil, errorf("a string principal must be \"*\"; name users as {\"AWS\": [...]}")
		}
		ps.any = true
		return ps, nil
	}
	if v.kind != jObject || len(v.obj) == 0 {
		return nil, errorf("must be \"*\" or an object {\"AWS\": ..., \"wormfs\": ...}")
	}
	for _, f := range v.obj {
		names, err := stringList(f.val)
		if err != nil {
			return nil, errorf("%s: %v", f.name, err)
		}
		switch f.name {
		case "AWS":
			for _, n := range names {
				if err := ps.addAWS(n); err != nil {
					return nil, err
				}
			}
		case "wormfs":
			for _, n := range names {
				if err := ps.addWormfs(n); err != nil {
					return nil, err
				}
			}
		default:
			return nil, errorf("unsupported principal type %q (wormfs knows AWS and wormfs)", trim(f.name))
		}
	}
	return ps, nil
}

func (ps *principalSet) addAWS(n string) error {
	if n == "*" {
		ps.any = true
		return nil
	}
	if rest, ok := strings.CutPrefix(n, "arn:aws:iam::"); ok {
		acct, res, ok := strings.Cut(rest, ":")
		if !ok || !validAccount(acct) {
			return errorf("invalid principal %q: expected arn:aws:iam::ACCOUNT:root or arn:aws:iam::ACCOUNT:user/NAME", trim(n))
		}
		if res == "root" {
			ps.root = true
			return nil
		}
		name, ok := strings.CutPrefix(res, "user/")
		if !ok || !validName(name) {
			return errorf("invalid principal %q: expected arn:aws:iam::ACCOUNT:root or arn:aws:iam::ACCOUNT:user/NAME", trim(n))
		}
		ps.users = append(ps.users, name)
		return nil
	}
	if !validName(n) {
		return errorf("invalid principal %q: expected \"*\", a user name or an IAM ARN", trim(n))
	}
	ps.users = append(ps.users, n)
	return nil
}

func (ps *principalSet) addWormfs(n string) error {
	kind, val, ok := strings.Cut(n, ":")
	if ok {
		switch kind {
		case "uid", "gid":
			id, err := strconv.ParseUint(val, 10, 32)
			if err == nil {
				if kind == "uid" {
					ps.uids = append(ps.uids, uint32(id))
				} else {
					ps.gids = append(ps.gids, uint32(id))
				}
				return nil
			}
		case "group":
			if validName(val) {
				ps.groups = append(ps.groups, val)
				return nil
			}
		case "user":
			if validName(val) {
				ps.users = append(ps.users, val)
				return nil
			}
		}
	}
	return errorf("invalid wormfs principal %q: expected uid:N, gid:N, group:NAME or user:NAME", trim(n))
}

func validAccount(a string) bool {
	if a == "" || a == "*" {
		return a == "*"
	}
	for i := 0; i < len(a); i++ {
		if a[i] < '0' || a[i] > '9' {
			return false
		}
	}
	return len(a) <= 12
}

// validName is the character set of user and group names (the users
// file's access keys, IAM user names, POSIX names).
func validName(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~+@=,", c) >= 0) {
			return false
		}
	}
	return true
}
