package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func mustParse(t testing.TB, doc string, kind Kind) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), kind)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func TestParseErrors(t *testing.T) {
	stmt := func(body string) string {
		return `{"Version":"2012-10-17","Statement":[` + body + `]}`
	}
	tests := []struct {
		name, doc string
		kind      Kind
		want      string // part of the message
	}{
		{"not json", `{`, Identity, "unexpected end"},
		{"trailing data", `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}} x`, Identity, "data after"},
		{"array document", `[]`, Identity, "must be a JSON object"},
		{"bad version", `{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, Identity, "Version must be"},
		{"numeric version", `{"Version":2012,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, Identity, "Version must be"},
		{"unknown top element", `{"Version":"2012-10-17","Statment":[]}`, Identity, "unknown policy element \"Statment\""},
		{"no statement", `{"Version":"2012-10-17"}`, Identity, "no Statement"},
		{"empty statement list", stmt(``), Identity, "Statement is empty"},
		{"statement string", `{"Statement":"x"}`, Identity, "must be an object or an array"},
		{"duplicate element past eight", `{"Statement":{"Sid":"a","Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:username":"true","aws:userid":"true","s3:prefix":"true","s3:delimiter":"true","s3:max-keys":"true","aws:sourceip":"true","aws:currenttime":"true","aws:epochtime":"true","s3:prefix":"false"}}}}`, Identity, "duplicate element \"s3:prefix\""},
		{"duplicate element", stmt(`{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}`), Identity, "duplicate element \"Effect\""},
		{"unknown statement element", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Foo":1}`), Identity, "unknown statement element \"Foo\""},
		{"missing effect", stmt(`{"Action":"*","Resource":"*"}`), Identity, "Effect is missing"},
		{"bad effect", stmt(`{"Effect":"allow","Action":"*","Resource":"*"}`), Identity, "Effect must be"},
		{"missing action", stmt(`{"Effect":"Allow","Resource":"*"}`), Identity, "Action and NotAction"},
		{"action and notaction", stmt(`{"Effect":"Allow","Action":"*","NotAction":"s3:GetObject","Resource":"*"}`), Identity, "Action and NotAction"},
		{"missing resource", stmt(`{"Effect":"Allow","Action":"*"}`), Identity, "Resource and NotResource"},
		{"empty action list", stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), Identity, "empty list"},
		{"action number", stmt(`{"Effect":"Allow","Action":5,"Resource":"*"}`), Identity, "string or an array"},
		{"unknown action", stmt(`{"Effect":"Allow","Action":"s3:GetObjekt","Resource":"*"}`), Identity, "not an S3 action"},
		{"other service", stmt(`{"Effect":"Allow","Action":"iam:CreateUser","Resource":"*"}`), Identity, "invalid action"},
		{"bad resource", stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:sqs:::q"}`), Identity, "invalid resource"},
		{"empty arn", stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::"}`), Identity, "invalid resource"},
		{"unclosed variable", stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:username"}`), Identity, "not closed"},
		{"unknown variable", stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:nope}"}`), Identity, "unknown condition key"},
		{"principal in identity policy", stmt(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), Identity, "not allowed in a user or group policy"},
		{"bucket policy without principal", stmt(`{"Effect":"Allow","Action":"*","Resource":"*"}`), Resource, "Principal and NotPrincipal"},
		{"principal string not star", stmt(`{"Effect":"Allow","Principal":"alice","Action":"*","Resource":"*"}`), Resource, "must be \"*\""},
		{"principal service", stmt(`{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"*","Resource":"*"}`), Resource, "unsupported principal type"},
		{"principal bad arn", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::12x:user/a"},"Action":"*","Resource":"*"}`), Resource, "invalid principal"},
		{"principal bad wormfs", stmt(`{"Effect":"Allow","Principal":{"wormfs":"uid:-1"},"Action":"*","Resource":"*"}`), Resource, "invalid wormfs principal"},
		{"principal empty object", stmt(`{"Effect":"Allow","Principal":{},"Action":"*","Resource":"*"}`), Resource, "must be"},
		{"unknown operator", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqual":{"aws:username":"a"}}}`), Identity, "unknown condition operator \"StringEqual\""},
		{"unknown key", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"s3:x-amz-acl":"a"}}}`), Identity, "unknown condition key"},
		{"numeric value not number", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NumericGreaterThan":{"s3:object-lock-remaining-retention-days":"thirty"}}}`), Identity, "not a number"},
		{"date value bad", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}}`), Identity, "not a date"},
		{"bool value bad", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), Identity, "not true or false"},
		{"ip value bad", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}`), Identity, "not an IP address"},
		{"null ifexists", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}`), Identity, "Null takes neither"},
		{"null two values", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"aws:username":["true","false"]}}}`), Identity, "one value"},
		{"empty condition values", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":[]}}}`), Identity, "empty list of values"},
		{"condition object value", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}}`), Identity, "must be a string"},
		{"operator without keys", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{}}}`), Identity, "names no key"},
		{"condition not object", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":[]}`), Identity, "must be an object"},
		{"key twice in different case", stmt(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"a","AWS:UserName":"b"}}}`), Identity, "twice"},
		{"duplicate sid", stmt(`{"Sid":"a","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"a","Effect":"Allow","Action":"*","Resource":"*"}`), Identity, "used twice"},
		{"too deep", `{"Statement":[[[[[[[[[[[]]]]]]]]]]]}`, Identity, "nested too deeply"},
		{"too large", `{"Id":"` + strings.Repeat("x", MaxSize) + `"}`, Identity, "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), tc.kind)
			if err == nil {
				t.Fatalf("Parse accepted %s", tc.doc)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"statement object, no version", `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`},
		{"action case", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["S3:getobject","s3:Put*","s3:?etObject"],"Resource":"*"}]}`},
		{"numbers and bools as values", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NumericGreaterThan":{"s3:object-lock-remaining-retention-days":30},"Bool":{"aws:SecureTransport":false}}}]}`},
		{"existing tag key", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"s3:ExistingObjectTag/class":"public"}}}]}`},
		{"escapes", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${*}${?}${$}"}]}`},
		{"2008 keeps ${ literal", `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${x"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { mustParse(t, tc.doc, Identity) })
	}
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		name, pat, s string
		want         bool
	}{
		{"literal", "abc", "abc", true},
		{"literal differs", "abc", "abd", false},
		{"star empty", "a*", "a", true},
		{"star spans slash", "b/*", "b/x/y/z", true},
		{"star middle", "a*c", "abbbc", true},
		{"star middle no", "a*c", "abbbd", false},
		{"two stars", "*a*b*", "xxaxxbxx", true},
		{"two stars order", "*b*a", "ab", false},
		{"question", "a?c", "abc", true},
		{"question utf8", "a?c", "aéc", true},
		{"question needs one", "a?", "a", false},
		{"only star", "*", "", true},
		{"backtrack", "*aab", "aaaab", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := compilePattern(tc.pat, false, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.match(tc.s, nil); got != tc.want {
				t.Fatalf("match(%q, %q) = %v", tc.pat, tc.s, got)
			}
		})
	}
}

// condCase evaluates a single condition against a context.
type condCase struct {
	name string
	op   string
	key  string
	vals string // JSON value
	ctx  Context
	want bool
}

func runCond(t *testing.T, tests []condCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{%q:{%q:%s}}}}`, tc.op, tc.key, tc.vals)
			p := mustParse(t, doc, Identity)
			got := p.Eval(&Request{Principal: &Principal{User: "u"}, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: tc.ctx}) == Allowed
			if got != tc.want {
				t.Fatalf("%s %s %s with %v = %v, want %v", tc.op, tc.key, tc.vals, tc.ctx, got, tc.want)
			}
		})
	}
}

