package integration

// The load generator of the reliability tests: writers through the mount
// and over S3 at once against one running daemon, each writer owning its
// keys, with object sizes from 0 B to 64 MiB (mostly small), overwrites,
// appends (O_APPEND through the mount), deletes, permanent deletes of old
// unprotected versions, retention and legal hold (xattrs in the mount, the
// S3 calls over the listener).
//
// Every ACKNOWLEDGED change is recorded in memory and in a JSON-lines log
// fsynced after each ack: a write is acknowledged when close() or fsync()
// returned 0 in the mount (its version id is then read from
// user.s3.version-id; the key has one writer, so that is the version just
// written) or when PutObject returned 200 with a version id. Before each
// change its intent is recorded: the sha256 of the complete content the new
// version would have, so that a version that is visible but was never
// acknowledged (the daemon was killed after the commit and before the
// answer) can be told apart from a torn one.
//
// verify then checks the store through both views against the record:
// every acknowledged version is listed and byte-identical (GetObject by
// version id), in acknowledgement order, with the lock state last
// acknowledged; a version that was never acknowledged is allowed only when
// its bytes hash to a complete intended payload of that key that was never
// acknowledged (a delete marker only when a delete was in flight); the
// mount shows the latest version's bytes and id.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// lgConfig shapes one run of the generator.
type lgConfig struct {
	Bucket        string
	Prefix        string // key prefix of this run (one per crash round)
	MountWriters  int
	S3Writers     int
	KeysPerWriter int
	MaxOps        int64 // stop after this many operations in all (0: until the context ends)
	Seed          int64
	// Size draws an object size; nil: lgSize.
	Size func(r *rand.Rand) int
	// Large makes the n-th write of writer 0 a 64 MiB one (n ≥ 0; -1: none).
	Large int
	// Reads adds read-back checks, listings and stats to the mix (soak).
	Reads bool
}

// lgLock is the lock state of a version.
type lgLock struct {
	Mode  string    `json:"mode,omitempty"`
	Until time.Time `json:"until,omitzero"`
	Hold  bool      `json:"hold,omitempty"`
}

func (l lgLock) String() string {
	return fmt.Sprintf("%s/%s/hold=%v", l.Mode, l.Until.UTC().Format(time.RFC3339), l.Hold)
}

func (l lgLock) protected(now time.Time) bool { return l.Hold || now.Before(l.Until) }

// lgVer is one acknowledged version or delete marker.
type lgVer struct {
	ID      string // "" when the mount ack could not read it (killed right after close)
	DM      bool
	SHA     string
	Size    int64
	Lock    lgLock
	LockAlt []lgLock // lock states also allowed: a lock change in flight at the kill
	Purged  bool     // permanent delete acknowledged
	Purging bool     // permanent delete in flight at the kill
}

// lgKey is the record of one key, owned by one writer.
type lgKey struct {
	Bucket, Key string
	View        string // "mount" or "s3"
	Versions    []*lgVer
	// unacked counts the complete contents (by sha256) that were intended
	// and never acknowledged; unackedDeletes the deletes likewise.
	unacked        map[string]int
	unackedDeletes int

	cur    []byte // content of the current version (nil: none or a delete marker)
	curVer *lgVer
}

// lgRecord is one line of the ack log.
type lgRecord struct {
	Seq    int64     `json:"seq"`
	Phase  string    `json:"phase"` // intent, ack
	At     time.Time `json:"at"`
	Writer int       `json:"writer"`
	View   string    `json:"view"`
	Op     string    `json:"op"`
	Bucket string    `json:"bucket"`
	Key    string    `json:"key"`
	ID     string    `json:"versionId,omitempty"`
	SHA    string    `json:"sha256,omitempty"`
	Size   int64     `json:"size,omitempty"`
	Lock   *lgLock   `json:"lock,omitempty"`
}

// loadgen is the generator with its record.
type loadgen struct {
	t      *testing.T
	mnt    string
	client *s3.Client

	logMu sync.Mutex
	logF  *os.File

	keys    []*lgKey // every key of every run, in creation order
	seq     atomic.Int64
	ops     atomic.Int64
	acks    atomic.Int64
	opCount sync.Map // op name → *atomic.Int64
	bytes   atomic.Int64

	// down is set just before the daemon is killed: failures after it
	// are expected.
	down atomic.Bool

	errMu  sync.Mutex
	errors []string // failures and mismatches while the daemon was up
}

