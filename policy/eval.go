package policy

import (
	"slices"
	"strings"
)

// Principal is who asks. An S3 request carries User (the users-file name)
// and Groups (its users-file groups); the mount (planned) carries the
// caller's UID, GIDs and local group names in Groups. Root is the account
// root: the S3 root pair, and root in the mount.
type Principal struct {
	Root   bool
	User   string
	UID    uint32
	HasUID bool
	GIDs   []uint32
	Groups []string
}

// Request is one authorization question: may Principal do Action (e.g.
// "s3:GetObject") on Resource (e.g. "arn:aws:s3:::b/k"), given Context?
type Request struct {
	Principal *Principal
	Action    string
	Resource  string
	Context   Context
}

// Decision is the outcome of evaluating policies.
type Decision int

const (
	// NotApplicable: no statement matched (AWS's implicit deny).
	NotApplicable Decision = iota
	// Allowed: some Allow matched and no Deny did.
	Allowed
	// Denied: an explicit Deny matched.
	Denied
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allow"
	case Denied:
		return "explicit deny"
	}
	return "implicit deny"
}

// ResourceARN is the resource of a bucket (key "") or an object.
func ResourceARN(bucket, key string) string {
	if key == "" {
		return resourcePrefix + bucket
	}
	return resourcePrefix + bucket + "/" + key
}

// Evaluate combines every policy that applies to r as AWS does for a
// principal of the bucket owner's account: an explicit Deny in any of them
// wins; otherwise an Allow in any of them (identity or resource policy)
// allows; otherwise the request is not allowed (NotApplicable). Nil
// policies are skipped.
func Evaluate(r *Request, policies ...*Policy) Decision {
	action := strings.ToLower(r.Action)
	d := NotApplicable
	for _, p := range policies {
		if p == nil {
			continue
		}
		switch p.eval(r, action) {
		case Denied:
			return Denied
		case Allowed:
			d = Allowed
		}
	}
	return d
}

// Eval evaluates p alone.
func (p *Policy) Eval(r *Request) Decision { return Evaluate(r, p) }

func (p *Policy) eval(r *Request, action string) Decision {
	d := NotApplicable
	for i := range p.Statements {
		s := &p.Statements[i]
		if s.Effect == Allow && d == Allowed {
			continue // already allowed; only a Deny can change that
		}
		if !s.applies(r, action) {
			continue
		}
		if s.Effect == Deny {
			return Denied
		}
		d = Allowed
	}
	return d
}

func (s *Statement) applies(r *Request, action string) bool {
	if s.principal != nil && !s.principal.match(r.Principal) {
		return false
	}
	if s.notPrincipal != nil && s.notPrincipal.match(r.Principal) {
		return false
	}
	if matchAny(s.actions, action, nil) == s.notAction {
		return false
	}
	if matchAny(s.resources, r.Resource, r.Context) == s.notResource {
		return false
	}
	for i := range s.conditions {
		if !s.conditions[i].eval(r.Context) {
			return false
		}
	}
	return true
}

func matchAny(ps []pattern, s string, ctx Context) bool {
	for i := range ps {
		if ps[i].source == "*" || ps[i].match(s, ctx) {
			return true
		}
	}
	return false
}

func (ps *principalSet) match(p *Principal) bool {
	if ps.any {
		return true
	}
	if p == nil {
		return false
	}
	if ps.root && p.Root {
		return true
	}
	if p.User != "" && slices.Contains(ps.users, p.User) {
		return true
	}
	if p.HasUID && slices.Contains(ps.uids, p.UID) {
		return true
	}
	for _, g := range p.GIDs {
		if slices.Contains(ps.gids, g) {
			return true
		}
	}
	for _, g := range p.Groups {
		if slices.Contains(ps.groups, g) {
			return true
		}
	}
	return false
}