func ctx(kv ...string) Context {
	c := Context{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := strings.ToLower(kv[i])
		c[k] = append(c[k], kv[i+1])
	}
	return c
}

func TestStringOperators(t *testing.T) {
	u := "aws:username"
	runCond(t, []condCase{
		{"StringEquals match", "StringEquals", u, `"alice"`, ctx(u, "alice"), true},
		{"StringEquals case differs", "StringEquals", u, `"alice"`, ctx(u, "Alice"), false},
		{"StringEquals any of list", "StringEquals", u, `["bob","alice"]`, ctx(u, "alice"), true},
		{"StringEquals missing", "StringEquals", u, `"alice"`, ctx(), false},
		{"StringEquals star literal", "StringEquals", u, `"a*"`, ctx(u, "alice"), false},
		{"StringNotEquals other", "StringNotEquals", u, `"alice"`, ctx(u, "bob"), true},
		{"StringNotEquals same", "StringNotEquals", u, `"alice"`, ctx(u, "alice"), false},
		{"StringNotEquals list is nor", "StringNotEquals", u, `["bob","alice"]`, ctx(u, "alice"), false},
		{"StringNotEquals missing holds", "StringNotEquals", u, `"alice"`, ctx(), true},
		{"StringEqualsIgnoreCase", "StringEqualsIgnoreCase", u, `"ALICE"`, ctx(u, "alice"), true},
		{"StringNotEqualsIgnoreCase", "StringNotEqualsIgnoreCase", u, `"ALICE"`, ctx(u, "alice"), false},
		{"StringLike prefix", "StringLike", "s3:prefix", `"public/*"`, ctx("s3:prefix", "public/a"), true},
		{"StringLike no", "StringLike", "s3:prefix", `"public/*"`, ctx("s3:prefix", "private/a"), false},
		{"StringLike empty value", "StringLike", "s3:prefix", `["","public/*"]`, ctx("s3:prefix", ""), true},
		{"StringNotLike", "StringNotLike", "s3:prefix", `"public/*"`, ctx("s3:prefix", "private/"), true},
		{"StringNotLike matches", "StringNotLike", "s3:prefix", `"public/*"`, ctx("s3:prefix", "public/x"), false},
		{"StringNotLike missing holds", "StringNotLike", "s3:prefix", `"public/*"`, ctx(), true},
		{"StringEquals variable", "StringEquals", "s3:prefix", `"home/${aws:username}/"`, ctx("s3:prefix", "home/alice/", u, "alice"), true},
		{"StringLike variable", "StringLike", "s3:prefix", `"home/${aws:username}/*"`, ctx("s3:prefix", "home/bob/x", u, "alice"), false},
		{"StringEquals number value", "StringEquals", "s3:max-keys", `10`, ctx("s3:max-keys", "10"), true},
		{"StringEqualsIfExists missing", "StringEqualsIfExists", u, `"alice"`, ctx(), true},
		{"StringEqualsIfExists present other", "StringEqualsIfExists", u, `"alice"`, ctx(u, "bob"), false},
		{"StringNotEqualsIfExists missing", "StringNotEqualsIfExists", u, `"alice"`, ctx(), true},
		{"key case-insensitive", "StringEquals", "AWS:UserName", `"alice"`, ctx(u, "alice"), true},
	})
}