func newLoadgen(t *testing.T, logPath string) *loadgen {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &loadgen{t: t, logF: f}
}

// attach points the generator at a (re)started daemon.
func (g *loadgen) attach(mnt string, client *s3.Client) {
	g.mnt, g.client = mnt, client
	g.down.Store(false)
}

func (g *loadgen) record(r lgRecord, sync bool) {
	r.Seq, r.At = g.seq.Add(1), time.Now().UTC()
	b, _ := json.Marshal(r)
	g.logMu.Lock()
	defer g.logMu.Unlock()
	g.logF.Write(append(b, '\n'))
	if sync {
		g.logF.Sync()
	}
}

func (g *loadgen) failf(format string, args ...any) {
	g.errMu.Lock()
	defer g.errMu.Unlock()
	if len(g.errors) < 50 {
		g.errors = append(g.errors, fmt.Sprintf(format, args...))
	}
}

func (g *loadgen) count(op string) {
	c, _ := g.opCount.LoadOrStore(op, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
}

// opSummary is "op=n" for every operation acknowledged, sorted.
func (g *loadgen) opSummary() string {
	var parts []string
	g.opCount.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// lgSize is the default size mix: mostly small, a few large, rarely 64 MiB.
func lgSize(r *rand.Rand) int {
	p := r.Float64()
	switch {
	case p < 0.05:
		return 0
	case p < 0.55:
		return 1 + r.Intn(4096)
	case p < 0.85:
		return 4096 + r.Intn(124<<10)
	case p < 0.97:
		return 128<<10 + r.Intn(2<<20)
	case p < 0.997:
		return 2<<20 + r.Intn(14<<20)
	default:
		return 64 << 20
	}
}

// lgPayload is a self-identifying payload: the 16-byte tag of writer and
// sequence repeated to size bytes.
func lgPayload(writer int, seq int64, size int) []byte {
	tag := []byte(fmt.Sprintf("<W%02dS%010d>", writer%100, seq%1e10))
	if size == 0 {
		return []byte{}
	}
	b := bytes.Repeat(tag, size/len(tag)+1)
	return b[:size]
}

// lgPayloadOwner parses the tag at the start of b and tells whether the
// whole of b is that one payload.
func lgPayloadOwner(b []byte) (writer int, seq int64, whole bool) {
	if len(b) < 16 {
		return -1, -1, len(b) == 0
	}
	if _, err := fmt.Sscanf(string(b[:16]), "<W%02dS%010d>", &writer, &seq); err != nil {
		return -1, -1, false
	}
	return writer, seq, bytes.Equal(b, lgPayload(writer, seq, len(b)))
}

func shaHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// run runs the writers of cfg until ctx ends or cfg.MaxOps operations were
// done. It returns when every writer stopped. Keys are new for each run.
func (g *loadgen) run(ctx context.Context, cfg lgConfig) {
	if cfg.Size == nil {
		cfg.Size = lgSize
	}
	if cfg.KeysPerWriter == 0 {
		cfg.KeysPerWriter = 3
	}
	var wg sync.WaitGroup
	n := cfg.MountWriters + cfg.S3Writers
	for w := 0; w < n; w++ {
		view := "mount"
		if w >= cfg.MountWriters {
			view = "s3"
		}
		var keys []*lgKey
		for i := 0; i < cfg.KeysPerWriter; i++ {
			k := &lgKey{Bucket: cfg.Bucket, Key: fmt.Sprintf("%sw%02d-%s/k%02d", cfg.Prefix, w, view, i), View: view, unacked: map[string]int{}}
			keys = append(keys, k)
			g.keys = append(g.keys, k)
		}
		wr := &lgWriter{g: g, id: w, view: view, keys: keys, cfg: cfg, rnd: rand.New(rand.NewSource(cfg.Seed + int64(w)*7919))}
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr.loop(ctx)
		}()
	}
	wg.Wait()
}

type lgWriter struct {
	g      *loadgen
	id     int
	view   string
	keys   []*lgKey
	cfg    lgConfig
	rnd    *rand.Rand
	nwrite int
	seq    int64
}

func (w *lgWriter) loop(ctx context.Context) {
	for ctx.Err() == nil {
		if w.cfg.MaxOps > 0 && w.g.ops.Add(1) > w.cfg.MaxOps {
			return
		}
		k := w.keys[w.rnd.Intn(len(w.keys))]
		var err error
		if w.view == "mount" {
			err = w.mountOp(ctx, k)
		} else {
			err = w.s3Op(ctx, k)
		}
		if err != nil && ctx.Err() == nil && !w.g.down.Load() && !errors.Is(err, errSkip) {
			// The daemon is up (the context would have ended at a kill):
			// an operation that fails is a finding.
			w.g.failf("writer %d %s %s: %v", w.id, w.view, k.Key, err)
		}
		if w.cfg.MaxOps == 0 {
			w.g.ops.Add(1)
		}
	}
}

var errSkip = errors.New("skipped")

func (w *lgWriter) nextSize() int {
	defer func() { w.nwrite++ }()
	if w.id == 0 && w.nwrite == w.cfg.Large {
		return 64 << 20
	}
	return w.cfg.Size(w.rnd)
}

func (w *lgWriter) payload(size int) []byte {
	w.seq++
	return lgPayload(w.id, w.seq, size)
}

// until is a retain-until date that only grows: now + 1 day + a second per
// operation, so a change never shortens a lock.
func (w *lgWriter) until() time.Time {
	return time.Now().Add(24*time.Hour + time.Duration(w.g.seq.Load())*time.Second).UTC().Truncate(time.Second)
}

func (w *lgWriter) intent(k *lgKey, op, sha string, size int64) {
	if op == "delete" {
		k.unackedDeletes++
	} else if sha != "" {
		k.unacked[sha]++
	}
	w.g.record(lgRecord{Phase: "intent", Writer: w.id, View: w.view, Op: op, Bucket: k.Bucket, Key: k.Key, SHA: sha, Size: size}, false)
}

// ackVersion records an acknowledged new version (or delete marker) and
// makes it the key's current one.
func (w *lgWriter) ackVersion(k *lgKey, op string, v *lgVer, content []byte) {
	if v.DM {
		k.unackedDeletes--
		k.cur = nil
	} else {
		k.unacked[v.SHA]--
		k.cur = content
	}
	k.Versions = append(k.Versions, v)
	k.curVer = v
	w.g.acks.Add(1)
	w.g.count(w.view + "." + op)
	w.g.bytes.Add(v.Size)
	lock := v.Lock
	w.g.record(lgRecord{Phase: "ack", Writer: w.id, View: w.view, Op: op, Bucket: k.Bucket, Key: k.Key, ID: v.ID, SHA: v.SHA, Size: v.Size, Lock: &lock}, true)
}

func (w *lgWriter) ackLock(k *lgKey, op string, v *lgVer) {
	w.g.acks.Add(1)
	w.g.count(w.view + "." + op)
	lock := v.Lock
	w.g.record(lgRecord{Phase: "ack", Writer: w.id, View: w.view, Op: op, Bucket: k.Bucket, Key: k.Key, ID: v.ID, Lock: &lock}, true)
}

// lockChange applies a lock change to v around the call: while in flight,
// both the old and the new state are allowed; once acknowledged, only the
// new one.
func (w *lgWriter) lockChange(k *lgKey, op string, v *lgVer, next lgLock, call func() error) error {
	old := v.Lock
	v.LockAlt = append(v.LockAlt, next)
	w.g.record(lgRecord{Phase: "intent", Writer: w.id, View: w.view, Op: op, Bucket: k.Bucket, Key: k.Key, ID: v.ID, Lock: &next}, false)
	if err := call(); err != nil {
		return err
	}
	v.Lock, v.LockAlt = next, nil
	_ = old
	w.ackLock(k, op, v)
	return nil
}

func (w *lgWriter) path(k *lgKey) string { return filepath.Join(w.g.mnt, k.Bucket, k.Key) }

func (w *lgWriter) mountOp(ctx context.Context, k *lgKey) error {
	p := w.rnd.Intn(100)
	live := k.curVer != nil && !k.curVer.DM
	switch {
	case p < 40:
		return w.mountWrite(k, false, w.rnd.Intn(5) == 0)
	case p < 55:
		return w.mountWrite(k, true, false)
	case p < 62:
		if !live {
			return errSkip
		}
		w.intent(k, "delete", "", 0)
		if err := os.Remove(w.path(k)); err != nil {
			return err
		}
		w.ackVersion(k, "delete", &lgVer{DM: true}, nil)
		return nil
	case p < 70:
		if !live || k.curVer.ID == "" {
			return errSkip
		}
		v := k.curVer
		next := v.Lock
		if next.Mode == "" {
			next.Mode = []string{"GOVERNANCE", "COMPLIANCE"}[w.rnd.Intn(4)/3]
		}
		next.Until = w.until()
		return w.lockChange(k, "retention", v, next, func() error {
			return syscall.Setxattr(w.path(k), "user.s3.retention", []byte(next.Mode+" "+next.Until.Format(time.RFC3339)), 0)
		})
	case p < 78:
		if !live || k.curVer.ID == "" {
			return errSkip
		}
		v := k.curVer
		next := v.Lock
		next.Hold = !next.Hold
		val := map[bool]string{true: "ON", false: "OFF"}[next.Hold]
		return w.lockChange(k, "legalhold", v, next, func() error {
			return syscall.Setxattr(w.path(k), "user.s3.legalhold", []byte(val), 0)
		})
	default:
		if !w.cfg.Reads {
			return w.mountWrite(k, false, false)
		}
		return w.mountRead(k)
	}
}

// mountWrite overwrites (O_TRUNC) or appends (O_APPEND) through the mount;
// with fsync the ack is fsync's success.
func (w *lgWriter) mountWrite(k *lgKey, appendMode, useFsync bool) error {
	size := w.nextSize()
	if appendMode && size > 16<<20 {
		size = 1 << 20
	}
	if appendMode && size == 0 {
		size = 1 // appending nothing makes no version (a flush with nothing new)
	}
	if size == 0 && !appendMode {
		// An O_TRUNC (or a create) with no write is published by RELEASE,
		// which the kernel sends after close() returned: only fsync makes
		// it an acknowledged version (see TestReliabilityTruncateAtClose).
		useFsync = true
	}
	data := w.payload(size)
	content := data
	op := "write"
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendMode {
		op = "append"
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
		if k.cur != nil {
			content = append(append(make([]byte, 0, len(k.cur)+len(data)), k.cur...), data...)
		}
	}
	if useFsync {
		op += "+fsync"
	}
	sha := shaHex(content)
	w.intent(k, op, sha, int64(len(content)))
	if err := os.MkdirAll(filepath.Dir(w.path(k)), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(w.path(k), flags, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if useFsync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	v := &lgVer{SHA: sha, Size: int64(len(content))}
	buf := make([]byte, 256)
	if n, err := syscall.Getxattr(w.path(k), "user.s3.version-id", buf); err == nil {
		v.ID = string(buf[:n])
	}
	w.ackVersion(k, op, v, content)
	if v.ID == "" {
		return fmt.Errorf("%s acknowledged but user.s3.version-id unreadable", op)
	}
	return nil
}

func (w *lgWriter) mountRead(k *lgKey) error {
	b, err := os.ReadFile(w.path(k))
	live := k.curVer != nil && !k.curVer.DM
	switch {
	case !live && errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !live:
		return fmt.Errorf("read gives %d bytes, want ENOENT (deleted)", len(b))
	case shaHex(b) != k.curVer.SHA:
		return fmt.Errorf("read gives %d bytes sha %s, want the acknowledged %d bytes", len(b), shaHex(b)[:12], k.curVer.Size)
	}
	w.g.count("mount.read")
	return nil
}

func (w *lgWriter) s3Op(ctx context.Context, k *lgKey) error {
	p := w.rnd.Intn(100)
	live := k.curVer != nil && !k.curVer.DM
	c := w.g.client
	b, key := aws.String(k.Bucket), aws.String(k.Key)
	switch {
	case p < 45:
		return w.s3Put(ctx, k, false)
	case p < 50:
		return w.s3Put(ctx, k, true)
	case p < 56:
		if !live {
			return errSkip
		}
		w.intent(k, "delete", "", 0)
		out, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: key})
		if err != nil {
			return err
		}
		w.ackVersion(k, "delete", &lgVer{DM: true, ID: aws.ToString(out.VersionId)}, nil)
		return nil
	case p < 63:
		// Permanent delete of an old, unprotected version.
		var cands []*lgVer
		now := time.Now()
		for _, v := range k.Versions {
			if v != k.curVer && !v.DM && !v.Purged && !v.Purging && v.ID != "" && !v.Lock.protected(now) && len(v.LockAlt) == 0 {
				cands = append(cands, v)
			}
		}
		if len(cands) == 0 {
			return errSkip
		}
		v := cands[w.rnd.Intn(len(cands))]
		v.Purging = true
		w.g.record(lgRecord{Phase: "intent", Writer: w.id, View: w.view, Op: "purge", Bucket: k.Bucket, Key: k.Key, ID: v.ID}, false)
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: key, VersionId: aws.String(v.ID)}); err != nil {
			return err
		}
		v.Purged, v.Purging = true, false
		w.g.acks.Add(1)
		w.g.count("s3.purge")
		w.g.record(lgRecord{Phase: "ack", Writer: w.id, View: w.view, Op: "purge", Bucket: k.Bucket, Key: k.Key, ID: v.ID}, true)
		return nil
	case p < 71:
		v := w.pickVersion(k)
		if v == nil {
			return errSkip
		}
		next := v.Lock
		if next.Mode == "" {
			next.Mode = []string{"GOVERNANCE", "COMPLIANCE"}[w.rnd.Intn(4)/3]
		}
		next.Until = w.until()
		return w.lockChange(k, "retention", v, next, func() error {
			_, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: b, Key: key, VersionId: aws.String(v.ID),
				Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionMode(next.Mode), RetainUntilDate: aws.Time(next.Until)}})
			return err
		})
	case p < 79:
		v := w.pickVersion(k)
		if v == nil {
			return errSkip
		}
		next := v.Lock
		next.Hold = !next.Hold
		st := map[bool]types.ObjectLockLegalHoldStatus{true: types.ObjectLockLegalHoldStatusOn, false: types.ObjectLockLegalHoldStatusOff}[next.Hold]
		return w.lockChange(k, "legalhold", v, next, func() error {
			_, err := c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: b, Key: key, VersionId: aws.String(v.ID),
				LegalHold: &types.ObjectLockLegalHold{Status: st}})
			return err
		})
	default:
		if !w.cfg.Reads {
			return w.s3Put(ctx, k, false)
		}
		return w.s3Read(ctx, k)
	}
}

