package s3

// Fuzz targets for the XML bodies: a parser never panics, what it accepts
// is valid and survives a round trip, and a body the listener rejects
// changes nothing in the store.

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wormfs/wormfs/meta"
)

func FuzzParseLockConfig(f *testing.F) {
	for _, s := range []string{
		`<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>365</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>5</Years></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`,
		`<ObjectLockConfiguration><Rule><DefaultRetention><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`,
		`<!DOCTYPE a><ObjectLockConfiguration/>`, ``, `<`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rule, err := parseLockConfig(data)
		if err != nil {
			if _, ok := toAPIError(err); !ok {
				t.Fatalf("untranslated error %v", err)
			}
			return
		}
		if !rule.IsZero() {
			if !rule.Mode.Valid() || (rule.Days > 0) == (rule.Years > 0) || rule.Days < 0 || rule.Years < 0 {
				t.Fatalf("accepted an invalid rule %+v", rule)
			}
		}
		again, err := parseLockConfig([]byte(marshal(t, lockConfigXML(rule))))
		if err != nil || again != rule {
			t.Fatalf("round trip of %+v: %+v, %v", rule, again, err)
		}
	})
}

func FuzzParseRetention(f *testing.F) {
	for _, s := range []string{
		`<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>GOVERNANCE</Mode><RetainUntilDate>2026-12-31T00:00:00Z</RetainUntilDate></Retention>`,
		`<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2026-12-31T00:00:00.123+02:00</RetainUntilDate></Retention>`,
		`<Retention/>`, `<Retention><Mode>X</Mode></Retention>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseRetention(data)
		if err != nil {
			if _, ok := toAPIError(err); !ok {
				t.Fatalf("untranslated error %v", err)
			}
			return
		}
		if !r.IsZero() && !r.Mode.Valid() {
			t.Fatalf("accepted mode %q", r.Mode)
		}
		if r.IsZero() {
			return
		}
		again, err := parseRetention([]byte(marshal(t, retentionDoc(r.Mode, r.Until))))
		if err != nil || again.Mode != r.Mode || !again.Until.Equal(r.Until.Truncate(time.Millisecond)) {
			t.Fatalf("round trip of %+v: %+v, %v", r, again, err)
		}
	})
}

func FuzzParseLegalHold(f *testing.F) {
	for _, s := range []string{`<LegalHold><Status>ON</Status></LegalHold>`, `<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>OFF</Status></LegalHold>`, `<LegalHold/>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		on, err := parseLegalHold(data)
		if err != nil {
			if _, ok := toAPIError(err); !ok {
				t.Fatalf("untranslated error %v", err)
			}
			return
		}
		again, err := parseLegalHold([]byte(marshal(t, legalHoldDoc(on))))
		if err != nil || again != on {
			t.Fatalf("round trip of %v: %v, %v", on, again, err)
		}
	})
}

func FuzzParseVersioning(f *testing.F) {
	for _, s := range []string{`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`, `<VersioningConfiguration><Status>Suspended</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>`, `<VersioningConfiguration/>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseVersioning(data)
		if err != nil {
			if _, ok := toAPIError(err); !ok {
				t.Fatalf("untranslated error %v", err)
			}
			return
		}
		if st != "" && st != meta.VersioningEnabled && st != meta.VersioningSuspended {
			t.Fatalf("accepted state %q", st)
		}
	})
}

func FuzzParseDelete(f *testing.F) {
	for _, s := range []string{
		`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>0000000000000001</VersionId></Object></Delete>`,
		`<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b</Key></Object></Delete>`, `<Delete/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, objs, err := parseDelete(data)
		if err != nil {
			if _, ok := toAPIError(err); !ok {
				t.Fatalf("untranslated error %v", err)
			}
			return
		}
		if len(objs) == 0 || len(objs) > 1000 {
			t.Fatalf("accepted %d objects", len(objs))
		}
		for _, o := range objs {
			if o.Key == nil {
				t.Fatal("accepted an object without key")
			}
		}
	})
}