func TestNumericOperators(t *testing.T) {
	d := "s3:object-lock-remaining-retention-days"
	runCond(t, []condCase{
		{"NumericEquals", "NumericEquals", d, `30`, ctx(d, "30"), true},
		{"NumericEquals string value", "NumericEquals", d, `"30"`, ctx(d, "30.0"), true},
		{"NumericEquals no", "NumericEquals", d, `30`, ctx(d, "31"), false},
		{"NumericNotEquals", "NumericNotEquals", d, `30`, ctx(d, "31"), true},
		{"NumericNotEquals same", "NumericNotEquals", d, `30`, ctx(d, "30"), false},
		{"NumericNotEquals missing holds", "NumericNotEquals", d, `30`, ctx(), true},
		{"NumericLessThan", "NumericLessThan", d, `30`, ctx(d, "29"), true},
		{"NumericLessThan equal", "NumericLessThan", d, `30`, ctx(d, "30"), false},
		{"NumericLessThanEquals", "NumericLessThanEquals", d, `30`, ctx(d, "30"), true},
		{"NumericGreaterThan", "NumericGreaterThan", d, `30`, ctx(d, "31"), true},
		{"NumericGreaterThan equal", "NumericGreaterThan", d, `30`, ctx(d, "30"), false},
		{"NumericGreaterThan missing", "NumericGreaterThan", d, `30`, ctx(), false},
		{"NumericGreaterThanEquals", "NumericGreaterThanEquals", d, `30`, ctx(d, "30"), true},
		{"NumericGreaterThanIfExists missing", "NumericGreaterThanIfExists", d, `30`, ctx(), true},
		{"request value not a number", "NumericLessThan", d, `30`, ctx(d, "x"), false},
		{"s3:max-keys", "NumericLessThanEquals", "s3:max-keys", `100`, ctx("s3:max-keys", "1000"), false},
	})
}