// pickVersion picks a version of k to change the lock of: a live one,
// with a known id, no other change in flight.
func (w *lgWriter) pickVersion(k *lgKey) *lgVer {
	var cands []*lgVer
	for _, v := range k.Versions {
		if !v.DM && !v.Purged && !v.Purging && v.ID != "" {
			cands = append(cands, v)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	// Mostly the newest ones.
	i := len(cands) - 1 - w.rnd.Intn(min(len(cands), 3))
	return cands[i]
}

func (w *lgWriter) s3Put(ctx context.Context, k *lgKey, withLock bool) error {
	data := w.payload(w.nextSize())
	sha := shaHex(data)
	op := "put"
	in := &s3.PutObjectInput{Bucket: aws.String(k.Bucket), Key: aws.String(k.Key), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))}
	var lock lgLock
	if withLock {
		op = "put+lock"
		lock = lgLock{Mode: "GOVERNANCE", Until: w.until(), Hold: w.rnd.Intn(2) == 0}
		in.ObjectLockMode = types.ObjectLockModeGovernance
		in.ObjectLockRetainUntilDate = aws.Time(lock.Until)
		if lock.Hold {
			in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn
		}
	}
	w.intent(k, op, sha, int64(len(data)))
	out, err := w.g.client.PutObject(ctx, in)
	if err != nil {
		return err
	}
	v := &lgVer{ID: aws.ToString(out.VersionId), SHA: sha, Size: int64(len(data)), Lock: lock}
	w.ackVersion(k, op, v, data)
	if v.ID == "" {
		return errors.New("PutObject answered 200 without a version id")
	}
	return nil
}

