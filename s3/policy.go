package s3

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
	"github.com/wormfs/wormfs/policy"
)

// Authorization (SPEC §4, §6): every request is one or more questions to
// the policy package: may this principal do this AWS action on this
// resource, given these condition keys? The principal's identity policies
// (the grant words as built-in policies, its own and its groups') and the
// bucket's policy are evaluated together as AWS does for principals of
// the bucket owner's account: an explicit Deny anywhere refuses, otherwise
// an Allow anywhere allows. The root pair is allowed everything that no
// bucket policy explicitly denies, and it is never refused the bucket
// policy calls themselves (so it cannot lock itself out).

// grantPolicies are the grant words of the users file as the policies
// they stand for: exactly what each word allowed before policies existed.
// "write" and "lock" together also allow PutObjectLockConfiguration,
// which needed both grants.
var grantPolicies = map[Action]string{
	ActionRead: `{"Version":"2012-10-17","Statement":{"Sid":"grant-read","Effect":"Allow","Resource":"*","Action":[
		"s3:ListAllMyBuckets","s3:ListBucket","s3:ListBucketVersions","s3:ListBucketMultipartUploads","s3:ListMultipartUploadParts",
		"s3:GetBucketLocation","s3:GetBucketVersioning","s3:GetBucketObjectLockConfiguration",
		"s3:GetBucketAcl","s3:GetBucketOwnershipControls",
		"s3:GetObject","s3:GetObjectVersion","s3:GetObjectAttributes","s3:GetObjectVersionAttributes",
		"s3:GetObjectAcl","s3:GetObjectVersionAcl","s3:GetObjectTagging","s3:GetObjectVersionTagging",
		"s3:GetObjectRetention","s3:GetObjectLegalHold"]}}`,
	ActionWrite: `{"Version":"2012-10-17","Statement":{"Sid":"grant-write","Effect":"Allow","Resource":"*","Action":[
		"s3:CreateBucket","s3:DeleteBucket","s3:PutBucketVersioning","s3:PutBucketAcl","s3:PutBucketOwnershipControls",
		"s3:PutObject","s3:DeleteObject","s3:DeleteObjectVersion","s3:AbortMultipartUpload",
		"s3:PutObjectAcl","s3:PutObjectVersionAcl",
		"s3:PutObjectTagging","s3:PutObjectVersionTagging","s3:DeleteObjectTagging","s3:DeleteObjectVersionTagging"]}}`,
	ActionLock: `{"Version":"2012-10-17","Statement":{"Sid":"grant-lock","Effect":"Allow","Resource":"*","Action":[
		"s3:PutObjectRetention","s3:PutObjectLegalHold"]}}`,
	ActionBypassGovernance: `{"Version":"2012-10-17","Statement":{"Sid":"grant-bypass-governance","Effect":"Allow","Resource":"*","Action":"s3:BypassGovernanceRetention"}}`,
}

const writeLockPolicy = `{"Version":"2012-10-17","Statement":{"Sid":"grant-write-lock","Effect":"Allow","Resource":"*","Action":"s3:PutBucketObjectLockConfiguration"}}`

var builtin = func() map[Action]*policy.Policy {
	m := make(map[Action]*policy.Policy, len(grantPolicies)+1)
	for a, doc := range grantPolicies {
		m[a] = mustPolicy(doc)
	}
	m[-1] = mustPolicy(writeLockPolicy)
	return m
}()

func mustPolicy(doc string) *policy.Policy {
	p, err := policy.Parse([]byte(doc), policy.Identity)
	if err != nil {
		panic(err)
	}
	return p
}

