package policy

import (
	"errors"
	"testing"
)

// FuzzParsePolicy feeds arbitrary documents to Parse: it must never panic,
// every refusal must wrap ErrMalformed, and an accepted policy must
// evaluate (against a request with every key set) without panicking, with
// the same answer twice (evaluation is a pure function).
func FuzzParsePolicy(f *testing.F) {
	seeds := []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`,
		`{"Version":"2012-10-17","Statement":[{"Sid":"cap","Effect":"Deny","Principal":"*","Action":["s3:PutObjectRetention"],"Resource":"arn:aws:s3:::b/*","Condition":{"NumericGreaterThan":{"s3:object-lock-remaining-retention-days":"30"}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/alice","bob"],"wormfs":["uid:1001","group:compliance","user:carol"]},"NotAction":"s3:Delete*","NotResource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"ForAllValues:StringLikeIfExists":{"s3:ExistingObjectTag/team":["a?","b*"]},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]},"Bool":{"aws:SecureTransport":true},"Null":{"s3:object-lock-mode":"false"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}`,
		`{"Statement":[]}`,
		`{"Version":"2008-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"Action":"*","Resource":"*"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	kinds := []Kind{Identity, Resource}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range kinds {
			p, err := Parse(data, k)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v does not wrap ErrMalformed", err)
				}
				if p != nil {
					t.Fatalf("policy returned with error")
				}
				continue
			}
			c := Context{}
			for key := range knownKeys {
				c[key] = []string{"10"}
			}
			c[KeyUsername] = []string{"alice"}
			c[ExistingObjectTagKey("team")] = []string{"ab", "cd"}
			r := &Request{Principal: &Principal{User: "alice", HasUID: true, UID: 1001, Groups: []string{"compliance"}}, Action: "s3:PutObject", Resource: "arn:aws:s3:::b/alice/x", Context: c}
			d1, d2 := p.Eval(r), p.Eval(r)
			if d1 != d2 {
				t.Fatalf("evaluation not deterministic: %v then %v", d1, d2)
			}
			_ = p.Public()
			_ = p.CheckBucket("b")
		}
	})
}