func (w *lgWriter) s3Read(ctx context.Context, k *lgKey) error {
	c := w.g.client
	switch w.rnd.Intn(3) {
	case 0:
		_, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(k.Bucket), Prefix: aws.String(k.Key)})
		if err == nil {
			w.g.count("s3.list")
		}
		return err
	case 1:
		v := w.pickVersion(k)
		if v == nil {
			return errSkip
		}
		got, err := lgGetSHA(ctx, c, k.Bucket, k.Key, v.ID)
		if err != nil {
			return err
		}
		if got != v.SHA {
			return fmt.Errorf("GetObject %s: sha %s, want the acknowledged %s", v.ID, got[:12], v.SHA[:12])
		}
		w.g.count("s3.get")
		return nil
	default:
		live := k.curVer != nil && !k.curVer.DM
		out, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(k.Bucket), Key: aws.String(k.Key)})
		if !live {
			if err == nil {
				return errors.New("HeadObject of a deleted key succeeded")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if aws.ToString(out.VersionId) != k.curVer.ID {
			return fmt.Errorf("HeadObject gives version %s, want %s", aws.ToString(out.VersionId), k.curVer.ID)
		}
		w.g.count("s3.head")
		return nil
	}
}

// lgGetSHA reads a version over S3 and returns the sha256 of its bytes.
func lgGetSHA(ctx context.Context, c *s3.Client, bucket, key, vid string) (string, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	out, err := c.GetObject(ctx, in)
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, out.Body); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func lgSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// lgListed is one entry of ListObjectVersions.
type lgListed struct {
	ID     string
	DM     bool
	Size   int64
	Latest bool
}