// validPolicyName is the character set of user and group names.
func validPolicyName(n string) bool {
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

func parseIdentityPolicy(raw json.RawMessage) (*policy.Policy, error) {
	return policy.Parse(raw, policy.Identity)
}

// setPolicies parses the name, groups and policies of u into p.
func (p *Principal) setPolicies(u User) error {
	p.name = u.Name
	if p.name == "" {
		p.name = u.AccessKey
	}
	if !validPolicyName(p.name) {
		return fmt.Errorf("name %q: a name holds 1 to 128 letters, digits and -_.~+@=,", trimForMessage(p.name))
	}
	for _, g := range u.Groups {
		if !validPolicyName(g) {
			return fmt.Errorf("group %q: a group name holds 1 to 128 letters, digits and -_.~+@=,", trimForMessage(g))
		}
	}
	p.groups = u.Groups
	for i, raw := range u.Policies {
		pol, err := parseIdentityPolicy(raw)
		if err != nil {
			return fmt.Errorf("policy %d: %w", i+1, err)
		}
		p.policies = append(p.policies, pol)
	}
	for i, raw := range u.groupPolicies {
		pol, err := parseIdentityPolicy(raw)
		if err != nil {
			return fmt.Errorf("group policy %d: %w", i+1, err)
		}
		p.policies = append(p.policies, pol)
	}
	return nil
}

// addGrantPolicies adds the built-in policies of p's grant words.
func (p *Principal) addGrantPolicies() {
	var extra []*policy.Policy
	for a := range actionNames {
		if p.grants&(1<<uint(a)) != 0 {
			extra = append(extra, builtin[Action(a)])
		}
	}
	if p.grants&(1<<ActionWrite) != 0 && p.grants&(1<<ActionLock) != 0 {
		extra = append(extra, builtin[-1])
	}
	p.policies = append(extra, p.policies...)
	for _, pol := range p.policies {
		p.usesTags = p.usesTags || pol.UsesExistingObjectTags()
		p.usesCtx = p.usesCtx || pol.UsesContext()
	}
}

// policyPrincipal is p as the policy package sees it.
func (p *Principal) policyPrincipal() *policy.Principal {
	if p.Root {
		return &policy.Principal{Root: true}
	}
	return &policy.Principal{User: p.name, Groups: p.groups}
}

// authState is what one request has learnt about authorization: the
// bucket policies it looked up (CopyObject reads two buckets).
type authState struct {
	buckets  map[string]*policy.Policy
	pp       *policy.Principal
	base     policy.Context
	baseDone bool
}

// policyCache holds parsed bucket policies by document, so a request
// parses nothing. It is bounded: past maxCachedPolicies it starts over.
type policyCache struct {
	mu sync.Mutex
	m  map[string]*policy.Policy
}

const maxCachedPolicies = 1024

func (c *policyCache) get(doc string) (*policy.Policy, error) {
	c.mu.Lock()
	p, ok := c.m[doc]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := policy.Parse([]byte(doc), policy.Resource)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedPolicies {
		c.m = make(map[string]*policy.Policy)
	}
	c.m[doc] = p
	c.mu.Unlock()
	return p, nil
}

var bucketPolicies policyCache

// bucketPolicy returns the policy of bucket (nil when it has none or does
// not exist: the handler answers NoSuchBucket).
func (q *request) bucketPolicy(bucket string) (*policy.Policy, error) {
	if bucket == "" {
		return nil, nil
	}
	a := &q.auth
	if p, ok := a.buckets[bucket]; ok {
		return p, nil
	}
	var p *policy.Policy
	b, err := q.s.store.GetBucket(bucket)
	if err == nil && b.Policy != "" {
		if p, err = bucketPolicies.get(b.Policy); err != nil {
			// A stored policy was validated when it was put; one that
			// no longer parses is corruption, and refuses everything.
			q.s.logger.Printf("s3: bucket %s: stored policy does not parse: %v", bucket, err)
			return nil, ErrInternal
		}
	}
	if a.buckets == nil {
		a.buckets = make(map[string]*policy.Policy, 2)
	}
	a.buckets[bucket] = p
	return p, nil
}

// baseContext is the condition keys every request has.
func (q *request) baseContext() policy.Context {
	a := &q.auth
	if a.baseDone {
		return a.base
	}
	c := make(policy.Context, 8)
	c[policy.KeySecureTransport] = []string{strconv.FormatBool(q.r.TLS != nil)}
	if host, _, err := net.SplitHostPort(q.r.RemoteAddr); err == nil {
		c[policy.KeySourceIP] = []string{host}
	}
	now := q.s.store.Now().UTC()
	c[policy.KeyCurrentTime] = []string{now.Format(time.RFC3339)}
	c[policy.KeyEpochTime] = []string{strconv.FormatInt(now.Unix(), 10)}
	if q.p != nil {
		c[policy.KeyUserID] = []string{q.p.AccessKey}
		if q.p.Root {
			c[policy.KeyPrincipalType] = []string{"Account"}
		} else {
			c[policy.KeyPrincipalType] = []string{"User"}
			c[policy.KeyUsername] = []string{q.p.name}
		}
	}
	a.base, a.baseDone = c, true
	return c
}

// withBase returns the base context plus extra keys.
func (q *request) withBase(extra policy.Context) policy.Context {
	base := q.baseContext()
	if len(extra) == 0 {
		return base
	}
	c := make(policy.Context, len(base)+len(extra))
	for k, v := range base {
		c[k] = v
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// authorize decides whether the request's principal may do action on
// bucket/key with the extra condition keys; nil or a 403 AccessDenied in
// AWS's words.
func (q *request) authorize(action, bucket, key string, extra policy.Context) error {
	p := q.p
	if p == nil {
		return ErrAccessDenied
	}
	bp, err := q.bucketPolicy(bucket)
	if err != nil {
		return err
	}
	if p.Root && bp == nil {
		return nil // the root pair, and no bucket policy to deny it
	}
	if p.Root && isPolicyAction(action) {
		return nil // the owner can always repair a bucket policy
	}
	var ctx policy.Context // none of the policies reads it: skip building it
	if p.usesCtx || bp.UsesContext() {
		ctx = q.withBase(extra)
		if key != "" && (p.usesTags || bp.UsesExistingObjectTags()) {
			ctx = q.withTags(ctx, bucket, key, extra)
		}
	}
	if q.auth.pp == nil {
		q.auth.pp = p.policyPrincipal()
	}
	r := &policy.Request{Principal: q.auth.pp, Action: action, Resource: policy.ResourceARN(bucket, key), Context: ctx}
	// Same account: the identity policies and the bucket policy each may
	// allow; an explicit Deny in either refuses.
	did := policy.Evaluate(r, p.policies...)
	db := policy.NotApplicable
	if bp != nil {
		db = bp.Eval(r)
	}
	switch {
	case db == policy.Denied:
		return q.denied(action, r.Resource, "with an explicit deny in a resource-based policy")
	case did == policy.Denied:
		return q.denied(action, r.Resource, "with an explicit deny in an identity-based policy")
	case p.Root || did == policy.Allowed || db == policy.Allowed:
		return nil
	}
	return q.denied(action, r.Resource, "because no identity-based policy allows the "+action+" action")
}

// isPolicyAction reports whether action is one of the bucket policy calls.
func isPolicyAction(action string) bool {
	switch action {
	case "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:GetBucketPolicyStatus":
		return true
	}
	return false
}

// denied is the AccessDenied answer, worded as AWS words it.
func (q *request) denied(action, resource, why string) error {
	who := "arn:aws:iam::" + accountID + ":root"
	if !q.p.Root {
		who = "arn:aws:iam::" + accountID + ":user/" + q.p.name
	}
	return ErrAccessDenied.WithMessage("User: %s is not authorized to perform: %s on resource: \"%s\" %s", who, action, resource, why)
}

// accountID is the account wormfs reports in ARNs: it has one.
const accountID = "000000000000"

// withTags adds s3:ExistingObjectTag/<k> of the version the request
// names (versionId, else the latest).
func (q *request) withTags(ctx policy.Context, bucket, key string, extra policy.Context) policy.Context {
	vid := ""
	if v := extra[policy.KeyVersionID]; len(v) == 1 {
		vid = v[0]
	}
	v, err := q.s.store.Get(bucket, key, vid)
	if err != nil || v == nil || len(v.Tags) == 0 {
		return ctx
	}
	c := make(policy.Context, len(ctx)+len(v.Tags))
	for k, vals := range ctx {
		c[k] = vals
	}
	for k, val := range v.Tags {
		c[policy.ExistingObjectTagKey(k)] = []string{val}
	}
	return c
}

// lockContext holds the lock condition keys of a retention and/or a legal
// hold that a request asks for.
func (q *request) lockContext(ret *lockctl.Retention, hold *bool) policy.Context {
	c := policy.Context{}
	if ret != nil && !ret.IsZero() {
		c[policy.KeyLockMode] = []string{string(ret.Mode)}
		c[policy.KeyRetainUntilDate] = []string{ret.Until.UTC().Format(time.RFC3339)}
		c[policy.KeyRemainingRetentionDays] = []string{strconv.FormatInt(remainingDays(ret.Until, q.s.store.Now()), 10)}
	}
	if hold != nil {
		c[policy.KeyLegalHold] = []string{map[bool]string{true: "ON", false: "OFF"}[*hold]}
	}
	if vid := q.query("versionId"); vid != "" {
		c[policy.KeyVersionID] = []string{vid}
	}
	return c
}

// remainingDays is ceil((until − now) / 24h), the value of
// s3:object-lock-remaining-retention-days, now being the compliance clock.
func remainingDays(until, now time.Time) int64 {
	d := until.Sub(now)
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(float64(d) / float64(24*time.Hour)))
}

// routeAction maps an operation to the AWS action the route-level check
// asks for, its resource key and condition keys. skip: the handler asks
// (its condition keys are in the body), or asks per object.
func (q *request) routeAction(name string) (action, key string, ctx policy.Context, skip bool) {
	vals := q.r.URL.Query()
	vid := vals.Get("versionId")
	versioned := func(plain, withVersion string) string {
		if vid != "" {
			return withVersion
		}
		return plain
	}
	key = q.key
	ctx = policy.Context{}
	if vid != "" {
		ctx[policy.KeyVersionID] = []string{vid}
	}
	switch name {
	case "PutObjectRetention", "PutObjectLegalHold", "DeleteObjects":
		return "", "", nil, true
	case "ListBuckets":
		return "s3:ListAllMyBuckets", "", nil, false
	case "GetObjectLockConfiguration":
		action = "s3:GetBucketObjectLockConfiguration"
	case "PutObjectLockConfiguration":
		action = "s3:PutBucketObjectLockConfiguration"
	case "ListMultipartUploads":
		action = "s3:ListBucketMultipartUploads"
	case "ListObjects", "ListObjectVersions":
		action = "s3:ListBucket"
		if name == "ListObjectVersions" {
			action = "s3:ListBucketVersions"
		}
		ctx[policy.KeyPrefix] = []string{vals.Get("prefix")}
		if vals.Has("delimiter") {
			ctx[policy.KeyDelimiter] = []string{vals.Get("delimiter")}
		}
		if vals.Has("max-keys") {
			ctx[policy.KeyMaxKeys] = []string{vals.Get("max-keys")}
		}
	case "HeadBucket":
		action = "s3:ListBucket"
	case "GetObject", "HeadObject":
		action = versioned("s3:GetObject", "s3:GetObjectVersion")
	case "DeleteObject":
		action = versioned("s3:DeleteObject", "s3:DeleteObjectVersion")
	case "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging":
		verb := strings.TrimSuffix(name, "ObjectTagging")
		action = versioned("s3:"+verb+"ObjectTagging", "s3:"+verb+"ObjectVersionTagging")
	case "PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload":
		action = "s3:PutObject"
		if name == "PutObject" || name == "CopyObject" || name == "CreateMultipartUpload" {
			if l, err := parseLockHeaders(q.r.Header); err == nil && l.any {
				for k, v := range q.lockContext(lockRetention(l), lockHold(q.r.Header, l)) {
					ctx[k] = v
				}
			}
		}
	case "ListParts":
		action = "s3:ListMultipartUploadParts"
	default:
		// GetBucketVersioning, PutBucketVersioning, CreateBucket,
		// DeleteBucket, GetBucketLocation, GetObjectRetention,
		// GetObjectLegalHold, AbortMultipartUpload, the bucket policy
		// calls, and any operation added later: AWS names the action
		// after the operation.
		action = "s3:" + name
	}
	return action, key, ctx, false
}

func lockRetention(l lockHeaders) *lockctl.Retention {
	if l.ret.IsZero() {
		return nil
	}
	return &l.ret
}

func lockHold(h http.Header, l lockHeaders) *bool {
	if h.Get("x-amz-object-lock-legal-hold") == "" {
		return nil
	}
	return &l.hold
}

// authorizeRoute is the check every request passes before its handler.
func (q *request) authorizeRoute(name string) error {
	if q.p != nil && q.p.Root {
		// The common case, cheaply: no bucket policy, nothing to deny.
		if bp, err := q.bucketPolicy(q.bucket); err != nil || bp == nil {
			return err
		}
	}
	action, key, ctx, skip := q.routeAction(name)
	if skip {
		if q.p == nil {
			return ErrAccessDenied
		}
		return nil
	}
	return q.authorize(action, q.bucket, key, ctx)
}

// authorizeLockHeaders checks the lock headers of a request that creates
// a version: a retention needs s3:PutObjectRetention, a legal-hold header
// s3:PutObjectLegalHold, with the lock condition keys of the headers.
func (q *request) authorizeLockHeaders(l lockHeaders) error {
	if ret := lockRetention(l); ret != nil {
		if err := q.authorize("s3:PutObjectRetention", q.bucket, q.key, q.lockContext(ret, nil)); err != nil {
			return err
		}
	}
	if hold := lockHold(q.r.Header, l); hold != nil {
		if err := q.authorize("s3:PutObjectLegalHold", q.bucket, q.key, q.lockContext(nil, hold)); err != nil {
			return err
		}
	}
	return nil
}

// mayBypass reports whether the principal may bypass GOVERNANCE on
// bucket/key (s3:BypassGovernanceRetention). It is asked only when the
// request asks for a bypass; the store decides whether one is needed.
func (q *request) mayBypass(key string) bool {
	return q.p != nil && q.authorize("s3:BypassGovernanceRetention", q.bucket, key, nil) == nil
}

// actorFor is actor for a request about key (DeleteObjects names many).
func (q *request) actorFor(key string, bypass bool) meta.Actor {
	a := q.actor(false)
	if q.p != nil {
		a.Bypass.Requested = bypass
		a.Bypass.Allowed = bypass && q.mayBypass(key)
	}
	return a
}

// authorizeCopySource checks that the principal may read the source of a
// CopyObject or UploadPartCopy: s3:GetObject, or s3:GetObjectVersion when
// the source names a version.
func (q *request) authorizeCopySource(cs copySource) error {
	action := "s3:GetObject"
	ctx := policy.Context{}
	if cs.versionID != "" {
		action = "s3:GetObjectVersion"
		ctx[policy.KeyVersionID] = []string{cs.versionID}
	}
	return q.authorize(action, cs.bucket, cs.key, ctx)
}

// authorizeDelete checks one key of DeleteObjects.
func (q *request) authorizeDelete(key, vid string) error {
	if vid != "" {
		return q.authorize("s3:DeleteObjectVersion", q.bucket, key, policy.Context{policy.KeyVersionID: {vid}})
	}
	return q.authorize("s3:DeleteObject", q.bucket, key, nil)
}