func TestDateOperators(t *testing.T) {
	c := "aws:CurrentTime"
	r := "s3:object-lock-retain-until-date"
	runCond(t, []condCase{
		{"DateEquals", "DateEquals", c, `"2026-01-01T00:00:00Z"`, ctx(c, "2026-01-01T00:00:00Z"), true},
		{"DateEquals other zone", "DateEquals", c, `"2026-01-01T01:00:00+01:00"`, ctx(c, "2026-01-01T00:00:00Z"), true},
		{"DateNotEquals", "DateNotEquals", c, `"2026-01-01T00:00:00Z"`, ctx(c, "2026-01-02T00:00:00Z"), true},
		{"DateLessThan", "DateLessThan", c, `"2026-01-01"`, ctx(c, "2025-12-31T23:59:59Z"), true},
		{"DateLessThan no", "DateLessThan", c, `"2026-01-01"`, ctx(c, "2026-01-01T00:00:00Z"), false},
		{"DateLessThanEquals", "DateLessThanEquals", c, `"2026-01-01"`, ctx(c, "2026-01-01T00:00:00Z"), true},
		{"DateGreaterThan", "DateGreaterThan", r, `"2030-01-01T00:00:00Z"`, ctx(r, "2031-01-01T00:00:00Z"), true},
		{"DateGreaterThanEquals", "DateGreaterThanEquals", r, `"2030-01-01T00:00:00Z"`, ctx(r, "2030-01-01T00:00:00Z"), true},
		{"epoch seconds", "DateGreaterThan", c, `1700000000`, ctx(c, "2026-01-01T00:00:00Z"), true},
		{"missing", "DateGreaterThan", c, `"2026-01-01"`, ctx(), false},
		{"IfExists missing", "DateGreaterThanIfExists", c, `"2026-01-01"`, ctx(), true},
	})
}

