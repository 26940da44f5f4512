package s3

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/wormfs/wormfs/meta"
)

// BenchmarkAuthorize measures the authorization of one request as
// ServeHTTP runs it (route-level check: bucket policy lookup in the store,
// condition keys, evaluation), for the root pair without a bucket policy,
// a grant-word user, and a user with its own policy under a bucket policy.
func BenchmarkAuthorize(b *testing.B) {
	s := newPolicyTestServer(b)
	userPol := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::b1b/public/*"},
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b1b","Condition":{"StringLike":{"s3:prefix":"public/*"}}},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1b/public/secret*"}]}`
	bucketPol := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Principal":"*","Action":"s3:PutObjectRetention","Resource":"arn:aws:s3:::b1b/*","Condition":{"NumericGreaterThan":{"s3:object-lock-remaining-retention-days":30}}},
		{"Effect":"Deny","Principal":"*","Action":"*","Resource":"arn:aws:s3:::b1b/*","Condition":{"Bool":{"aws:SecureTransport":false},"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}`
	root := Principal{AccessKey: testRootKey, Root: true}
	granted, err := User{AccessKey: "reader", SecretKey: "reader-secret", Allow: []string{"read"}}.principal()
	if err != nil {
		b.Fatal(err)
	}
	withPolicy, err := User{AccessKey: "alice", SecretKey: "alice-secret", Allow: []string{}, Policies: []json.RawMessage{json.RawMessage(userPol)}}.principal()
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, p *Principal) {
		r := httptest.NewRequest("GET", "https://127.0.0.1/b1b/public/docs/report.pdf", nil)
		b.ReportAllocs()
		for b.Loop() {
			q := &request{s: s, r: r, p: p, bucket: "b1b", key: "public/docs/report.pdf"}
			if err := q.authorizeRoute("GetObject"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("root-no-bucket-policy", func(b *testing.B) { run(b, &root) })
	b.Run("grant-read-no-bucket-policy", func(b *testing.B) { run(b, &granted) })
	if err := s.store.SetBucketPolicy("b1b", bucketPol, meta.Actor{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	b.Run("root-bucket-policy", func(b *testing.B) { run(b, &root) })
	b.Run("user-policy-bucket-policy", func(b *testing.B) { run(b, &withPolicy) })
}
