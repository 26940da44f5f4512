package s3

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wormfs/wormfs/lockctl"
	"github.com/wormfs/wormfs/meta"
)

// lockHeaders are the Object Lock headers of PutObject, CopyObject and
// CreateMultipartUpload.
type lockHeaders struct {
	ret  lockctl.Retention
	hold bool
	any  bool // at least one lock header was sent
}

// parseLockHeaders reads x-amz-object-lock-mode, -retain-until-date and
// -legal-hold: mode and date come together or not at all.
func parseLockHeaders(h http.Header) (lockHeaders, error) {
	var l lockHeaders
	mode := h.Get("x-amz-object-lock-mode")
	until := h.Get("x-amz-object-lock-retain-until-date")
	hold := h.Get("x-amz-object-lock-legal-hold")
	if (mode == "") != (until == "") {
		return l, ErrLockHeadersIncomplete
	}
	if mode != "" {
		m, err := parseModeExact(mode)
		if err != nil {
			return l, ErrUnknownLockMode.WithMessage("unknown x-amz-object-lock-mode %q; expected GOVERNANCE or COMPLIANCE", mode)
		}
		t, err := parseISOTime(until)
		if err != nil {
			return l, ErrInvalidArgument.WithMessage("x-amz-object-lock-retain-until-date %q is not an ISO 8601 date", until)
		}
		l.ret = lockctl.Retention{Mode: m, Until: lockctl.CeilMilli(t)}
		l.any = true
	}
	switch hold {
	case "":
	case "ON":
		l.hold, l.any = true, true
	case "OFF":
		l.any = true
	default:
		return l, ErrInvalidArgument.WithMessage("x-amz-object-lock-legal-hold must be ON or OFF, not %q", hold)
	}
	return l, nil
}

// parseModeExact accepts the two modes as S3 spells them (upper case).
func parseModeExact(s string) (lockctl.Mode, error) {
	switch lockctl.Mode(s) {
	case lockctl.ModeGovernance, lockctl.ModeCompliance:
		return lockctl.Mode(s), nil
	}
	return "", lockctl.ErrUnknownMode
}

// checkLock decides whether a request that creates a version may carry
// its lock headers: the bucket must have Object Lock, the principal the
// lock grant, the date must be in the future, and, when the version will
// be locked (by the headers or the bucket default) and needIntegrity is
// set, the body must come with Content-MD5 or x-amz-checksum-*.
func (q *request) checkLock(b *meta.Bucket, l lockHeaders, needIntegrity bool) error {
	if l.any {
		if !b.ObjectLock {
			return ErrLockOnUnlockedBucket
		}
		if err := q.authorizeLockHeaders(l); err != nil {
			return err
		}
		if !l.ret.IsZero() && !l.ret.Until.After(q.s.store.LockFloor()) {
			return ErrPastRetainDate
		}
	}
	if needIntegrity && (l.any || b.ObjectLock && !b.Rule.IsZero()) && !q.body.HasIntegrity() {
		return ErrLockHeadersNoMD5
	}
	return nil
}

// bypassHeader reads x-amz-bypass-governance-retention. It is only valid
// on a bucket with Object Lock.
func (q *request) bypassHeader(b *meta.Bucket) (bool, error) {
	v := q.r.Header.Get("x-amz-bypass-governance-retention")
	if v == "" {
		return false, nil
	}
	// As AWS: the header (whatever its value) is refused on a bucket
	// without Object Lock, and only "true" (any case) asks for a bypass.
	if !b.ObjectLock {
		return false, ErrBypassOnUnlockedBucket
	}
	return strings.EqualFold(strings.TrimSpace(v), "true"), nil
}

// lockHeadersOf sets the x-amz-object-lock-* answer headers of a version.
func lockHeadersOf(h http.Header, v *meta.Version) {
	if v.RetMode != lockctl.ModeNone {
		h.Set("x-amz-object-lock-mode", string(v.RetMode))
		h.Set("x-amz-object-lock-retain-until-date", xmlTime(lockctl.CeilMilli(v.RetUntil)))
	}
	if v.HoldSet {
		if v.LegalHold {
			h.Set("x-amz-object-lock-legal-hold", "ON")
		} else {
			h.Set("x-amz-object-lock-legal-hold", "OFF")
		}
	}
}

// getObjectLockConfig is GetObjectLockConfiguration.
func (q *request) getObjectLockConfig() error {
	b, err := q.getBucket()
	if err != nil {
		return err
	}
	if !b.ObjectLock {
		return ErrNoBucketLockConfig
	}
	return q.writeXML(http.StatusOK, lockConfigXML(b.Rule))
}