func TestBoolIPNull(t *testing.T) {
	s := "aws:SecureTransport"
	ip := "aws:SourceIp"
	runCond(t, []condCase{
		{"Bool true", "Bool", s, `"true"`, ctx(s, "true"), true},
		{"Bool json false", "Bool", s, `false`, ctx(s, "false"), true},
		{"Bool mismatch", "Bool", s, `true`, ctx(s, "false"), false},
		{"Bool missing", "Bool", s, `false`, ctx(), false},
		{"BoolIfExists missing", "BoolIfExists", s, `false`, ctx(), true},
		{"IpAddress cidr", "IpAddress", ip, `"10.0.0.0/8"`, ctx(ip, "10.1.2.3"), true},
		{"IpAddress outside", "IpAddress", ip, `"10.0.0.0/8"`, ctx(ip, "11.1.2.3"), false},
		{"IpAddress single", "IpAddress", ip, `"127.0.0.1"`, ctx(ip, "127.0.0.1"), true},
		{"IpAddress v6", "IpAddress", ip, `"2001:db8::/32"`, ctx(ip, "2001:db8::1"), true},
		{"IpAddress mapped v4", "IpAddress", ip, `"127.0.0.0/8"`, ctx(ip, "::ffff:127.0.0.1"), true},
		{"NotIpAddress", "NotIpAddress", ip, `"10.0.0.0/8"`, ctx(ip, "11.1.2.3"), true},
		{"NotIpAddress inside", "NotIpAddress", ip, `["192.168.0.0/16","10.0.0.0/8"]`, ctx(ip, "10.1.2.3"), false},
		{"NotIpAddress missing holds", "NotIpAddress", ip, `"10.0.0.0/8"`, ctx(), true},
		{"Null true missing", "Null", "s3:object-lock-mode", `true`, ctx(), true},
		{"Null true present", "Null", "s3:object-lock-mode", `"true"`, ctx("s3:object-lock-mode", "GOVERNANCE"), false},
		{"Null false present", "Null", "s3:object-lock-mode", `false`, ctx("s3:object-lock-mode", "GOVERNANCE"), true},
		{"Null false missing", "Null", "s3:object-lock-mode", `false`, ctx(), false},
	})
}

func TestQualifiers(t *testing.T) {
	k := "s3:ExistingObjectTag/team"
	two := ctx(k, "a", k, "b")
	runCond(t, []condCase{
		{"ForAnyValue one matches", "ForAnyValue:StringEquals", k, `"a"`, two, true},
		{"ForAnyValue none", "ForAnyValue:StringEquals", k, `"c"`, two, false},
		{"ForAnyValue missing", "ForAnyValue:StringEquals", k, `"a"`, ctx(), false},
		{"ForAnyValue negated one differs", "ForAnyValue:StringNotEquals", k, `"a"`, two, true},
		{"ForAnyValue negated all same", "ForAnyValue:StringNotEquals", k, `["a","b"]`, two, false},
		{"ForAnyValue negated missing", "ForAnyValue:StringNotEquals", k, `"a"`, ctx(), false},
		{"ForAllValues all match", "ForAllValues:StringEquals", k, `["a","b","c"]`, two, true},
		{"ForAllValues one outside", "ForAllValues:StringEquals", k, `["a"]`, two, false},
		{"ForAllValues missing holds", "ForAllValues:StringEquals", k, `"a"`, ctx(), true},
		{"ForAllValues negated none match", "ForAllValues:StringNotEquals", k, `["c","d"]`, two, true},
		{"ForAllValues negated one matches", "ForAllValues:StringNotEquals", k, `["a"]`, two, false},
		{"ForAllValues like", "ForAllValues:StringLike", k, `"?"`, two, true},
		{"ForAnyValue IfExists missing", "ForAnyValue:StringEqualsIfExists", k, `"a"`, ctx(), true},
		{"ForAnyValue numeric", "ForAnyValue:NumericGreaterThan", "s3:max-keys", `5`, ctx("s3:max-keys", "1", "s3:max-keys", "9"), true},
		{"no qualifier multi value any", "StringEquals", k, `"b"`, two, true},
		{"no qualifier negated multi value", "StringNotEquals", k, `"b"`, two, false},
	})
}

