package policy

import "testing"

// BenchmarkEvaluate measures one authorization decision of the kind the
// S3 listener makes per request: a user policy of four statements and a
// bucket policy of three, with a condition to evaluate.
func BenchmarkEvaluate(b *testing.B) {
	user := mustParse(b, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::b/public/*"},
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"public/*"}}},
		{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/public/secret*"}]}`, Identity)
	bucket := mustParse(b, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Principal":"*","Action":"s3:PutObjectRetention","Resource":"arn:aws:s3:::b/*","Condition":{"NumericGreaterThan":{"s3:object-lock-remaining-retention-days":30}}},
		{"Effect":"Allow","Principal":{"wormfs":["group:auditors"]},"Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},
		{"Effect":"Deny","Principal":"*","Action":"*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":false},"NotIpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}`, Resource)
	c := Context{}
	c.Set(KeyUsername, "alice")
	c.Set(KeySecureTransport, "false")
	c.Set(KeySourceIP, "127.0.0.1")
	r := &Request{Principal: &Principal{User: "alice"}, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/public/docs/report.pdf", Context: c}
	b.ReportAllocs()
	for b.Loop() {
		if Evaluate(r, user, bucket) != Allowed {
			b.Fatal("not allowed")
		}
	}
}
