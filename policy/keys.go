package policy

import "strings"

// The condition keys wormfs knows, in lower case (key names are
// case-insensitive, as in AWS). A policy naming any other key is refused:
// a condition on a key that is never set would silently never (or, negated,
// always) hold.
var knownKeys = map[string]bool{
	"s3:object-lock-remaining-retention-days": true,
	"s3:object-lock-mode":                     true,
	"s3:object-lock-retain-until-date":        true,
	"s3:object-lock-legal-hold":               true,
	"s3:prefix":                               true,
	"s3:delimiter":                            true,
	"s3:max-keys":                             true,
	"s3:versionid":                            true,
	"aws:securetransport":                     true,
	"aws:sourceip":                            true,
	"aws:currenttime":                         true,
	"aws:epochtime":                           true,
	"aws:username":                            true,
	"aws:userid":                              true,
	"aws:principaltype":                       true,
}

// existingTagPrefix is the family s3:ExistingObjectTag/<tag key>.
const existingTagPrefix = "s3:existingobjecttag/"

// Condition keys by name, for callers that fill a Context.
const (
	KeyRemainingRetentionDays = "s3:object-lock-remaining-retention-days"
	KeyLockMode               = "s3:object-lock-mode"
	KeyRetainUntilDate        = "s3:object-lock-retain-until-date"
	KeyLegalHold              = "s3:object-lock-legal-hold"
	KeyPrefix                 = "s3:prefix"
	KeyDelimiter              = "s3:delimiter"
	KeyMaxKeys                = "s3:max-keys"
	KeyVersionID              = "s3:versionid"
	KeySecureTransport        = "aws:securetransport"
	KeySourceIP               = "aws:sourceip"
	KeyCurrentTime            = "aws:currenttime"
	KeyEpochTime              = "aws:epochtime"
	KeyUsername               = "aws:username"
	KeyUserID                 = "aws:userid"
	KeyPrincipalType          = "aws:principaltype"
)

// ExistingObjectTagKey is the condition key of an object's tag k.
func ExistingObjectTagKey(k string) string { return existingTagPrefix + strings.ToLower(k) }

// conditionKey validates a condition key and returns it in lower case.
func conditionKey(name string) (string, error) {
	k := strings.ToLower(name)
	if knownKeys[k] {
		return k, nil
	}
	if strings.HasPrefix(k, existingTagPrefix) && len(k) > len(existingTagPrefix) && len(k) <= len(existingTagPrefix)+128 {
		return k, nil
	}
	return "", errorf("unknown condition key %q", trim(name))
}

// Context holds a request's condition key values. Keys are lower case;
// use Set. A key that is absent (or has no values) is "missing" in AWS's
// sense: Null says true, …IfExists holds, and other operators do not
// match (negated ones do).
type Context map[string][]string

// Set sets key (any case) to values.
func (c Context) Set(key string, values ...string) { c[strings.ToLower(key)] = values }