// listAll lists every version of the bucket, grouped by key, newest first.
func (g *loadgen) listAll(ctx context.Context, bucket string) (map[string][]lgListed, error) {
	out := map[string][]lgListed{}
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1000)}
	for {
		res, err := g.client.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, v := range res.Versions {
			k := aws.ToString(v.Key)
			out[k] = append(out[k], lgListed{ID: aws.ToString(v.VersionId), Size: aws.ToInt64(v.Size), Latest: aws.ToBool(v.IsLatest)})
		}
		for _, m := range res.DeleteMarkers {
			k := aws.ToString(m.Key)
			out[k] = append(out[k], lgListed{ID: aws.ToString(m.VersionId), DM: true, Latest: aws.ToBool(m.IsLatest)})
		}
		if !aws.ToBool(res.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = res.NextKeyMarker, res.NextVersionIdMarker
	}
	// Versions and delete markers come in two lists; wormfs version ids
	// are the commit sequence in fixed-width hex, so newest first is
	// descending id order.
	for _, es := range out {
		sort.Slice(es, func(i, j int) bool { return es[i].ID > es[j].ID })
	}
	return out, nil
}

// lgVerifyStats are the figures of one verification.
type lgVerifyStats struct {
	Keys, Acked, Listed, Unacked, UnackedDM, Purged, Locks int
	Bytes                                                  int64
}

