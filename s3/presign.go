package s3

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxPresignExpiry is the longest validity of a presigned URL: 7 days.
const maxPresignExpiry = 604800

// presignParams are the X-Amz-* query parameters of a presigned URL.
type presignParams struct {
	fields  *sigV4Fields
	date    time.Time
	amzDate string
	expires time.Duration
}

// parsePresign parses and validates the presigned query parameters.
// Errors are *APIError values (AuthorizationQueryParametersError mostly).
func parsePresign(q url.Values) (*presignParams, error) {
	one := func(name string) (string, error) {
		vs, ok := q[name]
		if !ok || len(vs) == 0 || vs[0] == "" {
			return "", ErrAuthorizationQuery.WithMessage("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters; %s is missing.", name)
		}
		if len(vs) != 1 {
			return "", ErrAuthorizationQuery.WithMessage("The parameter %s is given more than once.", name)
		}
		return vs[0], nil
	}
	var v [6]string
	for i, name := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		s, err := one(name)
		if err != nil {
			return nil, err
		}
		v[i] = s
	}
	if v[0] != sigV4Algorithm {
		return nil, ErrAuthorizationQuery.WithMessage("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\".")
	}
	t, err := time.Parse(amzDateFormat, v[2])
	if err != nil {
		return nil, ErrAuthorizationQuery.WithMessage("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".")
	}
	exp, err := strconv.ParseInt(v[3], 10, 64)
	switch {
	case err != nil:
		return nil, ErrAuthorizationQuery.WithMessage("X-Amz-Expires should be a number.")
	case exp < 1:
		return nil, ErrAuthorizationQuery.WithMessage("X-Amz-Expires must be at least 1 second.")
	case exp > maxPresignExpiry:
		return nil, ErrAuthorizationQuery.WithMessage("X-Amz-Expires must be less than a week (in seconds) that is 604800.")
	}
	f, err := parseSigV4Fields(v[1], v[4], v[5], ErrAuthorizationQuery)
	if err != nil {
		return nil, err
	}
	if t.Format(scopeDateFormat) != f.cred.date {
		return nil, ErrAuthorizationQuery.WithMessage("Invalid credential date %q: it is not the date of X-Amz-Date %s.", f.cred.date, v[2])
	}
	return &presignParams{fields: f, date: t, amzDate: v[2], expires: time.Duration(exp) * time.Second}, nil
}

// authenticatePresigned verifies a presigned URL. Its payload is
// UNSIGNED-PAYLOAD unless the URL signs X-Amz-Content-Sha256.
func (a *Authenticator) authenticatePresigned(r *http.Request, q url.Values) (*Principal, *Body, error) {
	if q.Has("X-Amz-Security-Token") {
		return nil, nil, ErrInvalidSecurityTokenUse
	}
	p, err := parsePresign(q)
	if err != nil {
		return nil, nil, err
	}
	acct, ok := a.accounts[p.fields.cred.accessKey]
	if !ok {
		return nil, nil, ErrInvalidAccessKeyID
	}
	now := a.now()
	if p.date.Sub(now) > maxClockSkew {
		return nil, nil, ErrRequestNotYetValid
	}
	if now.After(p.date.Add(p.expires)) {
		return nil, nil, ErrExpiredPresign
	}
	payloadHash := unsignedPayload
	if v := q.Get("X-Amz-Content-Sha256"); v != "" {
		payloadHash = v
	}
	mode, wantSHA, err := parsePayloadHash(payloadHash)
	if err != nil {
		return nil, nil, err
	}
	query, err := canonicalQuery(r.URL.RawQuery, "X-Amz-Signature")
	if err != nil {
		return nil, nil, ErrAuthorizationQuery.WithMessage("The query string is not validly encoded.")
	}
	key := signingKey(acct.secret, p.fields.cred)
	if !verifySignature(r, key, p.amzDate, p.fields, query, payloadHash) {
		return nil, nil, ErrSignatureDoesNotMatch
	}
	if err := checkAmzHeadersSigned(r, p.fields.signedHeaders); err != nil {
		return nil, nil, err
	}
	if err := hoistQueryHeaders(r, q); err != nil {
		return nil, nil, err
	}
	return a.finish(r, acct, p.fields, key, p.amzDate, mode, wantSHA)
}

// presignAuthParams are the query parameters of the signature itself.
var presignAuthParams = map[string]bool{
	"x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true, "x-amz-expires": true,
	"x-amz-signedheaders": true, "x-amz-signature": true, "x-amz-security-token": true, "x-amz-content-sha256": true,
}

// hoistQueryHeaders makes the other x-amz-* parameters of a verified
// presigned URL request headers, as AWS does: the SDKs move into the query
// the x-amz-* headers they need not sign as headers (x-amz-bypass-
// governance-retention among them), and the signature covers the whole
// query. A header of the same name sent beside it was signed (an unsigned
// one was refused), and it wins. A parameter that could not have been
// sent as a header (a name that is not a token, a control character in a
// value) is refused: the query must not carry what a header cannot.
func hoistQueryHeaders(r *http.Request, q url.Values) error {
	for name, vs := range q {
		l := strings.ToLower(name)
		if !strings.HasPrefix(l, "x-amz-") || presignAuthParams[l] {
			continue
		}
		if !validMetaName(l) {
			return ErrInvalidArgument.WithMessage("The query parameter %q cannot be a request header.", trimForMessage(name))
		}
		for _, v := range vs {
			if !validMetaValue(v) {
				return ErrInvalidArgument.WithMessage("The query parameter %q has a value a request header cannot have.", trimForMessage(name))
			}
		}
		if k := http.CanonicalHeaderKey(l); len(r.Header.Values(k)) == 0 {
			r.Header[k] = vs
		}
	}
	return nil
}
