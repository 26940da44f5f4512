package s3

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Authenticator verifies AWS Signature Version 4 on every request: the
// Authorization header, or a presigned query. Anonymous requests are refused.
// It holds the root pair and the users of the users file; it is safe for
// concurrent use (it is never modified after NewAuthenticator).
type Authenticator struct {
	now      func() time.Time
	accounts map[string]account
}

type account struct {
	secret    string
	principal Principal
}

// NewAuthenticator builds an Authenticator. The root pair may do everything
// no bucket policy denies; each user may do what its grants and policies
// allow (policy.go). now nil means time.Now.
func NewAuthenticator(rootAccessKey, rootSecretKey string, users []User, now func() time.Time) (*Authenticator, error) {
	if now == nil {
		now = time.Now
	}
	a := &Authenticator{now: now, accounts: make(map[string]account, len(users)+1)}
	if err := validateKeyPair(rootAccessKey, rootSecretKey); err != nil {
		return nil, fmt.Errorf("s3: root credentials: %w", err)
	}
	a.accounts[rootAccessKey] = account{secret: rootSecretKey, principal: Principal{AccessKey: rootAccessKey, Root: true}}
	names := make(map[string]bool, len(users))
	for i, u := range users {
		p, err := u.principal()
		if err != nil {
			return nil, fmt.Errorf("s3: user %d: %w", i+1, err)
		}
		if _, dup := a.accounts[u.AccessKey]; dup {
			if u.AccessKey == rootAccessKey {
				return nil, fmt.Errorf("s3: user %d: access key %q is the root access key", i+1, u.AccessKey)
			}
			return nil, fmt.Errorf("s3: user %d: duplicate access key %q", i+1, u.AccessKey)
		}
		if names[p.name] {
			return nil, fmt.Errorf("s3: user %d: duplicate user name %q (policies name users by name)", i+1, p.name)
		}
		names[p.name] = true
		a.accounts[u.AccessKey] = account{secret: u.SecretKey, principal: p}
	}
	return a, nil
}

// Authenticate verifies the SigV4 signature of r and returns who signed it
// and the body to read. r must be the request as it arrived (Host, path and
// query untouched): the signature covers what the client sent. The region of
// the credential scope may be any region (clients default to us-east-1); it
// is the one the signature is checked with. The service must be s3.
//
// Errors are *APIError values from the table in errors.go.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, *Body, error) {
	q := r.URL.Query()
	authz, hasHeader := r.Header["Authorization"]
	presigned := q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature")
	switch {
	case hasHeader && presigned:
		return nil, nil, ErrMultipleAuthMechanisms
	case presigned:
		return a.authenticatePresigned(r, q)
	case hasHeader:
		if len(authz) != 1 {
			return nil, nil, ErrAuthorizationMalformed.WithMessage("The request has more than one Authorization header.")
		}
		return a.authenticateHeader(r, authz[0])
	case q.Has("AWSAccessKeyId") || q.Has("Signature"):
		return nil, nil, ErrUnsupportedSignature
	}
	return nil, nil, ErrAccessDenied.WithMessage("Anonymous access is not allowed; sign the request with AWS Signature Version 4.")
}

// authenticateHeader verifies a request signed in its Authorization header.
func (a *Authenticator) authenticateHeader(r *http.Request, authz string) (*Principal, *Body, error) {
	f, err := parseAuthorization(authz)
	if err != nil {
		return nil, nil, err
	}
	acct, ok := a.accounts[f.cred.accessKey]
	if !ok {
		return nil, nil, ErrInvalidAccessKeyID
	}
	if r.Header.Get("X-Amz-Security-Token") != "" {
		return nil, nil, ErrInvalidSecurityTokenUse
	}
	t, amzDate, err := requestTime(r)
	if err != nil {
		return nil, nil, err
	}
	if t.Format(scopeDateFormat) != f.cred.date {
		return nil, nil, ErrAuthorizationMalformed.WithMessage("Invalid credential date %q: it is not the date of the request time %s.", f.cred.date, amzDate)
	}
	if skew := a.now().Sub(t); skew > maxClockSkew || skew < -maxClockSkew {
		return nil, nil, ErrRequestTimeTooSkewed.WithMessage("The difference between the request time %s and the server's time %s is more than %v.", amzDate, a.now().UTC().Format(amzDateFormat), maxClockSkew)
	}
	payloadHash := r.Header.Values("X-Amz-Content-Sha256")
	if len(payloadHash) == 0 {
		return nil, nil, ErrMissingContentSHA256
	}
	if len(payloadHash) != 1 {
		return nil, nil, ErrInvalidContentSHA256
	}
	mode, wantSHA, err := parsePayloadHash(payloadHash[0])
	if err != nil {
		return nil, nil, err
	}
	query, err := canonicalQuery(r.URL.RawQuery, "")
	if err != nil {
		return nil, nil, ErrInvalidURI.WithMessage("The query string is not validly encoded.")
	}
	key := signingKey(acct.secret, f.cred)
	if !verifySignature(r, key, amzDate, f, query, payloadHash[0]) {
		return nil, nil, ErrSignatureDoesNotMatch
	}
	if err := checkAmzHeadersSigned(r, f.signedHeaders); err != nil {
		return nil, nil, err
	}
	return a.finish(r, acct, f, key, amzDate, mode, wantSHA)
}

// finish builds the principal and the verifying body of an authenticated request.
func (a *Authenticator) finish(r *http.Request, acct account, f *sigV4Fields, key []byte, amzDate string, mode payloadMode, wantSHA []byte) (*Principal, *Body, error) {
	o := bodyOptions{mode: mode, wantSHA: wantSHA}
	if mode.signedChunks() {
		o.chain = &chunkSigner{key: key, amzDate: amzDate, scope: f.cred.scope(), prev: append([]byte(nil), f.signature...)}
	}
	body, err := newBody(r, o)
	if err != nil {
		return nil, nil, err
	}
	p := acct.principal
	return &p, body, nil
}

// requestTime is the signing time of a header-signed request: X-Amz-Date,
// else Date. It returns the time and its ISO 8601 basic form.
func requestTime(r *http.Request) (time.Time, string, error) {
	bad := ErrAccessDenied.WithMessage("AWS authentication requires a valid Date or x-amz-date header.")
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(amzDateFormat, strings.TrimSpace(v))
		if err != nil {
			return time.Time{}, "", bad
		}
		return t, t.Format(amzDateFormat), nil
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return time.Time{}, "", bad
		}
		t = t.UTC()
		return t, t.Format(amzDateFormat), nil
	}
	return time.Time{}, "", bad
}
