package s3

import (
	"encoding/xml"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
)

func marshal(t *testing.T, v any) string {
	t.Helper()
	out, err := xml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// The documents clients parse, pinned to the shape AWS sends.
func TestGoldenXML(t *testing.T) {
	until := time.Date(2027, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	created := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	ow := owner{ID: "abc", DisplayName: "wormfs"}
	p := listParams{max: 1000}
	size := int64(3)
	_ = size
	for _, tc := range []struct {
		name string
		doc  any
		want string
	}{
		{"lock configuration with days", lockConfigXML(lockctl.DefaultRule{Mode: lockctl.ModeCompliance, Days: 365}),
			`<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>365</Days></DefaultRetention></Rule></ObjectLockConfiguration>`},
		{"lock configuration with years", lockConfigXML(lockctl.DefaultRule{Mode: lockctl.ModeGovernance, Years: 5}),
			`<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>5</Years></DefaultRetention></Rule></ObjectLockConfiguration>`},
		{"lock configuration without rule", lockConfigXML(lockctl.DefaultRule{}),
			`<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`},
		{"retention", retentionDoc(lockctl.ModeGovernance, until),
			`<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>GOVERNANCE</Mode><RetainUntilDate>2027-01-02T03:04:05.600Z</RetainUntilDate></Retention>`},
		{"legal hold on", legalHoldDoc(true),
			`<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>ON</Status></LegalHold>`},
		{"legal hold off", legalHoldDoc(false),
			`<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>OFF</Status></LegalHold>`},
		{"versioning enabled", versioningConfiguration{Status: "Enabled"},
			`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>`},
		{"versioning never set", versioningConfiguration{},
			`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></VersioningConfiguration>`},
		{"tagging sorted", taggingDoc(map[string]string{"b": "2", "a": "1"}),
			`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>2</Value></Tag></TagSet></Tagging>`},
		{"list object versions", listVersionsResult{Name: "b1b", Prefix: "d/", MaxKeys: 1000, IsTruncated: false, Entries: []versionXML{
			versionEntry(p, &meta.Version{Key: "d/k", ID: "0000000000000002", DeleteMarker: true, Created: created}, true, ow),
			versionEntry(p, &meta.Version{Key: "d/k", ID: "0000000000000001", Size: 3, ETag: "900150983cd24fb0d6963f7d28e17f72", Created: created,
				RetMode: lockctl.ModeCompliance, RetUntil: until, LegalHold: true, HoldSet: true}, false, ow),
		}, CommonPrefixes: []commonPrefix{{Prefix: "d/sub/"}}},
			`<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b1b</Name><Prefix>d/</Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
				`<DeleteMarker><Key>d/k</Key><VersionId>0000000000000002</VersionId><IsLatest>true</IsLatest><LastModified>2026-12-01T08:00:00.000Z</LastModified><Owner><ID>abc</ID><DisplayName>wormfs</DisplayName></Owner></DeleteMarker>` +
				`<Version><Key>d/k</Key><VersionId>0000000000000001</VersionId><IsLatest>false</IsLatest><LastModified>2026-12-01T08:00:00.000Z</LastModified><ETag>&#34;900150983cd24fb0d6963f7d28e17f72&#34;</ETag><Size>3</Size><Owner><ID>abc</ID><DisplayName>wormfs</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Version>` +
				`<CommonPrefixes><Prefix>d/sub/</Prefix></CommonPrefixes></ListVersionsResult>`},
		{"location us-east-1 is empty", locationConstraint{},
			`<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := marshal(t, tc.doc); got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func wantAPICode(t *testing.T, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("want success, got %v", err)
		}
		return
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

const ns = ` xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`

func TestParseLockConfig(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       lockctl.DefaultRule
		code       string
	}{
		{"days", `<ObjectLockConfiguration` + ns + `><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
			lockctl.DefaultRule{Mode: lockctl.ModeCompliance, Days: 1}, ""},
		{"years without namespace", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>5</Years></DefaultRetention></Rule></ObjectLockConfiguration>`,
			lockctl.DefaultRule{Mode: lockctl.ModeGovernance, Years: 5}, ""},
		{"no rule", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ObjectLockConfiguration` + ns + `><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`,
			lockctl.DefaultRule{}, ""},
		{"both days and years", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`,
			lockctl.DefaultRule{}, "MalformedXML"},
		{"neither days nor years", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode></DefaultRetention></Rule></ObjectLockConfiguration>`,
			lockctl.DefaultRule{}, "MalformedXML"},
		{"zero days", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
			lockctl.DefaultRule{}, "InvalidRetentionPeriod"},
		{"negative years", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>-3</Years></DefaultRetention></Rule></ObjectLockConfiguration>`,
			lockctl.DefaultRule{}, "InvalidRetentionPeriod"},
		{"days not a number", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>x</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
			lockctl.DefaultRule{}, "MalformedXML"},
		{"unknown mode", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>FOREVER</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`,
			lockctl.DefaultRule{}, "MalformedXML"},
		{"rule without default retention", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule></Rule></ObjectLockConfiguration>`,
			lockctl.DefaultRule{}, "MalformedXML"},
		{"not enabled", `<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>`,
			lockctl.DefaultRule{}, "MalformedXML"},
		{"wrong root", `<LockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></LockConfiguration>`,
			lockctl.DefaultRule{}, "MalformedXML"},
		{"wrong namespace", `<ObjectLockConfiguration xmlns="urn:other"><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`,
			lockctl.DefaultRule{}, "MalformedXML"},
		{"truncated", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLock`, lockctl.DefaultRule{}, "MalformedXML"},
		{"trailing garbage", `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration><x/>`,
			lockctl.DefaultRule{}, "MalformedXML"},
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]><ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`,
			lockctl.DefaultRule{}, "MalformedXML"},
		{"empty", ``, lockctl.DefaultRule{}, "MalformedXML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLockConfig([]byte(tc.body))
			wantAPICode(t, err, tc.code)
			if err == nil && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseRetention(t *testing.T) {
	until := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, body string
		want       lockctl.Retention
		code       string
	}{
		{"cli form", `<Retention` + ns + `><Mode>GOVERNANCE</Mode><RetainUntilDate>2026-12-31T00:00:00Z</RetainUntilDate></Retention>`,
			lockctl.Retention{Mode: lockctl.ModeGovernance, Until: until}, ""},
		{"milliseconds", `<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2026-12-31T00:00:00.000Z</RetainUntilDate></Retention>`,
			lockctl.Retention{Mode: lockctl.ModeCompliance, Until: until}, ""},
		{"offset", `<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2026-12-31T01:00:00+01:00</RetainUntilDate></Retention>`,
			lockctl.Retention{Mode: lockctl.ModeCompliance, Until: until}, ""},
		{"empty retention removes", `<Retention/>`, lockctl.Retention{}, ""},
		{"mode only", `<Retention><Mode>GOVERNANCE</Mode></Retention>`, lockctl.Retention{}, "MalformedXML"},
		{"date only", `<Retention><RetainUntilDate>2026-12-31T00:00:00Z</RetainUntilDate></Retention>`, lockctl.Retention{}, "MalformedXML"},
		{"bad date", `<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>next year</RetainUntilDate></Retention>`, lockctl.Retention{}, "MalformedXML"},
		{"lower-case mode", `<Retention><Mode>governance</Mode><RetainUntilDate>2026-12-31T00:00:00Z</RetainUntilDate></Retention>`, lockctl.Retention{}, "MalformedXML"},
		{"wrong root", `<LegalHold><Status>ON</Status></LegalHold>`, lockctl.Retention{}, "MalformedXML"},
		{"not xml", `{"Mode":"GOVERNANCE"}`, lockctl.Retention{}, "MalformedXML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRetention([]byte(tc.body))
			wantAPICode(t, err, tc.code)
			if err == nil && (got.Mode != tc.want.Mode || !got.Until.Equal(tc.want.Until)) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseSmallDocuments(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parse func([]byte) (any, error)
		body  string
		want  any
		code  string
	}{
		{"legal hold on", hold, `<LegalHold` + ns + `><Status>ON</Status></LegalHold>`, true, ""},
		{"legal hold off", hold, `<LegalHold><Status>OFF</Status></LegalHold>`, false, ""},
		{"legal hold other", hold, `<LegalHold><Status>on</Status></LegalHold>`, nil, "MalformedXML"},
		{"legal hold missing", hold, `<LegalHold></LegalHold>`, nil, "MalformedXML"},
		{"versioning enabled", versioning, `<VersioningConfiguration` + ns + `><Status>Enabled</Status></VersioningConfiguration>`, "Enabled", ""},
		{"versioning suspended", versioning, `<VersioningConfiguration><Status>Suspended</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>`, "Suspended", ""},
		{"versioning bogus", versioning, `<VersioningConfiguration><Status>Off</Status></VersioningConfiguration>`, nil, "MalformedXML"},
		{"versioning mfa", versioning, `<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>`, nil, "NotImplemented"},
		{"tagging", tagging, `<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`, 1, ""},
		{"tagging duplicate", tagging, `<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag><Tag><Key>k</Key><Value>w</Value></Tag></TagSet></Tagging>`, nil, "InvalidTag"},
		{"tagging empty key", tagging, `<Tagging><TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>`, nil, "InvalidTag"},
		{"tagging aws prefix", tagging, `<Tagging><TagSet><Tag><Key>aws:x</Key><Value>v</Value></Tag></TagSet></Tagging>`, nil, "InvalidTag"},
		{"delete two quiet", deletes, `<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>null</VersionId></Object></Delete>`, 2, ""},
		{"delete no key", deletes, `<Delete><Object><VersionId>x</VersionId></Object></Delete>`, nil, "MalformedXML"},
		{"delete nothing", deletes, `<Delete></Delete>`, nil, "MalformedXML"},
		{"delete quiet bogus", deletes, `<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object></Delete>`, nil, "MalformedXML"},
		{"complete", complete, `<CompleteMultipartUpload` + ns + `><Part><PartNumber>1</PartNumber><ETag>"abc"</ETag></Part><Part><PartNumber>3</PartNumber><ETag>def</ETag></Part></CompleteMultipartUpload>`, 2, ""},
		{"complete out of order", complete, `<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>a</ETag></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>`, nil, "InvalidPartOrder"},
		{"complete bad number", complete, `<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>`, nil, "InvalidArgument"},
		{"complete no etag", complete, `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`, nil, "MalformedXML"},
		{"complete empty", complete, `<CompleteMultipartUpload></CompleteMultipartUpload>`, nil, "MalformedXML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse([]byte(tc.body))
			wantAPICode(t, err, tc.code)
			if err == nil && got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func hold(b []byte) (any, error) { return parseLegalHold(b) }
func versioning(b []byte) (any, error) {
	s, err := parseVersioning(b)
	return s, err
}
func tagging(b []byte) (any, error) {
	m, err := parseTagging(b)
	return len(m), err
}
func deletes(b []byte) (any, error) {
	_, objs, err := parseDelete(b)
	return len(objs), err
}
func complete(b []byte) (any, error) {
	parts, _, err := parseComplete(b)
	return len(parts), err
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		name, hdr string
		size      int64
		want      *byteRange
		code      string
	}{
		{"absent", "", 10, nil, ""},
		{"closed", "bytes=0-4", 10, &byteRange{0, 5}, ""},
		{"end past size", "bytes=5-100", 10, &byteRange{5, 5}, ""},
		{"open ended", "bytes=7-", 10, &byteRange{7, 3}, ""},
		{"suffix", "bytes=-3", 10, &byteRange{7, 3}, ""},
		{"suffix longer than body", "bytes=-30", 10, &byteRange{0, 10}, ""},
		{"single last byte", "bytes=9-9", 10, &byteRange{9, 1}, ""},
		{"start at size", "bytes=10-", 10, nil, "InvalidRange"},
		{"start past size", "bytes=20-30", 10, nil, "InvalidRange"},
		{"zero suffix", "bytes=-0", 10, nil, "InvalidRange"},
		{"empty body", "bytes=0-", 0, nil, "InvalidRange"},
		{"empty body suffix", "bytes=-1", 0, nil, "InvalidRange"},
		{"inverted is ignored", "bytes=5-2", 10, nil, ""},
		{"multi range is ignored", "bytes=0-1,3-4", 10, nil, ""},
		{"other unit is ignored", "items=0-1", 10, nil, ""},
		{"garbage is ignored", "bytes=a-b", 10, nil, ""},
		{"signs are ignored", "bytes=+1-2", 10, nil, ""},
		{"overflow is ignored", "bytes=99999999999999999999-", 10, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRange(tc.hdr, tc.size)
			wantAPICode(t, err, tc.code)
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestEvalConditions(t *testing.T) {
	mod := time.Date(2026, 12, 1, 8, 0, 0, 500_000_000, time.UTC)
	before := mod.Add(-time.Hour).Format(http.TimeFormat)
	same := mod.Format(http.TimeFormat)
	after := mod.Add(time.Hour).Format(http.TimeFormat)
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"none", nil, 0},
		{"if-match hit", map[string]string{"If-Match": `"e1"`}, 0},
		{"if-match list", map[string]string{"If-Match": `"x", "e1"`}, 0},
		{"if-match star", map[string]string{"If-Match": `*`}, 0},
		{"if-match miss", map[string]string{"If-Match": `"x"`}, 412},
		{"if-none-match hit", map[string]string{"If-None-Match": `"e1"`}, 304},
		{"if-none-match miss", map[string]string{"If-None-Match": `"x"`}, 0},
		{"modified since before", map[string]string{"If-Modified-Since": before}, 0},
		{"modified since same second", map[string]string{"If-Modified-Since": same}, 304},
		{"unmodified since before", map[string]string{"If-Unmodified-Since": before}, 412},
		{"unmodified since after", map[string]string{"If-Unmodified-Since": after}, 0},
		{"if-match wins over unmodified-since", map[string]string{"If-Match": `"e1"`, "If-Unmodified-Since": before}, 0},
		{"if-none-match wins over modified-since", map[string]string{"If-None-Match": `"x"`, "If-Modified-Since": after}, 0},
		{"bad date ignored", map[string]string{"If-Modified-Since": "yesterday"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.hdr {
				h.Set(k, v)
			}
			if got := evalConditions(h, "e1", mod); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseLockHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		code string
		any  bool
	}{
		{"none", nil, "", false},
		{"mode and date", map[string]string{"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z"}, "", true},
		{"mode only", map[string]string{"x-amz-object-lock-mode": "GOVERNANCE"}, "InvalidArgument", false},
		{"date only", map[string]string{"x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z"}, "InvalidArgument", false},
		{"unknown mode", map[string]string{"x-amz-object-lock-mode": "FOREVER", "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z"}, "InvalidArgument", false},
		{"bad date", map[string]string{"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": "soon"}, "InvalidArgument", false},
		{"hold on", map[string]string{"x-amz-object-lock-legal-hold": "ON"}, "", true},
		{"hold off", map[string]string{"x-amz-object-lock-legal-hold": "OFF"}, "", true},
		{"hold bogus", map[string]string{"x-amz-object-lock-legal-hold": "maybe"}, "InvalidArgument", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.hdr {
				h.Set(k, v)
			}
			l, err := parseLockHeaders(h)
			wantAPICode(t, err, tc.code)
			if err == nil && l.any != tc.any {
				t.Fatalf("any = %v, want %v", l.any, tc.any)
			}
		})
	}
}

func TestParseCopySource(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     copySource
		code     string
	}{
		{"plain", "src/a/b.txt", copySource{"src", "a/b.txt", ""}, ""},
		{"leading slash", "/src/a", copySource{"src", "a", ""}, ""},
		{"encoded", "src/a%20b%3F", copySource{"src", "a b?", ""}, ""},
		{"version", "src/k?versionId=0000000000000001", copySource{"src", "k", "0000000000000001"}, ""},
		{"bad version", "src/k?versionId=xyz", copySource{}, "InvalidArgument"},
		{"no key", "src", copySource{}, "InvalidArgument"},
		{"empty key", "src/", copySource{}, "InvalidArgument"},
		{"bad escape", "src/%zz", copySource{}, "InvalidArgument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCopySource(tc.in)
			wantAPICode(t, err, tc.code)
			if err == nil && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
