package meta

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wormfs/wormfs/lockctl"
)

// TestModel drives the real Store (real Badger in a temporary directory)
// with random operations and checks every result and every error against
// a plain in-memory model of SPEC §3 and §4. The model encodes the rules
// itself; lockctl is used only for its types and sentinel errors.
//
// The compliance clock is driven through Options.SysNow and Options.Mono,
// so retention expires during the run. WORMFS_MODEL_SEED replays a run,
// WORMFS_MODEL_OPS changes its length.
func TestModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("WORMFS_MODEL_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("WORMFS_MODEL_SEED: %v", err)
		}
		seed = n
	}
	ops := 10000
	if testing.Short() {
		ops = 3000
	}
	if v := os.Getenv("WORMFS_MODEL_OPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("WORMFS_MODEL_OPS: %v", err)
		}
		ops = n
	}
	t.Logf("seed %d (replay with WORMFS_MODEL_SEED=%d), %d operations", seed, seed, ops)
	r := newModelRun(t, seed)
	start := time.Now()
	r.run(ops)
	t.Logf("%d operations in %v; per kind: %s", ops, time.Since(start).Round(time.Millisecond), r.counts())
}

// ---------------------------------------------------------------------
// The model.

type mVersion struct {
	id      string
	seq     uint64 // the store's sequence number (the position in listings)
	dm      bool
	data    []byte
	created time.Time
	ret     lockctl.Retention
	hold    bool
	holdSet bool
}

type mBucket struct {
	versioning string
	lock       bool
	rule       lockctl.DefaultRule
	keys       map[string][]*mVersion // newest first
}

func (b *mBucket) empty() bool {
	for _, vs := range b.keys {
		if len(vs) > 0 {
			return false
		}
	}
	return true
}

// current is the latest version of key when it is not a delete marker.
func (b *mBucket) current(key string) *mVersion {
	vs := b.keys[key]
	if len(vs) == 0 || vs[0].dm {
		return nil
	}
	return vs[0]
}

func (b *mBucket) remove(key string, v *mVersion) {
	vs := b.keys[key]
	for i, x := range vs {
		if x == v {
			b.keys[key] = append(vs[:i:i], vs[i+1:]...)
			return
		}
	}
}

func (b *mBucket) null(key string) *mVersion {
	for _, v := range b.keys[key] {
		if v.id == NullVersionID {
			return v
		}
	}
	return nil
}

// modelKeyErr is the model's own key validation (SPEC §2).
func modelKeyErr(key string) error {
	switch {
	case key == "":
		return ErrInvalidKey
	case len(key) > 1024:
		return ErrKeyTooLong
	case !utf8.ValidString(key) || strings.ContainsRune(key, 0):
		return ErrInvalidKey
	}
	for _, c := range strings.Split(key, "/") {
		if len(c) > 255 {
			return ErrKeyTooLong
		}
		if c == "." || c == ".." {
			return ErrInvalidKey
		}
	}
	return nil
}

const hundredYears = 36525 * 24 * time.Hour

// modelValidateRetention: a mode, a date, in the future, at most 100 years.
func modelValidateRetention(ret lockctl.Retention, now time.Time) error {
	switch {
	case ret.Mode == "":
		return lockctl.ErrMissingMode
	case ret.Mode != lockctl.ModeGovernance && ret.Mode != lockctl.ModeCompliance:
		return lockctl.ErrUnknownMode
	case ret.Until.IsZero():
		return lockctl.ErrMissingDate
	case !ret.Until.After(now):
		return lockctl.ErrPastDate
	case ret.Until.Sub(now) > hundredYears:
		return lockctl.ErrTooLong
	}
	return nil
}

func modelValidateRule(d lockctl.DefaultRule) error {
	switch {
	case d.Mode == "":
		return lockctl.ErrMissingMode
	case d.Mode != lockctl.ModeGovernance && d.Mode != lockctl.ModeCompliance:
		return lockctl.ErrUnknownMode
	case d.Days != 0 && d.Years != 0:
		return lockctl.ErrDaysAndYears
	case d.Days == 0 && d.Years == 0:
		return lockctl.ErrNoPeriod
	case d.Days < 0 || d.Years < 0:
		return lockctl.ErrInvalidPeriod
	case d.Days > 36525 || d.Years > 100:
		return lockctl.ErrTooLong
	}
	return nil
}

func active(r lockctl.Retention, now time.Time) bool {
	return r.Mode != "" && now.Before(r.Until)
}

// ---------------------------------------------------------------------
// The run.

type modelRun struct {
	t    *testing.T
	seed uint64
	rng  *rand.Rand
	dir  string
	s    *Store

	mono atomic.Int64 // nanoseconds
	base time.Time

	buckets map[string]*mBucket
	lastID  string         // highest version id handed out
	dead    []*Version     // permanently deleted versions (stale sources)
	count   map[string]int // operations per kind
	recent  []string       // the last operations, for failure reports
	opN     int
	kind    string // of the operation running
	spent   map[string]time.Duration
}

func newModelRun(t *testing.T, seed uint64) *modelRun {
	r := &modelRun{
		t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		dir:     t.TempDir(),
		base:    time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC),
		buckets: map[string]*mBucket{},
		count:   map[string]int{},
	}
	r.open()
	t.Cleanup(func() {
		if r.s != nil {
			r.s.Close()
		}
	})
	for _, b := range []struct {
		name string
		o    BucketOptions
	}{
		{"lock", BucketOptions{ObjectLock: true}},
		{"ver", BucketOptions{Versioning: VersioningEnabled}},
		{"susp", BucketOptions{Versioning: VersioningSuspended}},
		{"plain", BucketOptions{}},
		{"huge", BucketOptions{Versioning: VersioningEnabled}},
	} {
		got, err := r.s.CreateBucket(b.name, b.o, Actor{Name: "model"})
		if err != nil {
			t.Fatal(err)
		}
		mb := &mBucket{versioning: b.o.Versioning, lock: b.o.ObjectLock, keys: map[string][]*mVersion{}}
		if mb.lock {
			mb.versioning = VersioningEnabled
		}
		if got.Versioning != mb.versioning || got.ObjectLock != mb.lock {
			t.Fatalf("CreateBucket %s = %+v", b.name, got)
		}
		r.buckets[b.name] = mb
	}
	return r
}

func (r *modelRun) now() time.Time { return r.base.Add(time.Duration(r.mono.Load())) }

func (r *modelRun) open() {
	s, err := Open(Options{
		Dir: r.dir, GCInterval: -1,
		SysNow: func() time.Time { return r.base.Add(time.Duration(r.mono.Load())) },
		Mono:   func() time.Duration { return time.Duration(r.mono.Load()) },
	})
	if err != nil {
		r.t.Fatalf("seed %d: open: %v", r.seed, err)
	}
	r.s = s
}

func (r *modelRun) fail(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("seed %d (WORMFS_MODEL_SEED=%d), operation %d: %s\nrecent operations:\n  %s",
		r.seed, r.seed, r.opN, fmt.Sprintf(format, args...), strings.Join(r.recent, "\n  "))
}

func (r *modelRun) note(kind, format string, args ...any) {
	line := fmt.Sprintf("%d %s: %s", r.opN, kind, fmt.Sprintf(format, args...))
	if len(line) > 300 {
		line = line[:300] + "…"
	}
	if os.Getenv("MODEL_TRACE") != "" {
		fmt.Fprintln(os.Stderr, line)
	}
	r.recent = append(r.recent, line)
	if len(r.recent) > 25 {
		r.recent = r.recent[1:]
	}
}