// TestConditionKeys checks that each documented key is accepted and
// evaluated from the Context under its name.
func TestConditionKeys(t *testing.T) {
	tests := []struct {
		name, op, key, val, ctxVal string
	}{
		{"remaining days", "NumericGreaterThan", "s3:object-lock-remaining-retention-days", `30`, "31"},
		{"lock mode", "StringEquals", "s3:object-lock-mode", `"COMPLIANCE"`, "COMPLIANCE"},
		{"retain until", "DateGreaterThan", "s3:object-lock-retain-until-date", `"2030-01-01T00:00:00Z"`, "2031-06-01T00:00:00Z"},
		{"legal hold", "StringEquals", "s3:object-lock-legal-hold", `"ON"`, "ON"},
		{"prefix", "StringLike", "s3:prefix", `"public/*"`, "public/x"},
		{"delimiter", "StringEquals", "s3:delimiter", `"/"`, "/"},
		{"max keys", "NumericLessThanEquals", "s3:max-keys", `100`, "50"},
		{"existing tag", "StringEquals", "s3:ExistingObjectTag/Class", `"public"`, "public"},
		{"secure transport", "Bool", "aws:SecureTransport", `true`, "true"},
		{"source ip", "IpAddress", "aws:SourceIp", `"127.0.0.0/8"`, "127.0.0.1"},
		{"current time", "DateGreaterThan", "aws:CurrentTime", `"2020-01-01T00:00:00Z"`, "2026-12-07T00:00:00Z"},
		{"username", "StringEquals", "aws:username", `"alice"`, "alice"},
		{"userid", "StringLike", "aws:userid", `"AK*"`, "AKALICE"},
		{"version id", "StringEquals", "s3:versionid", `"v1"`, "v1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{%q:{%q:%s}}}}`, tc.op, tc.key, tc.val)
			p := mustParse(t, doc, Identity)
			r := &Request{Principal: &Principal{User: "u"}, Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k", Context: Context{}}
			if got := p.Eval(r); got != NotApplicable {
				t.Fatalf("without %s: %v", tc.key, got)
			}
			r.Context.Set(tc.key, tc.ctxVal)
			if got := p.Eval(r); got != Denied {
				t.Fatalf("with %s=%s: %v", tc.key, tc.ctxVal, got)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	user := mustParse(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/public/*"},
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"public/*"}}},
		{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/public/secret*"}]}`, Identity)
	bucket := mustParse(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/bob"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},
		{"Effect":"Allow","Principal":{"wormfs":["group:auditors","uid:1001"]},"Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},
		{"Effect":"Deny","Principal":"*","Action":"s3:PutObjectRetention","Resource":"arn:aws:s3:::b/*","Condition":{"NumericGreaterThan":{"s3:object-lock-remaining-retention-days":30}}},
		{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::b"}]}`, Resource)
	denyPublic := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":"alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/public/*"}}`, Resource)
	alice := &Principal{User: "alice"}
	bob := &Principal{User: "bob"}
	auditor := &Principal{User: "carol", Groups: []string{"auditors"}}
	local := &Principal{UID: 1001, HasUID: true}
	root := &Principal{Root: true}
	named := func(p *Principal) Context { c := Context{}; c.Set("aws:username", p.User); return c }
	tests := []struct {
		name     string
		p        *Principal
		action   string
		resource string
		ctx      Context
		pols     []*Policy
		want     Decision
	}{
		{"user reads public", alice, "s3:GetObject", "arn:aws:s3:::b/public/a", nil, []*Policy{user}, Allowed},
		{"action case-insensitive", alice, "S3:GETOBJECT", "arn:aws:s3:::b/public/a", nil, []*Policy{user}, Allowed},
		{"user not private", alice, "s3:GetObject", "arn:aws:s3:::b/private/a", nil, []*Policy{user}, NotApplicable},
		{"deny beats allow in user policy", alice, "s3:GetObject", "arn:aws:s3:::b/public/secret.txt", nil, []*Policy{user}, Denied},
		{"list with prefix", alice, "s3:ListBucket", "arn:aws:s3:::b", ctx("s3:prefix", "public/"), []*Policy{user}, Allowed},
		{"list without prefix", alice, "s3:ListBucket", "arn:aws:s3:::b", ctx("s3:prefix", ""), []*Policy{user}, NotApplicable},
		{"variable in resource", alice, "s3:PutObject", "arn:aws:s3:::home/alice/x", named(alice), []*Policy{user}, Allowed},
		{"variable other user", alice, "s3:PutObject", "arn:aws:s3:::home/bob/x", named(alice), []*Policy{user}, NotApplicable},
		{"variable missing", alice, "s3:PutObject", "arn:aws:s3:::home/alice/x", nil, []*Policy{user}, NotApplicable},
		{"bucket policy arn principal", bob, "s3:GetObject", "arn:aws:s3:::b/private/a", nil, []*Policy{bucket}, Allowed},
		{"bucket policy other user", alice, "s3:GetObject", "arn:aws:s3:::b/private/a", nil, []*Policy{bucket}, NotApplicable},
		{"either allows", alice, "s3:GetObject", "arn:aws:s3:::b/public/a", nil, []*Policy{user, bucket}, Allowed},
		{"group principal", auditor, "s3:ListBucketVersions", "arn:aws:s3:::b", nil, []*Policy{bucket}, Allowed},
		{"uid principal", local, "s3:GetObjectRetention", "arn:aws:s3:::b/x", nil, []*Policy{bucket}, Allowed},
		{"cap denies 31 days", root, "s3:PutObjectRetention", "arn:aws:s3:::b/x", ctx("s3:object-lock-remaining-retention-days", "31"), []*Policy{bucket}, Denied},
		{"cap allows 30 days", root, "s3:PutObjectRetention", "arn:aws:s3:::b/x", ctx("s3:object-lock-remaining-retention-days", "30"), []*Policy{bucket}, NotApplicable},
		{"other bucket's policy does not apply", alice, "s3:PutObjectRetention", "arn:aws:s3:::home/alice/x", ctx("s3:object-lock-remaining-retention-days", "31", "aws:username", "alice"), []*Policy{user, bucket}, Allowed},
		{"deny in bucket beats user allow", alice, "s3:GetObject", "arn:aws:s3:::b/public/a", nil, []*Policy{user, denyPublic}, Denied},
		{"not principal spares root", root, "s3:DeleteBucket", "arn:aws:s3:::b", nil, []*Policy{bucket}, NotApplicable},
		{"not principal hits others", bob, "s3:DeleteBucket", "arn:aws:s3:::b", nil, []*Policy{bucket}, Denied},
		{"no policies", alice, "s3:GetObject", "arn:aws:s3:::b/x", nil, nil, NotApplicable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate(&Request{Principal: tc.p, Action: tc.action, Resource: tc.resource, Context: tc.ctx}, tc.pols...)
			if got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNotActionNotResource(t *testing.T) {
	p := mustParse(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","NotAction":"s3:Delete*","Resource":"*"},
		{"Effect":"Deny","Action":"*","NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}`, Identity)
	tests := []struct {
		name, action, res string
		want              Decision
	}{
		{"allowed action in b", "s3:GetObject", "arn:aws:s3:::b/k", Allowed},
		{"not action excluded", "s3:DeleteObject", "arn:aws:s3:::b/k", NotApplicable},
		{"not resource denies elsewhere", "s3:GetObject", "arn:aws:s3:::c/k", Denied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Eval(&Request{Principal: &Principal{User: "u"}, Action: tc.action, Resource: tc.res}); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPublicAndCheckBucket(t *testing.T) {
	pub := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, Resource)
	priv := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, Resource)
	if !pub.Public() || priv.Public() {
		t.Fatalf("Public: %v %v", pub.Public(), priv.Public())
	}
	tests := []struct {
		name, res string
		ok        bool
	}{
		{"bucket", "arn:aws:s3:::b", true},
		{"objects", "arn:aws:s3:::b/*", true},
		{"star", "*", true},
		{"wildcard bucket", "arn:aws:s3:::*", true},
		{"other bucket", "arn:aws:s3:::c/*", false},
		{"longer name", "arn:aws:s3:::bb/*", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"`+tc.res+`"}]}`, Resource)
			if err := p.CheckBucket("b"); (err == nil) != tc.ok {
				t.Fatalf("CheckBucket: %v", err)
			}
		})
	}
}