func FuzzParseComplete(f *testing.F) {
	for _, s := range []string{
		`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>b</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>`,
		`<CompleteMultipartUpload/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, _, err := parseComplete(data)
		if err != nil {
			if _, ok := toAPIError(err); !ok {
				t.Fatalf("untranslated error %v", err)
			}
			return
		}
		for i, p := range parts {
			if p.Number < 1 || p.Number > meta.MaxPartNumber || p.ETag == "" || i > 0 && p.Number <= parts[i-1].Number {
				t.Fatalf("accepted part %d: %+v", i, p)
			}
		}
	})
}

func FuzzParseTagging(f *testing.F) {
	for _, s := range []string{`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`, `<Tagging><TagSet/></Tagging>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tags, err := parseTagging(data)
		if err != nil {
			if _, ok := toAPIError(err); !ok {
				t.Fatalf("untranslated error %v", err)
			}
			return
		}
		if len(tags) > maxTags {
			t.Fatalf("accepted %d tags", len(tags))
		}
		again, err := parseTagging([]byte(marshal(t, taggingDoc(tags))))
		if err != nil || len(again) != len(tags) {
			t.Fatalf("round trip of %v: %v, %v", tags, again, err)
		}
		for k, v := range tags {
			if again[k] != v {
				t.Fatalf("round trip of %v: %v", tags, again)
			}
		}
	})
}

// signedRequest is a request signed by root with the body's SHA-256 and
// Content-MD5.
func signedRequest(t testing.TB, e *testEnv, method, target string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, e.url+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	m := md5.Sum(body)
	req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(m[:]))
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testRootKey, SecretAccessKey: testRootSecret},
		req, hex.EncodeToString(sum[:]), "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// FuzzLockBodiesChangeNothing sends fuzzed lock configuration, retention,
// legal hold, versioning and tagging bodies to a real listener: a request
// answered with an error leaves the bucket and the version as they were.
func FuzzLockBodiesChangeNothing(f *testing.F) {
	seeds := [][]byte{
		[]byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>`),
		[]byte(`<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2020-01-01T00:00:00Z</RetainUntilDate></Retention>`),
		[]byte(`<LegalHold><Status>MAYBE</Status></LegalHold>`),
		[]byte(`<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`),
		[]byte(`<Tagging><TagSet><Tag><Key>aws:k</Key><Value>v</Value></Tag></TagSet></Tagging>`),
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	e := newTestEnv(f)
	if _, err := e.store.CreateBucket("fz0", meta.BucketOptions{ObjectLock: true}, meta.Actor{Name: "test"}); err != nil {
		f.Fatal(err)
	}
	w, err := e.store.NewWriter("fz0", "k", nil)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("x"), 0); err != nil {
		f.Fatal(err)
	}
	if _, err := w.Publish(meta.PublishOptions{}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		targets := []string{"/fz0?object-lock", "/fz0/k?retention", "/fz0/k?legal-hold", "/fz0?versioning", "/fz0/k?tagging"}
		target := targets[int(which)%len(targets)]
		beforeB, err := e.store.GetBucket("fz0")
		if err != nil {
			t.Fatal(err)
		}
		beforeV, err := e.store.Get("fz0", "k", "")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.hc.Do(signedRequest(t, e, "PUT", target, body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			return
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("%s answered %d for %q", target, resp.StatusCode, body)
		}
		afterB, _ := e.store.GetBucket("fz0")
		afterV, _ := e.store.Get("fz0", "k", "")
		if *afterB != *beforeB {
			t.Fatalf("rejected %s changed the bucket: %+v -> %+v", target, beforeB, afterB)
		}
		if afterV.ID != beforeV.ID || afterV.RetMode != beforeV.RetMode || !afterV.RetUntil.Equal(beforeV.RetUntil) ||
			afterV.LegalHold != beforeV.LegalHold || len(afterV.Tags) != len(beforeV.Tags) {
			t.Fatalf("rejected %s changed the version: %+v -> %+v", target, beforeV, afterV)
		}
	})
}