// verify checks the running daemon against the record; it returns the
// problems found (empty: everything acknowledged is there, intact, and
// nothing torn is visible).
func (g *loadgen) verify(ctx context.Context, bucket string, keys []*lgKey) ([]string, lgVerifyStats) {
	var st lgVerifyStats
	var probs []string
	var mu sync.Mutex
	listed, err := g.listAll(ctx, bucket)
	if err != nil {
		return []string{"ListObjectVersions: " + err.Error()}, st
	}
	// Keys are independent: four at a time.
	work := make(chan *lgKey)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				p, s := g.verifyKey(ctx, k, listed[k.Key])
				mu.Lock()
				for _, x := range p {
					if len(probs) < 100 {
						probs = append(probs, x)
					}
				}
				st.Keys++
				st.Acked += s.Acked
				st.Listed += s.Listed
				st.Unacked += s.Unacked
				st.UnackedDM += s.UnackedDM
				st.Purged += s.Purged
				st.Locks += s.Locks
				st.Bytes += s.Bytes
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		if k.Bucket == bucket {
			work <- k
		}
	}
	close(work)
	wg.Wait()
	return probs, st
}

// verifyKey checks one key against its listing (newest first).
func (g *loadgen) verifyKey(ctx context.Context, k *lgKey, entries []lgListed) ([]string, lgVerifyStats) {
	var st lgVerifyStats
	var probs []string
	bad := func(format string, args ...any) {
		if len(probs) < 20 {
			probs = append(probs, fmt.Sprintf(format, args...))
		}
	}
	{
		st.Listed += len(entries)
		byID := map[string]lgListed{}
		for _, e := range entries {
			byID[e.ID] = e
		}
		claimed := map[string]bool{}
		shaOf := map[string]string{} // id → sha of listed data versions, read lazily
		getSHA := func(id string) (string, error) {
			if s, ok := shaOf[id]; ok {
				return s, nil
			}
			s, err := lgGetSHA(ctx, g.client, k.Bucket, k.Key, id)
			if err == nil {
				shaOf[id] = s
			}
			return s, err
		}
		// 1. Acknowledged versions with known ids: present, intact, locks.
		var order []string
		for _, v := range k.Versions {
			if v.ID == "" {
				continue
			}
			e, ok := byID[v.ID]
			if v.Purged {
				st.Purged++
				if ok {
					bad("%s@%s: permanently deleted (acknowledged) but still listed", k.Key, v.ID)
				}
				continue
			}
			if !ok {
				if !v.Purging {
					bad("%s@%s: acknowledged %s version missing after restart", k.Key, v.ID, map[bool]string{true: "delete-marker", false: "data"}[v.DM])
				}
				continue
			}
			claimed[v.ID] = true
			order = append(order, v.ID)
			st.Acked++
			if e.DM != v.DM {
				bad("%s@%s: delete marker %v, acknowledged as %v", k.Key, v.ID, e.DM, v.DM)
				continue
			}
			if v.DM {
				continue
			}
			if e.Size != v.Size {
				bad("%s@%s: listed size %d, acknowledged %d", k.Key, v.ID, e.Size, v.Size)
			}
			s, err := getSHA(v.ID)
			if err != nil {
				bad("%s@%s: GetObject: %v", k.Key, v.ID, err)
				continue
			}
			st.Bytes += v.Size
			if s != v.SHA {
				bad("%s@%s: bytes differ from the acknowledged write (sha %s, want %s)", k.Key, v.ID, s[:12], v.SHA[:12])
			}
			got, err := g.headLock(ctx, k, v.ID)
			if err != nil {
				bad("%s@%s: HeadObject: %v", k.Key, v.ID, err)
				continue
			}
			if v.Lock != (lgLock{}) {
				st.Locks++
			}
			okLock := got.equal(v.Lock)
			for _, alt := range v.LockAlt {
				okLock = okLock || got.equal(alt)
			}
			if !okLock {
				bad("%s@%s: lock %s, acknowledged %s (in flight: %v)", k.Key, v.ID, got, v.Lock, v.LockAlt)
			}
		}
		// Acknowledgement order is commit order: the listing (newest first)
		// has the acknowledged ids in reverse.
		var listedOrder []string
		for _, e := range entries {
			if claimed[e.ID] {
				listedOrder = append(listedOrder, e.ID)
			}
		}
		for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
			order[i], order[j] = order[j], order[i]
		}
		if strings.Join(order, ",") != strings.Join(listedOrder, ",") {
			bad("%s: acknowledged versions listed out of order: listed %v, acknowledged (newest first) %v", k.Key, listedOrder, order)
		}
		// 2. Acknowledged versions whose id could not be read (the daemon
		// died right after close): some unclaimed entry with their bytes.
		for _, v := range k.Versions {
			if v.ID != "" {
				continue
			}
			found := false
			for _, e := range entries {
				if claimed[e.ID] || e.DM != v.DM {
					continue
				}
				if v.DM {
					found = true
				} else if s, err := getSHA(e.ID); err == nil && s == v.SHA {
					found = true
				}
				if found {
					claimed[e.ID] = true
					st.Acked++
					break
				}
			}
			if !found {
				bad("%s: acknowledged %d-byte version (id unread) missing after restart", k.Key, v.Size)
			}
		}
		// 3. Everything else listed was never acknowledged: allowed only as
		// a complete intended payload or an in-flight delete.
		dmAllow := k.unackedDeletes
		for _, e := range entries {
			if claimed[e.ID] {
				continue
			}
			if e.DM {
				st.UnackedDM++
				if dmAllow <= 0 {
					bad("%s@%s: delete marker that no delete asked for", k.Key, e.ID)
				}
				dmAllow--
				continue
			}
			st.Unacked++
			s, err := getSHA(e.ID)
			if err != nil {
				bad("%s@%s: GetObject of an unacknowledged version: %v", k.Key, e.ID, err)
				continue
			}
			if k.unacked[s] <= 0 {
				bad("%s@%s: visible version never acknowledged and not a complete intended payload (%d bytes, sha %s): torn or foreign", k.Key, e.ID, e.Size, s[:12])
			}
		}
		// 4. The mount shows the latest version.
		var latest *lgListed
		for i := range entries {
			if entries[i].Latest {
				latest = &entries[i]
			}
		}
		p := filepath.Join(g.mnt, k.Bucket, k.Key)
		b, err := os.ReadFile(p)
		switch {
		case latest == nil || latest.DM:
			if !errors.Is(err, os.ErrNotExist) {
				bad("%s: deleted (latest is %v) but the mount reads %d bytes, %v", k.Key, latest, len(b), err)
			}
		case err != nil:
			bad("%s: mount read: %v", k.Key, err)
		default:
			want, err := getSHA(latest.ID)
			if err != nil {
				bad("%s@%s: GetObject latest: %v", k.Key, latest.ID, err)
			} else if shaHex(b) != want {
				bad("%s: mount reads %d bytes (sha %s), the latest version %s has sha %s", k.Key, len(b), shaHex(b)[:12], latest.ID, want[:12])
			}
			buf := make([]byte, 256)
			if n, err := syscall.Getxattr(p, "user.s3.version-id", buf); err != nil || string(buf[:n]) != latest.ID {
				bad("%s: mount user.s3.version-id %q (%v), latest is %s", k.Key, buf[:max(n, 0)], err, latest.ID)
			}
		}
		// 5. The versions view lists the same ids.
		vdir := filepath.Join(g.mnt, ".wormfs", "versions", k.Bucket, k.Key)
		if names, err := lgReadDirNames(vdir); err == nil || len(entries) > 0 {
			if err != nil {
				bad("%s: versions view: %v", k.Key, err)
			} else {
				sort.Strings(names)
				var ids []string
				for _, e := range entries {
					ids = append(ids, e.ID)
				}
				sort.Strings(ids)
				if strings.Join(names, ",") != strings.Join(ids, ",") {
					bad("%s: versions view lists %v, S3 lists %v", k.Key, names, ids)
				}
			}
		}
	}
	return probs, st
}

func lgReadDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

func (l lgLock) equal(o lgLock) bool {
	return l.Mode == o.Mode && l.Hold == o.Hold && l.Until.Unix() == o.Until.Unix()
}

// headLock reads the lock state of a version from HeadObject.
func (g *loadgen) headLock(ctx context.Context, k *lgKey, id string) (lgLock, error) {
	out, err := g.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(k.Bucket), Key: aws.String(k.Key), VersionId: aws.String(id)})
	if err != nil {
		return lgLock{}, err
	}
	l := lgLock{Mode: string(out.ObjectLockMode), Hold: out.ObjectLockLegalHoldStatus == types.ObjectLockLegalHoldStatusOn}
	if out.ObjectLockRetainUntilDate != nil {
		l.Until = out.ObjectLockRetainUntilDate.UTC()
	}
	return l, nil
}