// lockConfigXML is the GetObjectLockConfiguration document of a rule.
func lockConfigXML(rule lockctl.DefaultRule) objectLockConfiguration {
	c := objectLockConfiguration{ObjectLockEnabled: "Enabled"}
	if !rule.IsZero() {
		d := &defaultRetention{Mode: string(rule.Mode)}
		if rule.Days > 0 {
			s := strconv.Itoa(rule.Days)
			d.Days = &s
		} else {
			s := strconv.Itoa(rule.Years)
			d.Years = &s
		}
		c.Rule = &lockRule{DefaultRetention: d}
	}
	return c
}

// parseLockConfig checks a PutObjectLockConfiguration body: ObjectLockEnabled
// must be Enabled; a Rule needs a DefaultRetention with a mode and exactly
// one of Days and Years, positive.
func parseLockConfig(data []byte) (lockctl.DefaultRule, error) {
	var c objectLockConfiguration
	if err := unmarshalXML(data, "ObjectLockConfiguration", &c); err != nil {
		if errors.Is(err, errEmptyXML) {
			return lockctl.DefaultRule{}, ErrMalformedXML.WithMessage("the Object Lock configuration is empty")
		}
		return lockctl.DefaultRule{}, err
	}
	if err := noDuplicateElements(data); err != nil {
		return lockctl.DefaultRule{}, err
	}
	if c.ObjectLockEnabled != "Enabled" {
		return lockctl.DefaultRule{}, ErrMalformedXML.WithMessage("ObjectLockEnabled must be Enabled")
	}
	if c.Rule == nil {
		return lockctl.DefaultRule{}, nil
	}
	d := c.Rule.DefaultRetention
	if d == nil {
		return lockctl.DefaultRule{}, ErrMalformedXML.WithMessage("a Rule needs a DefaultRetention")
	}
	m, err := parseModeExact(d.Mode)
	if err != nil {
		return lockctl.DefaultRule{}, ErrMalformedXML.WithMessage("DefaultRetention needs Mode GOVERNANCE or COMPLIANCE")
	}
	if (d.Days == nil) == (d.Years == nil) {
		return lockctl.DefaultRule{}, ErrMalformedXML.WithMessage("DefaultRetention takes exactly one of Days and Years")
	}
	field, name := d.Days, "Days"
	if d.Years != nil {
		field, name = d.Years, "Years"
	}
	n, err := strconv.ParseInt(strings.TrimSpace(*field), 10, 64)
	if err != nil {
		return lockctl.DefaultRule{}, ErrMalformedXML.WithMessage("%s must be an integer", name)
	}
	if n <= 0 {
		return lockctl.DefaultRule{}, ErrInvalidRetentionPeriod.WithMessage("%s must be a positive integer", name)
	}
	if n > 1<<20 {
		return lockctl.DefaultRule{}, ErrInvalidRetentionPeriod.WithMessage("the default retention period is too large")
	}
	r := lockctl.DefaultRule{Mode: m}
	if name == "Days" {
		r.Days = int(n)
	} else {
		r.Years = int(n)
	}
	return r, nil
}

// putObjectLockConfig is PutObjectLockConfiguration. It enables Object Lock
// on a bucket whose versioning is Enabled (409 InvalidBucketState
// otherwise) and sets or clears the default retention.
func (q *request) putObjectLockConfig() error {
	if !q.body.HasIntegrity() {
		return ErrMissingContentMD5
	}
	data, err := readAllLimited(q.body, maxConfigXML)
	if err != nil {
		return err
	}
	rule, err := parseLockConfig(data)
	if err != nil {
		return err
	}
	if err := q.s.store.SetLockConfig(q.bucket, rule, q.actor(false)); err != nil {
		if errors.Is(err, lockctl.ErrTooLong) {
			return ErrInvalidRetentionPeriod.WithMessage("%v", err)
		}
		return err
	}
	return q.ok()
}

// lockTarget fetches the version a retention or legal-hold call is about:
// the bucket must have Object Lock (400 InvalidRequest), and the version
// must not be a delete marker (405 MethodNotAllowed).
func (q *request) lockTarget() (*meta.Bucket, *meta.Version, error) {
	b, err := q.getBucket()
	if err != nil {
		return nil, nil, err
	}
	if !b.ObjectLock {
		return nil, nil, ErrLockOnUnlockedBucket
	}
	v, err := q.subresourceVersion(b, false)
	if err != nil {
		return nil, nil, err
	}
	return b, v, nil
}

// getObjectRetention is GetObjectRetention: 404
// NoSuchObjectLockConfiguration when the version never had one.
func (q *request) getObjectRetention() error {
	_, v, err := q.lockTarget()
	if err != nil {
		return err
	}
	if v.RetMode == lockctl.ModeNone {
		return ErrNoSuchLockConfig
	}
	return q.writeXML(http.StatusOK, retentionDoc(v.RetMode, v.RetUntil.UTC()))
}