func (r *modelRun) counts() string {
	var ks []string
	for k := range r.count {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for _, k := range ks {
		fmt.Fprintf(&b, "%s=%d", k, r.count[k])
		if d, ok := r.spent[k]; ok {
			fmt.Fprintf(&b, " (%v)", d.Round(time.Millisecond))
		}
		b.WriteString(", ")
	}
	return b.String()
}

// expect checks got against the model's wanted error and reports whether
// the operation was expected to succeed.
func (r *modelRun) expect(op string, got, want error) bool {
	r.t.Helper()
	if want == nil {
		if got != nil {
			r.fail("%s: unexpected error: %v", op, got)
		}
		return true
	}
	r.count[r.kind+"/refused:"+sentinelName(want)]++
	if got == nil {
		r.fail("%s: succeeded, want error %v", op, want)
	}
	if !errors.Is(got, want) {
		r.fail("%s: error %q, want %v", op, got, want)
	}
	return false
}

// sentinelName names an expected error for the per-kind counts.
func sentinelName(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{
		{ErrNoSuchBucket, "NoSuchBucket"}, {ErrNoSuchKey, "NoSuchKey"}, {ErrNoSuchVersion, "NoSuchVersion"},
		{ErrDeleteMarker, "DeleteMarker"}, {ErrInvalidKey, "InvalidKey"}, {ErrKeyTooLong, "KeyTooLong"},
		{ErrInvalidBucketState, "InvalidBucketState"}, {ErrInvalidBucketName, "InvalidBucketName"},
		{ErrBucketExists, "BucketExists"}, {ErrBucketNotEmpty, "BucketNotEmpty"}, {ErrStale, "Stale"},
		{ErrInvalidRange, "InvalidRange"}, {lockctl.ErrProtected, "Protected"},
		{lockctl.ErrComplianceLocked, "ComplianceLocked"}, {lockctl.ErrBypassRequired, "BypassRequired"},
		{lockctl.ErrNotLockedBucket, "NotLockedBucket"}, {lockctl.ErrPastDate, "PastDate"},
		{lockctl.ErrTooLong, "TooLong"}, {lockctl.ErrUnknownMode, "UnknownMode"}, {lockctl.ErrMissingMode, "MissingMode"},
		{lockctl.ErrMissingDate, "MissingDate"}, {lockctl.ErrDaysAndYears, "DaysAndYears"},
		{lockctl.ErrNoPeriod, "NoPeriod"}, {lockctl.ErrInvalidPeriod, "InvalidPeriod"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return err.Error()
}

var modelKeys = []string{
	"a", "a/", "a/b", "a/b/c", "a/b/", "a/c", "a-b", "ab", "b", "b/x/y", "c.txt",
	"dir/", "dir/1", "dir/2", "dir/sub/3", "z", "é/ü", "x/y/z/w",
}

var badKeys = []string{
	"", "a/../b", ".", "x\x00y", strings.Repeat("k", 1025), strings.Repeat("n", 256) + "/x", "\xff\xfe",
}

var modelPrefixes = []string{"", "", "a", "a/", "a/b", "dir/", "d", "x/", "é", "zz", "b/x/"}
var modelDelims = []string{"", "/", "/", "/", "b", "/x"}
var modelAfters = []string{"a", "a/", "a/b", "b", "dir/1", "zzz", "c", "\x7f", "0", "dir/", "a/b/c"}

func (r *modelRun) pickBucket() string {
	switch p := r.rng.IntN(100); {
	case p < 40:
		return "lock"
	case p < 60:
		return "ver"
	case p < 78:
		return "susp"
	case p < 98:
		return "plain"
	default:
		return "nosuch"
	}
}

func (r *modelRun) pickKey() string {
	if r.rng.IntN(100) == 0 {
		return badKeys[r.rng.IntN(len(badKeys))]
	}
	return modelKeys[r.rng.IntN(len(modelKeys))]
}

// pickVersionID picks "" (latest), an id of the key, or a bogus id.
func (r *modelRun) pickVersionID(bucket, key string) string {
	b := r.buckets[bucket]
	p := r.rng.IntN(100)
	switch {
	case p < 45:
		return ""
	case p < 93 && b != nil && len(b.keys[key]) > 0:
		vs := b.keys[key]
		return vs[r.rng.IntN(len(vs))].id
	}
	bogus := []string{"null", "zzzz", "0000000000000000", "ffffffffffffffff", r.lastID, "../x"}
	// an id of some other key
	for _, mb := range r.buckets {
		for k, vs := range mb.keys {
			if k != key && len(vs) > 0 {
				bogus = append(bogus, vs[0].id)
				break
			}
		}
	}
	return bogus[r.rng.IntN(len(bogus))]
}

// resolve is the model of version lookup: "" is the latest (a delete
// marker there means no such key, and the marker is returned with it).
func (r *modelRun) resolve(bucket, key, vid string) (*mVersion, error) {
	b := r.buckets[bucket]
	if b == nil {
		return nil, ErrNoSuchBucket
	}
	vs := b.keys[key]
	if vid == "" {
		if len(vs) == 0 {
			return nil, ErrNoSuchKey
		}
		if vs[0].dm {
			return vs[0], ErrNoSuchKey
		}
		return vs[0], nil
	}
	for _, v := range vs {
		if v.id == vid {
			if v.dm {
				return v, ErrDeleteMarker
			}
			return v, nil
		}
	}
	return nil, ErrNoSuchVersion
}

func etagOf(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}

func sameTime(a, b time.Time) bool { return a.Equal(b) || (a.IsZero() && b.IsZero()) }

// checkVersion compares a version returned by the store with the model's.
func (r *modelRun) checkVersion(op, bucket, key string, got *Version, want *mVersion) {
	r.t.Helper()
	if got == nil {
		r.fail("%s: nil version, want %s", op, want.id)
	}
	var bad []string
	if got.Bucket != bucket || got.Key != key {
		bad = append(bad, fmt.Sprintf("names %s/%s", got.Bucket, got.Key))
	}
	if got.ID != want.id {
		bad = append(bad, fmt.Sprintf("id %s, want %s", got.ID, want.id))
	}
	if got.DeleteMarker != want.dm {
		bad = append(bad, fmt.Sprintf("delete marker %v", got.DeleteMarker))
	}
	if got.Size != int64(len(want.data)) {
		bad = append(bad, fmt.Sprintf("size %d, want %d", got.Size, len(want.data)))
	}
	if !want.dm && got.ETag != etagOf(want.data) {
		bad = append(bad, fmt.Sprintf("etag %s, want %s", got.ETag, etagOf(want.data)))
	}
	if !sameTime(got.Created, want.created) {
		bad = append(bad, fmt.Sprintf("created %v, want %v", got.Created, want.created))
	}
	if got.RetMode != want.ret.Mode || !sameTime(got.RetUntil, want.ret.Until) {
		bad = append(bad, fmt.Sprintf("retention %s %v, want %s %v", got.RetMode, got.RetUntil, want.ret.Mode, want.ret.Until))
	}
	if got.LegalHold != want.hold || got.HoldSet != want.holdSet {
		bad = append(bad, fmt.Sprintf("legal hold %v/%v, want %v/%v", got.LegalHold, got.HoldSet, want.hold, want.holdSet))
	}
	if len(bad) > 0 {
		r.fail("%s: version %s/%s %s: %s", op, bucket, key, want.id, strings.Join(bad, "; "))
	}
}

// checkNewID checks the id the store gave a new version.
func (r *modelRun) checkNewID(op string, b *mBucket, got *Version) {
	r.t.Helper()
	if b.versioning != VersioningEnabled {
		if got.ID != NullVersionID {
			r.fail("%s: id %q in a bucket with versioning %q, want null", op, got.ID, b.versioning)
		}
		return
	}
	if len(got.ID) != 16 || got.ID <= r.lastID {
		r.fail("%s: id %q, want 16 hex digits above %q", op, got.ID, r.lastID)
	}
	r.lastID = got.ID
}

// ---------------------------------------------------------------------
// Content.

func (r *modelRun) data(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// size picks a content size: small mostly, sometimes across a chunk.
func (r *modelRun) size(bucket, key string) int {
	switch p := r.rng.IntN(1000); {
	case p < 100:
		return 0
	case p < 750:
		return r.rng.IntN(200)
	case p < 950:
		return r.rng.IntN(9000)
	case p < 996:
		return r.rng.IntN(300 << 10)
	default:
		return ChunkSize - 100 + r.rng.IntN(ChunkSize/3)
	}
}

// ---------------------------------------------------------------------
// Publish options and the model of a new version.

func (r *modelRun) pickRetention() lockctl.Retention {
	now := r.now()
	switch p := r.rng.IntN(100); {
	case p < 72:
		return lockctl.Retention{}
	case p < 92:
		mode := lockctl.ModeGovernance
		if r.rng.IntN(2) == 0 {
			mode = lockctl.ModeCompliance
		}
		return lockctl.Retention{Mode: mode, Until: now.Add(time.Duration(1+r.rng.Int64N(int64(5*24*time.Hour/time.Second))) * time.Second)}
	case p < 94:
		return lockctl.Retention{Mode: lockctl.ModeGovernance, Until: now}
	case p < 95:
		return lockctl.Retention{Mode: lockctl.ModeCompliance, Until: now.Add(-time.Hour)}
	case p < 96:
		return lockctl.Retention{Mode: lockctl.ModeGovernance, Until: now.Add(hundredYears + time.Hour)}
	case p < 97:
		return lockctl.Retention{Mode: "FOREVER", Until: now.Add(time.Hour)}
	case p < 98:
		return lockctl.Retention{Until: now.Add(time.Hour)}
	default:
		return lockctl.Retention{Mode: lockctl.ModeCompliance}
	}
}

func (r *modelRun) pickPublish() PublishOptions {
	o := PublishOptions{Retention: r.pickRetention(), Actor: r.pickActor()}
	if r.rng.IntN(10) == 0 {
		o.LegalHold = true
	}
	return o
}

func (r *modelRun) pickActor() Actor {
	return Actor{Name: "model", Bypass: lockctl.Bypass{Requested: r.rng.IntN(2) == 0, Allowed: r.rng.IntN(3) > 0}}
}

// modelPublish is the model of publishing content at bucket/key: the
// error it must fail with, or the version it creates (without its id)
// and the null version it replaces.
func (r *modelRun) modelPublish(bucket string, data []byte, o PublishOptions) (*mVersion, error) {
	b := r.buckets[bucket]
	if b == nil {
		return nil, ErrNoSuchBucket
	}
	now := r.now()
	if !b.lock && (o.LegalHold || o.Retention != (lockctl.Retention{})) {
		return nil, lockctl.ErrNotLockedBucket
	}
	v := &mVersion{data: data, created: now, hold: o.LegalHold, holdSet: o.LegalHold}
	switch {
	case o.Retention != (lockctl.Retention{}):
		if err := modelValidateRetention(o.Retention, now); err != nil {
			return nil, err
		}
		v.ret = lockctl.Retention{Mode: o.Retention.Mode, Until: lockctl.CeilMilli(o.Retention.Until)}
	case b.lock && b.rule != (lockctl.DefaultRule{}):
		v.ret = lockctl.Retention{Mode: b.rule.Mode, Until: lockctl.CeilMilli(now.AddDate(b.rule.Years, 0, b.rule.Days))}
	}
	return v, nil
}

// commit adds a new version (content or marker) to the model as the
// store named it, replacing the null version where versioning is not
// Enabled.
func (r *modelRun) commit(op, bucket, key string, v *mVersion, got *Version) {
	r.t.Helper()
	b := r.buckets[bucket]
	r.checkNewID(op, b, got)
	v.id, v.seq = got.ID, got.Seq
	r.checkVersion(op, bucket, key, got, v)
	if b.versioning != VersioningEnabled {
		if old := b.null(key); old != nil {
			b.remove(key, old)
		}
	}
	b.keys[key] = append([]*mVersion{v}, b.keys[key]...)
}

// ---------------------------------------------------------------------
// Operations.

func (r *modelRun) run(ops int) {
	kinds := []struct {
		weight int
		name   string
		fn     func()
	}{
		{140, "put", r.opPut},
		{70, "overwrite", r.opOverwrite},
		{50, "append", r.opAppend},
		{40, "truncate", r.opTruncate},
		{12, "two-publishes", r.opTwoPublishes},
		{73, "delete", r.opDelete},
		{60, "delete-version", r.opDeleteVersion},
		{75, "set-retention", r.opSetRetention},
		{40, "legal-hold", r.opLegalHold},
		{12, "lock-config", r.opLockConfig},
		{8, "versioning", r.opVersioning},
		{15, "copy", r.opCopy},
		{15, "rename", r.opRename},
		{60, "get", r.opGet},
		{70, "read", r.opRead},
		{60, "list", r.opList},
		{50, "list-versions", r.opListVersions},
		{20, "versions", r.opVersions},
		{5, "bucket", r.opBucket},
		{1, "huge", r.opHuge},
		{124, "advance", r.opAdvance},
	}
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	r.spent = map[string]time.Duration{}
	checkpoints := map[int]bool{ops / 4: true, ops / 2: true, 3 * ops / 4: true}
	for r.opN = 1; r.opN <= ops; r.opN++ {
		p := r.rng.IntN(total)
		for _, k := range kinds {
			if p -= k.weight; p < 0 {
				r.kind = k.name
				r.count[k.name]++
				t0 := time.Now()
				k.fn()
				r.spent[k.name] += time.Since(t0)
				break
			}
		}
		if checkpoints[r.opN] {
			t0 := time.Now()
			r.checkpoint()
			r.spent["checkpoint"] += time.Since(t0)
		}
	}
	t0 := time.Now()
	r.checkpoint()
	r.spent["checkpoint"] += time.Since(t0)
}

func (r *modelRun) opAdvance() {
	var d time.Duration
	switch p := r.rng.IntN(100); {
	case p < 50:
		d = time.Duration(1+r.rng.IntN(60)) * time.Second
	case p < 90:
		d = time.Duration(r.rng.Int64N(int64(24 * time.Hour)))
	default:
		d = time.Duration(r.rng.Int64N(int64(20 * 24 * time.Hour)))
	}
	r.note("advance", "%v", d)
	r.mono.Add(int64(d))
	if got := r.s.Now(); !got.Equal(r.now()) {
		r.fail("compliance clock %v, want %v", got, r.now())
	}
}

// publishWriter publishes w and checks it against the model of data.
func (r *modelRun) publishWriter(op, bucket, key string, w *Writer, data []byte, o PublishOptions) {
	r.t.Helper()
	want, werr := r.modelPublish(bucket, data, o)
	got, err := w.Publish(o)
	if r.expect(op, err, werr) {
		r.commit(op, bucket, key, want, got)
	}
}

func (r *modelRun) opPut() {
	bucket, key := r.pickBucket(), r.pickKey()
	data := r.data(r.size(bucket, key))
	o := r.pickPublish()
	r.note("put", "%s/%q %d bytes ret=%v hold=%v", bucket, key, len(data), o.Retention, o.LegalHold)
	w, err := r.s.NewWriter(bucket, key, nil)
	if !r.expect("NewWriter", err, modelKeyErr(key)) {
		return
	}
	// several writes, in order or not
	if len(data) > 0 && r.rng.IntN(3) == 0 {
		cut := r.rng.IntN(len(data))
		r.write(w, data[cut:], int64(cut))
		r.write(w, data[:cut], 0)
	} else {
		r.write(w, data, 0)
	}
	r.publishWriter("put", bucket, key, w, data, o)
	if err := w.Abort(); err != nil {
		r.fail("abort after publish: %v", err)
	}
}

func (r *modelRun) write(w *Writer, p []byte, off int64) {
	r.t.Helper()
	n, err := w.WriteAt(p, off)
	if err != nil || n != len(p) {
		r.fail("WriteAt(%d bytes at %d) = %d, %v", len(p), off, n, err)
	}
}

// pickBase picks a version to start a copy-on-write writer from: usually the
// current version of key, sometimes an older one or one of another key.
func (r *modelRun) pickBase(bucket, key string) (*Version, []byte) {
	r.t.Helper()
	srcBucket, srcKey, vid := bucket, key, ""
	if r.rng.IntN(20) == 0 {
		srcBucket, srcKey = r.pickBucket(), r.pickKey()
	}
	b := r.buckets[srcBucket]
	if b == nil {
		return nil, nil
	}
	if vs := b.keys[srcKey]; len(vs) > 1 && r.rng.IntN(4) == 0 {
		vid = vs[r.rng.IntN(len(vs))].id
	}
	want, werr := r.resolve(srcBucket, srcKey, vid)
	got, err := r.s.Get(srcBucket, srcKey, vid)
	if !r.expect("Get base", err, werr) {
		return nil, nil
	}
	r.checkVersion("Get base", srcBucket, srcKey, got, want)
	return got, append([]byte(nil), want.data...)
}

func (r *modelRun) cowWriter(bucket, key string) (*Writer, []byte, bool) {
	base, data := r.pickBase(bucket, key)
	w, err := r.s.NewWriter(bucket, key, base)
	if !r.expect("NewWriter", err, modelKeyErr(key)) {
		return nil, nil, false
	}
	if w.Size() != int64(len(data)) {
		r.fail("writer from base: size %d, want %d", w.Size(), len(data))
	}
	return w, data, true
}

// apply writes p at off to the model content.
func apply(data, p []byte, off int) []byte {
	if end := off + len(p); end > len(data) {
		data = append(data, make([]byte, end-len(data))...)
	}
	copy(data[off:], p)
	return data
}

func (r *modelRun) opOverwrite() {
	bucket, key := r.pickBucket(), r.pickKey()
	w, data, ok := r.cowWriter(bucket, key)
	if !ok {
		return
	}
	defer w.Abort()
	o := r.pickPublish()
	n := 1 + r.rng.IntN(4)
	desc := []string{}
	for i := 0; i < n; i++ {
		off := r.rng.IntN(len(data) + 1 + r.rng.IntN(100))
		if r.rng.IntN(8) == 0 && len(data) > ChunkSize {
			off = ChunkSize - r.rng.IntN(50) // across a chunk boundary
		}
		p := r.data(1 + r.rng.IntN(300))
		if r.rng.IntN(10) == 0 {
			p = r.data(r.rng.IntN(20000))
		}
		r.write(w, p, int64(off))
		data = apply(data, p, off)
		desc = append(desc, fmt.Sprintf("%d@%d", len(p), off))
	}
	r.note("overwrite", "%s/%q writes %v size %d", bucket, key, desc, len(data))
	r.checkWriterContent(w, data)
	r.publishWriter("overwrite", bucket, key, w, data, o)
}

func (r *modelRun) checkWriterContent(w *Writer, data []byte) {
	r.t.Helper()
	if w.Size() != int64(len(data)) {
		r.fail("writer size %d, want %d", w.Size(), len(data))
	}
	if r.rng.IntN(3) != 0 || len(data) == 0 {
		return
	}
	off := r.rng.IntN(len(data))
	n := r.rng.IntN(len(data) - off + 10)
	buf := make([]byte, n)
	got, err := w.ReadAt(buf, int64(off))
	wantN := min(n, len(data)-off)
	if got != wantN || (wantN < n) != errors.Is(err, io.EOF) || (err != nil && !errors.Is(err, io.EOF)) {
		r.fail("writer ReadAt(%d at %d) = %d, %v; want %d", n, off, got, err, wantN)
	}
	if !bytes.Equal(buf[:got], data[off:off+wantN]) {
		r.fail("writer ReadAt(%d at %d): content differs", n, off)
	}
}

func (r *modelRun) opAppend() {
	bucket, key := r.pickBucket(), r.pickKey()
	w, data, ok := r.cowWriter(bucket, key)
	if !ok {
		return
	}
	defer w.Abort()
	p := r.data(r.rng.IntN(500))
	if r.rng.IntN(20) == 0 {
		p = r.data(r.rng.IntN(70000))
	}
	r.note("append", "%s/%q %d bytes to %d", bucket, key, len(p), len(data))
	r.write(w, p, int64(len(data)))
	data = append(data, p...)
	r.publishWriter("append", bucket, key, w, data, r.pickPublish())
}

func (r *modelRun) opTruncate() {
	bucket, key := r.pickBucket(), r.pickKey()
	w, data, ok := r.cowWriter(bucket, key)
	if !ok {
		return
	}
	defer w.Abort()
	var size int
	switch p := r.rng.IntN(10); {
	case p < 2:
		size = 0
	case p < 6:
		size = r.rng.IntN(len(data) + 1)
	case p < 9:
		size = len(data) + r.rng.IntN(3000)
	default:
		size = len(data) + r.rng.IntN(ChunkSize+1000)
	}
	if err := w.Truncate(-1); !errors.Is(err, ErrInvalidRange) {
		r.fail("Truncate(-1) = %v, want ErrInvalidRange", err)
	}
	if err := w.Truncate(int64(size)); err != nil {
		r.fail("Truncate(%d): %v", size, err)
	}
	if size <= len(data) {
		data = data[:size]
	} else {
		data = append(data, make([]byte, size-len(data))...)
	}
	if r.rng.IntN(3) == 0 {
		off := r.rng.IntN(size + 10)
		p := r.data(1 + r.rng.IntN(100))
		r.write(w, p, int64(off))
		data = apply(data, p, off)
	}
	r.note("truncate", "%s/%q to %d (now %d)", bucket, key, size, len(data))
	r.checkWriterContent(w, data)
	r.publishWriter("truncate", bucket, key, w, data, r.pickPublish())
}

// opTwoPublishes publishes twice from one writer: the second version is
// the first plus later writes.
func (r *modelRun) opTwoPublishes() {
	bucket, key := r.pickBucket(), r.pickKey()
	if r.rng.IntN(2) == 0 {
		bucket = "lock"
	}
	w, data, ok := r.cowWriter(bucket, key)
	if !ok {
		return
	}
	defer w.Abort()
	r.note("two-publishes", "%s/%q from %d bytes", bucket, key, len(data))
	for i := 0; i < 2; i++ {
		p := r.data(r.rng.IntN(2000))
		off := r.rng.IntN(len(data) + 1)
		r.write(w, p, int64(off))
		data = apply(data, p, off)
		o := r.pickPublish()
		want, werr := r.modelPublish(bucket, append([]byte(nil), data...), o)
		got, err := w.Publish(o)
		if !r.expect("publish "+strconv.Itoa(i+1), err, werr) {
			return
		}
		r.commit("publish "+strconv.Itoa(i+1), bucket, key, want, got)
		if w.Dirty() {
			r.fail("writer dirty after publish")
		}
	}
}

func (r *modelRun) opDelete() {
	bucket, key := r.pickBucket(), r.pickKey()
	o := PublishOptions{Actor: r.pickActor()}
	r.note("delete", "%s/%q", bucket, key)
	got, err := r.s.Delete(bucket, key, o)
	werr := modelKeyErr(key)
	b := r.buckets[bucket]
	if werr == nil && b == nil {
		werr = ErrNoSuchBucket
	}
	if !r.expect("Delete", err, werr) {
		return
	}
	if b.versioning == VersioningOff {
		if got != nil {
			r.fail("Delete in an unversioned bucket returned a marker %+v", got)
		}
		if old := b.null(key); old != nil {
			b.remove(key, old)
		}
		return
	}
	r.commit("Delete", bucket, key, &mVersion{dm: true, created: r.now()}, got)
}

// protectedFromDelete is the model of SPEC §4 for a permanent delete.
func protectedFromDelete(v *mVersion, now time.Time, by lockctl.Bypass) bool {
	if v.dm {
		return false
	}
	if v.hold {
		return true
	}
	if !active(v.ret, now) {
		return false
	}
	return v.ret.Mode == lockctl.ModeCompliance || !(by.Requested && by.Allowed)
}

func (r *modelRun) opDeleteVersion() {
	bucket, key := r.pickBucket(), r.pickKey()
	vid := r.pickVersionID(bucket, key)
	actor := r.pickActor()
	if r.rng.IntN(3) == 0 {
		actor.Bypass = lockctl.Bypass{Requested: true, Allowed: true}
	}
	r.note("delete-version", "%s/%q %q bypass=%+v", bucket, key, vid, actor.Bypass)
	want, werr := r.resolve(bucket, key, vid)
	if errors.Is(werr, ErrDeleteMarker) {
		werr = nil
	}
	if werr == nil && protectedFromDelete(want, r.now(), actor.Bypass) {
		werr = lockctl.ErrProtected
	}
	got, err := r.s.DeleteVersion(bucket, key, vid, actor)
	if !r.expect("DeleteVersion", err, werr) {
		return
	}
	r.checkVersion("DeleteVersion", bucket, key, got, want)
	r.buckets[bucket].remove(key, want)
	if !want.dm {
		r.dead = append(r.dead, got)
	}
}

func (r *modelRun) opSetRetention() {
	bucket, key := r.pickBucket(), r.pickKey()
	if r.rng.IntN(2) == 0 {
		bucket = "lock"
	}
	vid := r.pickVersionID(bucket, key)
	now := r.now()
	var ret lockctl.Retention
	cur, _ := r.resolve(bucket, key, vid)
	switch p := r.rng.IntN(100); {
	case p < 15:
		// remove
	case p < 35 && cur != nil && cur.ret.Mode != "":
		// extend or shorten the current one, same mode
		d := time.Duration(r.rng.Int64N(int64(48*time.Hour))) - 24*time.Hour
		ret = lockctl.Retention{Mode: cur.ret.Mode, Until: cur.ret.Until.Add(d)}
	case p < 45 && cur != nil && cur.ret.Mode != "":
		// change the mode
		m := lockctl.ModeGovernance
		if cur.ret.Mode == m {
			m = lockctl.ModeCompliance
		}
		ret = lockctl.Retention{Mode: m, Until: cur.ret.Until.Add(time.Hour)}
	default:
		ret = r.pickRetention()
		if ret == (lockctl.Retention{}) {
			ret = lockctl.Retention{Mode: lockctl.ModeGovernance, Until: now.Add(time.Duration(1+r.rng.IntN(3600)) * time.Second)}
		}
	}
	actor := r.pickActor()
	r.note("set-retention", "%s/%q %q %v bypass=%+v", bucket, key, vid, ret, actor.Bypass)
	want, werr := r.modelSetRetention(bucket, key, vid, ret, actor.Bypass)
	got, err := r.s.SetRetention(bucket, key, vid, ret, actor)
	if !r.expect("SetRetention", err, werr) {
		return
	}
	if ret.Mode == "" {
		want.ret = lockctl.Retention{}
	} else {
		want.ret = lockctl.Retention{Mode: ret.Mode, Until: lockctl.CeilMilli(ret.Until)}
	}
	r.checkVersion("SetRetention", bucket, key, got, want)
}

// lockTarget is the model of finding the version a lock change applies
// to: never a delete marker, only in a bucket with Object Lock.
func (r *modelRun) lockTarget(bucket, key, vid string) (*mVersion, error) {
	v, err := r.resolve(bucket, key, vid)
	if v != nil && v.dm {
		return nil, ErrDeleteMarker
	}
	if err != nil {
		return nil, err
	}
	if !r.buckets[bucket].lock {
		return nil, lockctl.ErrNotLockedBucket
	}
	return v, nil
}

func (r *modelRun) modelSetRetention(bucket, key, vid string, ret lockctl.Retention, by lockctl.Bypass) (*mVersion, error) {
	v, err := r.lockTarget(bucket, key, vid)
	if err != nil {
		return nil, err
	}
	now := r.now()
	if ret != (lockctl.Retention{}) {
		if err := modelValidateRetention(ret, now); err != nil {
			return nil, err
		}
	}
	cur := v.ret
	if !active(cur, now) {
		return v, nil
	}
	if ret.Mode == cur.Mode && !ret.Until.Before(cur.Until) {
		return v, nil // extending is free
	}
	if cur.Mode == lockctl.ModeCompliance {
		return nil, lockctl.ErrComplianceLocked
	}
	if !(by.Requested && by.Allowed) {
		return nil, lockctl.ErrBypassRequired
	}
	return v, nil
}

func (r *modelRun) opLegalHold() {
	bucket, key := r.pickBucket(), r.pickKey()
	if r.rng.IntN(2) == 0 {
		bucket = "lock"
	}
	vid := r.pickVersionID(bucket, key)
	on := r.rng.IntN(2) == 0
	r.note("legal-hold", "%s/%q %q %v", bucket, key, vid, on)
	want, werr := r.lockTarget(bucket, key, vid)
	got, err := r.s.SetLegalHold(bucket, key, vid, on, r.pickActor())
	if !r.expect("SetLegalHold", err, werr) {
		return
	}
	want.hold, want.holdSet = on, true
	r.checkVersion("SetLegalHold", bucket, key, got, want)
}

func (r *modelRun) opLockConfig() {
	bucket := "lock"
	switch p := r.rng.IntN(100); {
	case p < 5:
		bucket = "plain"
	case p < 10:
		bucket = "susp"
	case p < 14:
		bucket = "nosuch"
	case p < 16 && r.opN > 8000:
		bucket = "ver" // Object Lock on a bucket that has versions already
	}
	var rule lockctl.DefaultRule
	modes := []lockctl.Mode{lockctl.ModeGovernance, lockctl.ModeCompliance}
	switch p := r.rng.IntN(100); {
	case p < 30:
	case p < 60:
		rule = lockctl.DefaultRule{Mode: modes[r.rng.IntN(2)], Days: 1 + r.rng.IntN(3)}
	case p < 75:
		rule = lockctl.DefaultRule{Mode: modes[r.rng.IntN(2)], Years: 1}
	case p < 78:
		rule = lockctl.DefaultRule{Mode: modes[r.rng.IntN(2)], Days: 1, Years: 1}
	case p < 81:
		rule = lockctl.DefaultRule{Mode: modes[r.rng.IntN(2)]}
	case p < 84:
		rule = lockctl.DefaultRule{Mode: modes[r.rng.IntN(2)], Days: -3}
	case p < 87:
		rule = lockctl.DefaultRule{Mode: "WORM", Days: 1}
	case p < 90:
		rule = lockctl.DefaultRule{Days: 1}
	case p < 95:
		rule = lockctl.DefaultRule{Mode: modes[r.rng.IntN(2)], Days: 36526}
	default:
		rule = lockctl.DefaultRule{Mode: modes[r.rng.IntN(2)], Years: 101}
	}
	r.note("lock-config", "%s %+v", bucket, rule)
	var werr error
	if rule != (lockctl.DefaultRule{}) {
		werr = modelValidateRule(rule)
	}
	b := r.buckets[bucket]
	switch {
	case werr != nil:
	case b == nil:
		werr = ErrNoSuchBucket
	case b.versioning != VersioningEnabled:
		werr = ErrInvalidBucketState
	}
	err := r.s.SetLockConfig(bucket, rule, r.pickActor())
	if !r.expect("SetLockConfig", err, werr) {
		return
	}
	b.lock, b.rule = true, rule
	r.checkBucket(bucket)
}

func (r *modelRun) checkBucket(name string) {
	r.t.Helper()
	got, err := r.s.GetBucket(name)
	b := r.buckets[name]
	if b == nil {
		r.expect("GetBucket", err, ErrNoSuchBucket)
		return
	}
	if err != nil {
		r.fail("GetBucket %s: %v", name, err)
	}
	if got.Name != name || got.Versioning != b.versioning || got.ObjectLock != b.lock || got.Rule != b.rule {
		r.fail("GetBucket %s = %+v, want versioning %q lock %v rule %+v", name, got, b.versioning, b.lock, b.rule)
	}
}

func (r *modelRun) opVersioning() {
	bucket := []string{"susp", "susp", "susp", "lock", "plain", "nosuch", "ver"}[r.rng.IntN(7)]
	state := []string{VersioningEnabled, VersioningSuspended, VersioningSuspended, "", "Off"}[r.rng.IntN(5)]
	if bucket == "plain" || bucket == "ver" {
		state = []string{"", "Off", "enabled"}[r.rng.IntN(3)] // keep them as they are
	}
	r.note("versioning", "%s %q", bucket, state)
	b := r.buckets[bucket]
	var werr error
	switch {
	case state != VersioningEnabled && state != VersioningSuspended:
		werr = ErrInvalidBucketState
	case b == nil:
		werr = ErrNoSuchBucket
	case b.lock && state != VersioningEnabled:
		werr = ErrInvalidBucketState
	}
	err := r.s.SetVersioning(bucket, state)
	if r.expect("SetVersioning", err, werr) {
		b.versioning = state
	}
	r.checkBucket(bucket)
}

func (r *modelRun) opCopy() {
	dstBucket, dstKey := r.pickBucket(), r.pickKey()
	o := r.pickPublish()
	var src *Version
	var data []byte
	stale := false
	if len(r.dead) > 0 && r.rng.IntN(10) == 0 {
		src, stale = r.dead[r.rng.IntN(len(r.dead))], true
	} else {
		src, data = r.pickBase(r.pickBucket(), r.pickKey())
		if src == nil {
			return
		}
		if r.rng.IntN(3) == 0 {
			dstBucket, dstKey = src.Bucket, src.Key // onto itself (metadata change)
		}
	}
	r.note("copy", "%s/%q@%s -> %s/%q stale=%v ret=%v hold=%v", src.Bucket, src.Key, src.ID, dstBucket, dstKey, stale, o.Retention, o.LegalHold)
	var want *mVersion
	werr := modelKeyErr(dstKey)
	if werr == nil && stale {
		werr = ErrStale
	}
	if werr == nil {
		want, werr = r.modelPublish(dstBucket, data, o)
	}
	got, err := r.s.Copy(src, dstBucket, dstKey, o)
	if r.expect("Copy", err, werr) {
		r.commit("Copy", dstBucket, dstKey, want, got)
	}
}

func (r *modelRun) opRename() {
	bucket, src, dst := r.pickBucket(), r.pickKey(), r.pickKey()
	if r.rng.IntN(10) == 0 {
		dst = src
	}
	o := r.pickPublish()
	r.note("rename", "%s/%q -> %q ret=%v hold=%v", bucket, src, dst, o.Retention, o.LegalHold)
	werr := modelKeyErr(dst)
	var cur *mVersion
	if werr == nil {
		cur, werr = r.resolve(bucket, src, "")
	}
	var want *mVersion
	if werr == nil && src != dst {
		// The lock follows the bytes: without an explicit lock the new
		// version keeps src's running retention and its legal hold.
		mo := o
		if o.Retention.IsZero() && !o.LegalHold {
			mo.LegalHold = cur.hold
			if cur.ret.Active(r.now()) {
				mo.Retention = cur.ret
			}
		}
		want, werr = r.modelPublish(bucket, cur.data, mo)
	}
	got, err := r.s.Rename(bucket, src, dst, o)
	if !r.expect("Rename", err, werr) {
		return
	}
	if src == dst {
		r.checkVersion("Rename onto itself", bucket, src, got, cur)
		return
	}
	r.commit("Rename", bucket, dst, want, got)
	b := r.buckets[bucket]
	if b.versioning == VersioningOff {
		b.remove(src, cur)
		return
	}
	// the delete marker at src
	vs, err := r.s.Versions(bucket, src)
	if err != nil || len(vs) == 0 {
		r.fail("Versions after rename: %v", err)
	}
	r.commit("Rename marker", bucket, src, &mVersion{dm: true, created: r.now()}, vs[0])
}

func (r *modelRun) opGet() {
	bucket, key := r.pickBucket(), r.pickKey()
	vid := r.pickVersionID(bucket, key)
	r.note("get", "%s/%q %q", bucket, key, vid)
	want, werr := r.resolve(bucket, key, vid)
	got, err := r.s.Get(bucket, key, vid)
	r.expect("Get", err, werr)
	if want != nil {
		// a delete marker comes back with ErrNoSuchKey / ErrDeleteMarker
		r.checkVersion("Get", bucket, key, got, want)
	}
}

func (r *modelRun) opRead() {
	bucket, key := r.pickBucket(), r.pickKey()
	vid := r.pickVersionID(bucket, key)
	want, werr := r.resolve(bucket, key, vid)
	got, err := r.s.Get(bucket, key, vid)
	r.expect("Get for read", err, werr)
	if want == nil {
		r.note("read", "%s/%q %q: none", bucket, key, vid)
		return
	}
	rd, err := r.s.NewReader(got)
	if want.dm {
		r.note("read", "%s/%q %q: delete marker", bucket, key, vid)
		r.expect("NewReader(delete marker)", err, ErrDeleteMarker)
		return
	}
	if err != nil {
		r.fail("NewReader: %v", err)
	}
	size := len(want.data)
	if rd.Size() != int64(size) {
		r.fail("reader size %d, want %d", rd.Size(), size)
	}
	for i := 0; i < 3; i++ {
		off := r.rng.IntN(size+3) - 1
		n := r.rng.IntN(size + 10)
		if r.rng.IntN(4) == 0 {
			n = r.rng.IntN(64)
		}
		r.note("read", "%s/%q %q [%d, +%d) of %d", bucket, key, vid, off, n, size)
		buf := make([]byte, n)
		got, err := rd.ReadAt(buf, int64(off))
		switch {
		case off < 0:
			r.expect("ReadAt(negative)", err, ErrInvalidRange)
		case off >= size:
			if got != 0 || !errors.Is(err, io.EOF) {
				r.fail("ReadAt(%d at %d) of %d bytes = %d, %v; want 0, EOF", n, off, size, got, err)
			}
		default:
			wantN := min(n, size-off)
			if got != wantN || (err != nil && !errors.Is(err, io.EOF)) || (wantN < n && err == nil) {
				r.fail("ReadAt(%d at %d) of %d bytes = %d, %v; want %d", n, off, size, got, err, wantN)
			}
			if !bytes.Equal(buf[:got], want.data[off:off+wantN]) {
				r.fail("ReadAt(%d at %d): content differs", n, off)
			}
		}
	}
}

// modelList is the model of a listing of current objects: entries (keys
// and common prefixes) in order, after `after`.
type mEntry struct {
	name   string
	prefix bool
	v      *mVersion
	latest bool
}

func rollup(key, prefix, delim string) string {
	if delim == "" || !strings.HasPrefix(key, prefix) {
		return ""
	}
	if i := strings.Index(key[len(prefix):], delim); i >= 0 {
		return key[:len(prefix)+i+len(delim)]
	}
	return ""
}

func sortedKeys(b *mBucket) []string {
	var ks []string
	for k, vs := range b.keys {
		if len(vs) > 0 {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

func (r *modelRun) modelList(bucket string, o ListOptions) []mEntry {
	b := r.buckets[bucket]
	var out []mEntry
	for _, k := range sortedKeys(b) {
		cur := b.current(k)
		if cur == nil || !strings.HasPrefix(k, o.Prefix) {
			continue
		}
		e := mEntry{name: k, v: cur}
		if cp := rollup(k, o.Prefix, o.Delimiter); cp != "" {
			e = mEntry{name: cp, prefix: true}
		}
		if e.name <= o.After {
			continue
		}
		if n := len(out); n > 0 && out[n-1].prefix && e.prefix && out[n-1].name == e.name {
			continue
		}
		out = append(out, e)
	}
	return out
}

func (r *modelRun) opList() {
	bucket := r.pickBucket()
	o := ListOptions{
		Prefix:    modelPrefixes[r.rng.IntN(len(modelPrefixes))],
		Delimiter: modelDelims[r.rng.IntN(len(modelDelims))],
		Max:       1 + r.rng.IntN(5),
	}
	if r.rng.IntN(4) == 0 {
		o.After = modelAfters[r.rng.IntN(len(modelAfters))]
	}
	if r.rng.IntN(10) == 0 {
		o.Max = 0 // the default, 1000
	}
	r.note("list", "%s %+v", bucket, o)
	if r.buckets[bucket] == nil {
		_, err := r.s.List(bucket, o)
		r.expect("List", err, ErrNoSuchBucket)
		return
	}
	max := o.Max
	if max == 0 {
		max = 1000
	}
	for page := 0; page < 15; page++ {
		want := r.modelList(bucket, o)
		res, err := r.s.List(bucket, o)
		if err != nil {
			r.fail("List %+v: %v", o, err)
		}
		trunc := len(want) > max
		if trunc {
			want = want[:max]
		}
		var gotNames, wantNames []string
		oi, pi := 0, 0
		// the store returns objects and prefixes separately; both in order
		for _, e := range want {
			wantNames = append(wantNames, e.name)
			if e.prefix {
				if pi >= len(res.Prefixes) || res.Prefixes[pi] != e.name {
					r.fail("List %+v page %d: prefixes %q, want entries %q", o, page, res.Prefixes, wantNames)
				}
				pi++
				continue
			}
			if oi >= len(res.Objects) {
				r.fail("List %+v page %d: %d objects, want more (entries %q)", o, page, len(res.Objects), wantNames)
			}
			r.checkVersion("List", bucket, e.name, res.Objects[oi], e.v)
			oi++
		}
		for _, v := range res.Objects {
			gotNames = append(gotNames, v.Key)
		}
		if oi != len(res.Objects) || pi != len(res.Prefixes) {
			r.fail("List %+v page %d: objects %q prefixes %q, want entries %q", o, page, gotNames, res.Prefixes, wantNames)
		}
		if res.Truncated != trunc {
			r.fail("List %+v page %d: truncated %v, want %v", o, page, res.Truncated, trunc)
		}
		if !trunc {
			if res.Next != "" {
				r.fail("List %+v: Next %q on the last page", o, res.Next)
			}
			break
		}
		if res.Next != want[len(want)-1].name {
			r.fail("List %+v page %d: Next %q, want %q", o, page, res.Next, want[len(want)-1].name)
		}
		o.After = res.Next
	}
}

// modelListVersions is the model of ListObjectVersions: every version of
// every key (newest first) and the common prefixes, after the markers.
func (r *modelRun) modelListVersions(bucket string, o VersionListOptions) ([]mEntry, error) {
	b := r.buckets[bucket]
	markerKey := ""
	if o.KeyMarker != "" && o.KeyMarker >= o.Prefix {
		markerKey = o.KeyMarker
	}
	// A version-id marker is a position (issue 17): versions of markerKey
	// older than the version it names are listed, whether or not that
	// version is still there. A gone null version has no position: all
	// versions of markerKey are listed.
	markerSeq := ^uint64(0)
	if markerKey != "" && o.VersionIDMarker != "" {
		if o.VersionIDMarker == NullVersionID {
			if nv := b.null(markerKey); nv != nil {
				markerSeq = nv.seq
			}
		} else {
			seq, err := parseVersionID(o.VersionIDMarker)
			if err != nil {
				return nil, ErrInvalidVersionID
			}
			markerSeq = seq
		}
	}
	var out []mEntry
	for _, k := range sortedKeys(b) {
		if !strings.HasPrefix(k, o.Prefix) {
			continue
		}
		if cp := rollup(k, o.Prefix, o.Delimiter); cp != "" {
			if markerKey != "" && cp <= markerKey {
				continue
			}
			if n := len(out); n > 0 && out[n-1].prefix && out[n-1].name == cp {
				continue
			}
			out = append(out, mEntry{name: cp, prefix: true})
			continue
		}
		for i, v := range b.keys[k] {
			if markerKey != "" && (k < markerKey || k == markerKey && (o.VersionIDMarker == "" || v.seq >= markerSeq)) {
				continue
			}
			out = append(out, mEntry{name: k, v: v, latest: i == 0})
		}
	}
	return out, nil
}

func (r *modelRun) opListVersions() {
	bucket := r.pickBucket()
	o := VersionListOptions{
		Prefix:    modelPrefixes[r.rng.IntN(len(modelPrefixes))],
		Delimiter: modelDelims[r.rng.IntN(len(modelDelims))],
		Max:       1 + r.rng.IntN(6),
	}
	if r.rng.IntN(4) == 0 {
		o.KeyMarker = modelAfters[r.rng.IntN(len(modelAfters))]
		if r.rng.IntN(2) == 0 {
			o.KeyMarker = modelKeys[r.rng.IntN(len(modelKeys))]
			o.VersionIDMarker = r.pickVersionID(bucket, o.KeyMarker)
		}
	}
	r.note("list-versions", "%s %+v", bucket, o)
	if r.buckets[bucket] == nil {
		_, err := r.s.ListVersions(bucket, o)
		r.expect("ListVersions", err, ErrNoSuchBucket)
		return
	}
	for page := 0; page < 15; page++ { // the first pages of long listings
		want, werr := r.modelListVersions(bucket, o)
		res, err := r.s.ListVersions(bucket, o)
		if !r.expect(fmt.Sprintf("ListVersions %+v", o), err, werr) {
			return
		}
		trunc := len(want) > o.Max
		if trunc {
			want = want[:o.Max]
		}
		oi, pi := 0, 0
		for _, e := range want {
			if e.prefix {
				if pi >= len(res.Prefixes) || res.Prefixes[pi] != e.name {
					r.fail("ListVersions %+v page %d: prefixes %q, want %q next", o, page, res.Prefixes, e.name)
				}
				pi++
				continue
			}
			if oi >= len(res.Versions) {
				r.fail("ListVersions %+v page %d: %d versions, want more (%s %s)", o, page, len(res.Versions), e.name, e.v.id)
			}
			r.checkVersion("ListVersions", bucket, e.name, res.Versions[oi], e.v)
			if res.IsLatest[oi] != e.latest {
				r.fail("ListVersions %+v page %d: %s %s latest %v, want %v", o, page, e.name, e.v.id, res.IsLatest[oi], e.latest)
			}
			oi++
		}
		if oi != len(res.Versions) || pi != len(res.Prefixes) || len(res.IsLatest) != len(res.Versions) {
			r.fail("ListVersions %+v page %d: %d versions %d prefixes, want %d and %d", o, page, len(res.Versions), len(res.Prefixes), oi, pi)
		}
		if res.Truncated != trunc {
			r.fail("ListVersions %+v page %d: truncated %v, want %v", o, page, res.Truncated, trunc)
		}
		if !trunc {
			if res.NextKeyMarker != "" || res.NextVersionIDMarker != "" {
				r.fail("ListVersions %+v: next markers on the last page", o)
			}
			return
		}
		last := want[len(want)-1]
		wantVID := ""
		if !last.prefix {
			wantVID = last.v.id
		}
		if res.NextKeyMarker != last.name || res.NextVersionIDMarker != wantVID {
			r.fail("ListVersions %+v page %d: next %q %q, want %q %q", o, page, res.NextKeyMarker, res.NextVersionIDMarker, last.name, wantVID)
		}
		o.KeyMarker, o.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
	}
}

func (r *modelRun) opVersions() {
	bucket, key := r.pickBucket(), r.pickKey()
	r.note("versions", "%s/%q", bucket, key)
	got, err := r.s.Versions(bucket, key)
	b := r.buckets[bucket]
	if b == nil {
		r.expect("Versions", err, ErrNoSuchBucket)
		return
	}
	if err != nil {
		r.fail("Versions: %v", err)
	}
	r.checkVersions(bucket, key, got)
}

func (r *modelRun) checkVersions(bucket, key string, got []*Version) {
	r.t.Helper()
	want := r.buckets[bucket].keys[key]
	if len(got) != len(want) {
		var ids []string
		for _, v := range got {
			ids = append(ids, v.ID)
		}
		var wids []string
		for _, v := range want {
			wids = append(wids, v.id)
		}
		r.fail("Versions %s/%q: %v, want %v", bucket, key, ids, wids)
	}
	for i := range got {
		r.checkVersion("Versions", bucket, key, got[i], want[i])
	}
}

// opBucket creates and deletes a scratch bucket, and checks the bucket
// errors.
func (r *modelRun) opBucket() {
	const tmp = "tmp-bucket"
	b := r.buckets[tmp]
	switch p := r.rng.IntN(6); {
	case p == 0:
		name := []string{"ab", "Upper", "a..b", "192.168.0.1", "-x-", strings.Repeat("x", 64)}[r.rng.IntN(6)]
		r.note("bucket", "create invalid %q", name)
		_, err := r.s.CreateBucket(name, BucketOptions{}, Actor{})
		r.expect("CreateBucket", err, ErrInvalidBucketName)
	case b == nil:
		o := BucketOptions{Versioning: []string{VersioningOff, VersioningEnabled, VersioningSuspended}[r.rng.IntN(3)], ObjectLock: r.rng.IntN(3) == 0}
		r.note("bucket", "create %s %+v", tmp, o)
		if _, err := r.s.CreateBucket(tmp, o, Actor{}); err != nil {
			r.fail("CreateBucket: %v", err)
		}
		mb := &mBucket{versioning: o.Versioning, lock: o.ObjectLock, keys: map[string][]*mVersion{}}
		if o.ObjectLock {
			mb.versioning = VersioningEnabled
		}
		r.buckets[tmp] = mb
		_, err := r.s.CreateBucket(tmp, o, Actor{})
		r.expect("CreateBucket again", err, ErrBucketExists)
		// a few objects, sometimes
		if r.rng.IntN(2) == 0 {
			key := r.pickKey()
			if modelKeyErr(key) == nil {
				w, _ := r.s.NewWriter(tmp, key, nil)
				r.publishWriter("put into "+tmp, tmp, key, w, nil, PublishOptions{})
			}
		}
	default:
		r.note("bucket", "delete %s (empty %v)", tmp, b.empty())
		var werr error
		if !b.empty() {
			werr = ErrBucketNotEmpty
		}
		err := r.s.DeleteBucket(tmp, Actor{})
		if r.expect("DeleteBucket", err, werr) {
			delete(r.buckets, tmp)
			_, err := r.s.GetBucket(tmp)
			r.expect("GetBucket after delete", err, ErrNoSuchBucket)
			return
		}
		// empty it where the locks allow, for a later try
		for key, vs := range b.keys {
			for _, v := range append([]*mVersion(nil), vs...) {
				by := lockctl.Bypass{Requested: true, Allowed: true}
				var werr error
				if protectedFromDelete(v, r.now(), by) {
					werr = lockctl.ErrProtected
				}
				_, err := r.s.DeleteVersion(tmp, key, v.id, Actor{Bypass: by})
				if r.expect("DeleteVersion (emptying)", err, werr) {
					b.remove(key, v)
				}
			}
		}
	}
}

// opHuge writes a multi-chunk object (more chunks than a writer keeps in
// memory), rewrites it scattered, appends and truncates, then deletes the
// versions again so that the model stays small.
func (r *modelRun) opHuge() {
	const bucket, key = "huge", "big/object"
	b := r.buckets[bucket]
	size := 4*ChunkSize + 1 + r.rng.IntN(ChunkSize/2) // five chunks: more than a writer buffers
	data := r.data(size)
	r.note("huge", "%d bytes", size)
	w, err := r.s.NewWriter(bucket, key, nil)
	if err != nil {
		r.fail("NewWriter: %v", err)
	}
	for off := 0; off < size; off += 256 << 10 {
		r.write(w, data[off:min(off+256<<10, size)], int64(off))
	}
	r.publishWriter("huge put", bucket, key, w, append([]byte(nil), data...), PublishOptions{})
	w.Abort()
	for step := 0; step < 3; step++ {
		cur, err := r.s.Get(bucket, key, "")
		if err != nil {
			r.fail("Get: %v", err)
		}
		r.checkVersion("huge Get", bucket, key, cur, b.keys[key][0])
		data = append([]byte(nil), b.keys[key][0].data...)
		if w, err = r.s.NewWriter(bucket, key, cur); err != nil {
			r.fail("NewWriter: %v", err)
		}
		switch step {
		case 0: // scattered writes over every chunk, more than maxDirty
			for i := 0; i < 12; i++ {
				off := r.rng.IntN(len(data))
				p := r.data(1 + r.rng.IntN(5000))
				r.write(w, p, int64(off))
				data = apply(data, p, off)
			}
		case 1:
			p := r.data(r.rng.IntN(ChunkSize / 2))
			r.write(w, p, int64(len(data)))
			data = append(data, p...)
		case 2:
			n := r.rng.IntN(len(data) + 1)
			if err := w.Truncate(int64(n)); err != nil {
				r.fail("Truncate: %v", err)
			}
			data = data[:n]
		}
		r.checkWriterContent(w, data)
		r.publishWriter(fmt.Sprintf("huge step %d", step), bucket, key, w, append([]byte(nil), data...), PublishOptions{})
		w.Abort()
	}
	// read every version back in full, then delete them all
	got, err := r.s.Versions(bucket, key)
	if err != nil {
		r.fail("Versions: %v", err)
	}
	r.checkVersions(bucket, key, got)
	for i, v := range got {
		r.checkContent(v, b.keys[key][i].data)
		if _, err := r.s.DeleteVersion(bucket, key, v.ID, Actor{}); err != nil {
			r.fail("DeleteVersion: %v", err)
		}
	}
	b.keys[key] = nil
}

func (r *modelRun) checkContent(v *Version, want []byte) {
	r.t.Helper()
	rd, err := r.s.NewReader(v)
	if err != nil {
		r.fail("NewReader %s/%s %s: %v", v.Bucket, v.Key, v.ID, err)
	}
	buf := make([]byte, len(want)+1)
	n, err := rd.ReadAt(buf, 0)
	if n != len(want) || (len(want) > 0 && !errors.Is(err, io.EOF)) || !bytes.Equal(buf[:n], want) {
		r.fail("content of %s/%s %s: %d bytes (%v), want %d bytes, equal %v", v.Bucket, v.Key, v.ID, n, err, len(want), bytes.Equal(buf[:n], want))
	}
}

// checkpoint compares the whole store with the model: every version of
// every key with its content, then closes the store, runs Fsck, reopens
// it and checks that the staged data was reclaimed.
func (r *modelRun) checkpoint() {
	r.note("checkpoint", "")
	r.count["checkpoint"]++
	names := []string{}
	for name := range r.buckets {
		names = append(names, name)
	}
	sort.Strings(names)
	gotBuckets, err := r.s.ListBuckets()
	if err != nil {
		r.fail("ListBuckets: %v", err)
	}
	var gotNames []string
	for _, b := range gotBuckets {
		gotNames = append(gotNames, b.Name)
	}
	if strings.Join(gotNames, ",") != strings.Join(names, ",") {
		r.fail("ListBuckets = %v, want %v", gotNames, names)
	}
	versions := 0
	for _, name := range names {
		r.checkBucket(name)
		b := r.buckets[name]
		// every key the store knows must be in the model
		res, err := r.s.ListVersions(name, VersionListOptions{Max: 100000})
		if err != nil {
			r.fail("ListVersions: %v", err)
		}
		n := 0
		for _, vs := range b.keys {
			n += len(vs)
		}
		if len(res.Versions) != n {
			r.fail("bucket %s holds %d versions, the model %d", name, len(res.Versions), n)
		}
		for _, key := range sortedKeys(b) {
			got, err := r.s.Versions(name, key)
			if err != nil {
				r.fail("Versions: %v", err)
			}
			r.checkVersions(name, key, got)
			for i, v := range got {
				if !v.DeleteMarker {
					r.checkContent(v, b.keys[key][i].data)
				}
				versions++
			}
		}
	}
	st, err := r.s.Stats()
	if err != nil {
		r.fail("Stats: %v", err)
	}
	if st.StagedChunks != 0 {
		r.fail("%d staged chunks left after every writer published or aborted", st.StagedChunks)
	}
	if n, err := r.s.VerifyAudit(); err != nil || n == 0 {
		r.fail("VerifyAudit = %d, %v", n, err)
	}
	r.s.Now() // the clock reading to persist
	if err := r.s.Close(); err != nil {
		r.fail("Close: %v", err)
	}
	r.s = nil
	var problems []string
	fst, err := Fsck(r.dir, func(p Problem) { problems = append(problems, p.String()) })
	if err != nil || len(problems) > 0 {
		r.fail("Fsck: %v; problems:\n%s", err, strings.Join(problems, "\n"))
	}
	if fst.Versions+fst.DeleteMarkers != versions {
		r.fail("Fsck counted %d versions and %d markers, the model has %d", fst.Versions, fst.DeleteMarkers, versions)
	}
	r.open()
	if r.s.Reclaimed() != 0 {
		r.fail("reopen reclaimed %d staged chunks, want 0", r.s.Reclaimed())
	}
	if got := r.s.Now(); !got.Equal(r.now()) {
		r.fail("compliance clock after reopen %v, want %v", got, r.now())
	}
	r.t.Logf("checkpoint at op %d: %d buckets, %d versions, %d chunks, %d bytes stored, %d audit records",
		r.opN, len(names), versions, st.Chunks, st.StoredBytes, fst.AuditRecords)
}
