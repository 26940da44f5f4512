package meta

import (
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// stepClock is a clock that moves only when the test says so: the system
// clock is base + the monotonic reading, so the compliance time equals it.
type stepClock struct {
	base time.Time
	mono atomic.Int64
}

func (c *stepClock) Mono() time.Duration { return time.Duration(c.mono.Load()) }
func (c *stepClock) Sys() time.Time      { return c.base.Add(c.Mono()) }
func (c *stepClock) step(d time.Duration) {
	c.mono.Add(int64(d))
}

func openStepped(t *testing.T) (*Store, *stepClock) {
	t.Helper()
	c := &stepClock{base: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s, err := Open(Options{Dir: t.TempDir(), GCInterval: -1, SysNow: c.Sys, Mono: c.Mono})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// modelVersion is the model's record of one version: when it was made and
// what it is.
type modelVersion struct {
	id      string
	created time.Time
	dm      bool
	content string
}

// asOfModel answers "what was current at t" from the full version lists.
type asOfModel map[string][]modelVersion // key → versions, newest first

func (m asOfModel) at(t time.Time) map[string]modelVersion {
	out := map[string]modelVersion{}
	for k, vs := range m {
		for _, v := range vs {
			if !v.created.After(t) {
				if !v.dm {
					out[k] = v
				}
				break
			}
		}
	}
	return out
}

// expectList is what a delimiter listing of the model at t returns.
func expectList(cur map[string]modelVersion, prefix, delim string) (objs, prefixes []string) {
	seen := map[string]bool{}
	for k := range cur {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if cp := commonPrefix(k, prefix, delim); cp != "" {
			if !seen[cp] {
				seen[cp] = true
				prefixes = append(prefixes, cp)
			}
			continue
		}
		objs = append(objs, k)
	}
	sort.Strings(objs)
	sort.Strings(prefixes)
	return objs, prefixes
}

// listAllAsOf pages through ListAsOf with page size max.
func listAllAsOf(t *testing.T, s *Store, at time.Time, prefix, delim string, max int) (objs, prefixes []string, ids map[string]string) {
	t.Helper()
	ids = map[string]string{}
	after := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("ListAsOf does not terminate")
		}
		res, err := s.ListAsOf("bkt", at, ListOptions{Prefix: prefix, Delimiter: delim, After: after, Max: max})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Objects)+len(res.Prefixes) > max {
			t.Fatalf("page of %d entries, max %d", len(res.Objects)+len(res.Prefixes), max)
		}
		for _, v := range res.Objects {
			objs = append(objs, v.Key)
			ids[v.Key] = v.ID
		}
		prefixes = append(prefixes, res.Prefixes...)
		if !res.Truncated {
			return objs, prefixes, ids
		}
		after = res.Next
	}
}

// TestAsOfModel runs random puts, deletes and permanent deletes on keys
// with slashes, with the clock stepping between them, and checks GetAsOf
// and ListAsOf (every page size, with and without delimiter and prefix) at
// every instant against the model, including instants between commits.
func TestAsOfModel(t *testing.T) {
	s, clk := openStepped(t)
	if _, err := s.CreateBucket("bkt", BucketOptions{Versioning: VersioningEnabled}, Actor{}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a", "a/b", "a/c/d", "a/c/e", "ab", "x/y", "x/z/w", "z"}
	model := asOfModel{}
	rng := rand.New(rand.NewSource(7))
	var instants []time.Time
	for i := 0; i < 120; i++ {
		clk.step(time.Second)
		k := keys[rng.Intn(len(keys))]
		switch r := rng.Intn(10); {
		case r < 6:
			content := fmt.Sprintf("%s#%d", k, i)
			v := put(t, s, "bkt", k, []byte(content), PublishOptions{})
			model[k] = append([]modelVersion{{id: v.ID, created: v.Created, content: content}}, model[k]...)
		case r < 9:
			v, err := s.Delete("bkt", k, PublishOptions{})
			if err != nil {
				t.Fatal(err)
			}
			model[k] = append([]modelVersion{{id: v.ID, created: v.Created, dm: true}}, model[k]...)
		default:
			if len(model[k]) == 0 {
				continue
			}
			j := rng.Intn(len(model[k]))
			if _, err := s.DeleteVersion("bkt", k, model[k][j].id, Actor{}); err != nil {
				t.Fatal(err)
			}
			model[k] = append(model[k][:j:j], model[k][j+1:]...)
		}
		instants = append(instants, s.Now())
		if i%4 == 0 {
			instants = append(instants, s.Now().Add(-500*time.Millisecond)) // between two commits
		}
	}
	instants = append(instants, clk.base.Add(-time.Hour)) // before everything
	for _, at := range instants {
		cur := model.at(at)
		for _, k := range keys {
			v, err := s.GetAsOf("bkt", k, at)
			want, ok := cur[k]
			switch {
			case ok && (err != nil || v.ID != want.id || string(readAll(t, s, v)) != want.content):
				t.Fatalf("GetAsOf(%s, %v) = %v, %v; want %s %q", k, at, v, err, want.id, want.content)
			case !ok && !errors.Is(err, ErrNoSuchKey):
				t.Fatalf("GetAsOf(%s, %v) = %v, %v; want ErrNoSuchKey", k, at, v, err)
			}
		}
		for _, c := range []struct{ prefix, delim string }{{"", ""}, {"", "/"}, {"a/", "/"}, {"a", "/"}, {"x/", ""}, {"a/c/", "/"}} {
			wantObjs, wantPrefixes := expectList(cur, c.prefix, c.delim)
			for _, max := range []int{1, 3, 1000} {
				objs, prefixes, ids := listAllAsOf(t, s, at, c.prefix, c.delim, max)
				if strings.Join(objs, ",") != strings.Join(wantObjs, ",") || strings.Join(prefixes, ",") != strings.Join(wantPrefixes, ",") {
					t.Fatalf("ListAsOf(%v, prefix %q, delim %q, max %d) = %v %v; want %v %v", at, c.prefix, c.delim, max, objs, prefixes, wantObjs, wantPrefixes)
				}
				for k, id := range ids {
					if cur[k].id != id {
						t.Fatalf("ListAsOf at %v: %s has version %s, want %s", at, k, id, cur[k].id)
					}
				}
			}
		}
	}
}

// TestAsOfBadInput: unknown bucket, empty or NUL key.
func TestAsOfBadInput(t *testing.T) {
	s, _ := openStepped(t)
	now := s.Now()
	cases := []struct {
		name    string
		f       func() error
		wantErr error
	}{
		{name: "get unknown bucket", f: func() error { _, err := s.GetAsOf("nope", "k", now); return err }, wantErr: ErrNoSuchBucket},
		{name: "list unknown bucket", f: func() error { _, err := s.ListAsOf("nope", now, ListOptions{}); return err }, wantErr: ErrNoSuchBucket},
		{name: "empty key", f: func() error { _, err := s.GetAsOf("nope", "", now); return err }, wantErr: ErrInvalidKey},
		{name: "NUL key", f: func() error { _, err := s.GetAsOf("nope", "a\x00b", now); return err }, wantErr: ErrInvalidKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.f(); !errors.Is(err, c.wantErr) {
				t.Fatalf("got %v, want %v", err, c.wantErr)
			}
		})
	}
}