func retentionDoc(m lockctl.Mode, until time.Time) retentionXML {
	mode := string(m)
	date := xmlTime(lockctl.CeilMilli(until)) // records of older builds hold nanoseconds: never show a shorter date
	return retentionXML{Mode: &mode, RetainUntilDate: &date}
}

// parseRetention checks a PutObjectRetention body. An empty Retention
// element (neither Mode nor RetainUntilDate) asks to remove the retention.
func parseRetention(data []byte) (lockctl.Retention, error) {
	var x retentionXML
	if err := unmarshalXML(data, "Retention", &x); err != nil {
		if errors.Is(err, errEmptyXML) {
			return lockctl.Retention{}, ErrMalformedXML.WithMessage("the retention is empty")
		}
		return lockctl.Retention{}, err
	}
	if err := noDuplicateElements(data); err != nil {
		return lockctl.Retention{}, err
	}
	if x.Mode == nil && x.RetainUntilDate == nil {
		return lockctl.Retention{}, nil
	}
	if x.Mode == nil || x.RetainUntilDate == nil {
		return lockctl.Retention{}, ErrMalformedXML.WithMessage("Retention needs both Mode and RetainUntilDate")
	}
	m, err := parseModeExact(strings.TrimSpace(*x.Mode))
	if err != nil {
		return lockctl.Retention{}, ErrMalformedXML.WithMessage("Mode must be GOVERNANCE or COMPLIANCE")
	}
	t, err := parseISOTime(*x.RetainUntilDate)
	if err != nil {
		return lockctl.Retention{}, ErrMalformedXML.WithMessage("RetainUntilDate is not an ISO 8601 date")
	}
	return lockctl.Retention{Mode: m, Until: lockctl.CeilMilli(t)}, nil
}

// putObjectRetention is PutObjectRetention: the store applies the rules
// (extend freely; shorten, remove or change mode of GOVERNANCE only with an
// effective bypass; COMPLIANCE only extended).
func (q *request) putObjectRetention() error {
	if !q.body.HasIntegrity() {
		return ErrMissingContentMD5
	}
	data, err := readAllLimited(q.body, maxConfigXML)
	if err != nil {
		return err
	}
	ret, err := parseRetention(data)
	if err != nil {
		return err
	}
	if err := q.authorize("s3:PutObjectRetention", q.bucket, q.key, q.lockContext(&ret, nil)); err != nil {
		return err
	}
	b, v, err := q.lockTarget()
	if err != nil {
		return err
	}
	bypass, err := q.bypassHeader(b)
	if err != nil {
		return err
	}
	if _, err := q.s.store.SetRetention(q.bucket, q.key, v.ID, ret, q.actor(bypass)); err != nil {
		return err
	}
	q.versionHeader(b, v)
	return q.ok()
}

// getObjectLegalHold is GetObjectLegalHold: 404
// NoSuchObjectLockConfiguration when the hold was never set.
func (q *request) getObjectLegalHold() error {
	_, v, err := q.lockTarget()
	if err != nil {
		return err
	}
	if !v.HoldSet {
		return ErrNoSuchLockConfig
	}
	return q.writeXML(http.StatusOK, legalHoldDoc(v.LegalHold))
}

func legalHoldDoc(on bool) legalHoldXML {
	s := "OFF"
	if on {
		s = "ON"
	}
	return legalHoldXML{Status: &s}
}

// parseLegalHold checks a PutObjectLegalHold body.
func parseLegalHold(data []byte) (bool, error) {
	var x legalHoldXML
	if err := unmarshalXML(data, "LegalHold", &x); err != nil {
		if errors.Is(err, errEmptyXML) {
			return false, ErrMalformedXML.WithMessage("the legal hold is empty")
		}
		return false, err
	}
	if err := noDuplicateElements(data); err != nil {
		return false, err
	}
	if x.Status == nil {
		return false, ErrMalformedXML.WithMessage("LegalHold needs a Status")
	}
	switch strings.TrimSpace(*x.Status) {
	case "ON":
		return true, nil
	case "OFF":
		return false, nil
	}
	return false, ErrMalformedXML.WithMessage("Status must be ON or OFF")
}

// putObjectLegalHold is PutObjectLegalHold.
func (q *request) putObjectLegalHold() error {
	if !q.body.HasIntegrity() {
		return ErrMissingContentMD5
	}
	data, err := readAllLimited(q.body, maxConfigXML)
	if err != nil {
		return err
	}
	on, err := parseLegalHold(data)
	if err != nil {
		return err
	}
	if err := q.authorize("s3:PutObjectLegalHold", q.bucket, q.key, q.lockContext(nil, &on)); err != nil {
		return err
	}
	b, v, err := q.lockTarget()
	if err != nil {
		return err
	}
	if _, err := q.s.store.SetLegalHold(q.bucket, q.key, v.ID, on, q.actor(false)); err != nil {
		return err
	}
	q.versionHeader(b, v)
	return q.ok()
}
