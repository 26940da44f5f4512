package meta

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wormfs/wormfs/lockctl"
)

// jumpClock is a test clock whose system time can be set apart from the
// monotonic time: sys = base + mono + jump.
type jumpClock struct {
	base time.Time
	mono atomic.Int64
	jump atomic.Int64
}

func (c *jumpClock) Mono() time.Duration     { return time.Duration(c.mono.Load()) }
func (c *jumpClock) Sys() time.Time          { return c.base.Add(c.Mono() + time.Duration(c.jump.Load())) }
func (c *jumpClock) advance(d time.Duration) { c.mono.Add(int64(d)) }
func (c *jumpClock) setJump(d time.Duration) { c.jump.Store(int64(d)) }

func openJump(t *testing.T, dir string, c *jumpClock) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, GCInterval: -1, SysNow: c.Sys, Mono: c.Mono})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const year = 365 * 24 * time.Hour

// catchUp is the most the compliance clock may gain on d of real time.
func catchUp(d time.Duration) time.Duration {
	return time.Duration(float64(d) * lockctl.DefaultCatchUpRate)
}

// lockedVersion publishes a COMPLIANCE-locked version until now + d.
func lockedVersionFor(t *testing.T, s *Store, key string, d time.Duration) *Version {
	t.Helper()
	until := s.Now().Add(d)
	return put(t, s, "bkt", key, []byte("keep "+key), PublishOptions{Retention: lockctl.Retention{Mode: lockctl.ModeCompliance, Until: until}})
}

// walkLock advances the monotonic clock in steps up to total, and at every
// step checks: the compliance time never runs backwards; it runs ahead of
// from+elapsed by at most the catch-up bound; while it is before the lock's
// retain-until, a permanent delete (even with a bypass) is refused and the
// version still reads back. It returns the monotonic time elapsed when the
// lock let go (0 if it never did).
func walkLock(t *testing.T, s *Store, c *jumpClock, v *Version, step, total time.Duration) time.Duration {
	t.Helper()
	from := s.Now()
	start := c.Mono()
	last := from
	bypass := Actor{Name: "root", Bypass: lockctl.Bypass{Requested: true, Allowed: true}}
	for c.Mono()-start < total {
		c.advance(step)
		elapsed := c.Mono() - start
		now := s.Now()
		if now.Before(last) {
			t.Fatalf("compliance time ran backwards: %v after %v", now, last)
		}
		last = now
		bound := from.Add(elapsed + time.Duration(float64(elapsed)*lockctl.DefaultCatchUpRate) + time.Millisecond)
		if now.After(bound) {
			t.Fatalf("after %v of monotonic time the compliance time is %v ahead of start, bound %v", elapsed, now.Sub(from), bound.Sub(from))
		}
		if now.Before(v.RetUntil) {
			if _, err := s.DeleteVersion("bkt", v.Key, v.ID, bypass); !errors.Is(err, lockctl.ErrProtected) {
				t.Fatalf("at compliance time %v (until %v) DeleteVersion = %v, want ErrProtected", now, v.RetUntil, err)
			}
			if got := readAll(t, s, v); string(got) != "keep "+v.Key {
				t.Fatalf("locked version reads %q", got)
			}
			continue
		}
		if _, err := s.DeleteVersion("bkt", v.Key, v.ID, Actor{Name: "anyone"}); err != nil {
			t.Fatalf("at compliance time %v, past until %v, DeleteVersion = %v", now, v.RetUntil, err)
		}
		return elapsed
	}
	return 0
}

// TestClockLockForwardJump: the system clock set years ahead catches up at
// most 7 days per 365 days, so a 30-day COMPLIANCE lock holds for at least
// 30/(1+7/365) days of real time.
func TestClockLockForwardJump(t *testing.T) {
	c := &jumpClock{base: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := openJump(t, t.TempDir(), c)
	defer s.Close()
	if _, err := s.CreateBucket("bkt", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	v := lockedVersionFor(t, s, "k", 30*24*time.Hour)
	for _, jump := range []time.Duration{10 * year, 100 * year} {
		c.setJump(jump)
		before := s.Now()
		c.advance(time.Second)
		if got := s.Now().Sub(before); got > time.Second+catchUp(time.Second)+time.Millisecond {
			t.Fatalf("jump of %v: one second later the compliance time moved %v", jump, got)
		}
	}
	released := walkLock(t, s, c, v, 6*time.Hour, 60*24*time.Hour)
	min := time.Duration(float64(30*24*time.Hour) / (1 + lockctl.DefaultCatchUpRate))
	if released == 0 || released < min-6*time.Hour {
		t.Fatalf("lock released after %v of real time, want ≥ %v", released, min)
	}
}

// TestClockLockBackwardJump: the system clock set back years does not
// stop or reverse the compliance clock; the lock expires after its real
// duration and not before.
func TestClockLockBackwardJump(t *testing.T) {
	c := &jumpClock{base: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := openJump(t, t.TempDir(), c)
	defer s.Close()
	if _, err := s.CreateBucket("bkt", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	v := lockedVersionFor(t, s, "k", 48*time.Hour)
	c.setJump(-5 * year)
	released := walkLock(t, s, c, v, time.Hour, 72*time.Hour)
	if released < 48*time.Hour || released > 49*time.Hour {
		t.Fatalf("lock released after %v of real time, want 48h", released)
	}
}

// TestClockLockDowntime: the daemon stopped for what the system clock
// says is years (close, reopen with the system clock jumped and a new
// monotonic origin) resumes from the persisted compliance time: the lock
// still holds, and the clock catches up only at the bounded rate.
func TestClockLockDowntime(t *testing.T) {
	dir := t.TempDir()
	c := &jumpClock{base: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := openJump(t, dir, c)
	if _, err := s.CreateBucket("bkt", BucketOptions{ObjectLock: true}, Actor{}); err != nil {
		t.Fatal(err)
	}
	v := lockedVersionFor(t, s, "k", 7*24*time.Hour)
	c.advance(time.Hour)
	stopped := s.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, down := range []time.Duration{3 * year, 50 * year} {
		c2 := &jumpClock{base: c.base}
		c2.setJump(stopped.Sub(c.base) + down) // system time = stop time + downtime, monotonic origin 0
		s = openJump(t, dir, c2)
		now := s.Now()
		if now.Before(stopped) || now.After(stopped.Add(time.Millisecond)) {
			s.Close()
			t.Fatalf("after %v of downtime the compliance time is %v, want the persisted %v", down, now, stopped)
		}
		if _, err := s.DeleteVersion("bkt", "k", v.ID, Actor{Bypass: lockctl.Bypass{Requested: true, Allowed: true}}); !errors.Is(err, lockctl.ErrProtected) {
			s.Close()
			t.Fatalf("after downtime DeleteVersion = %v, want ErrProtected", err)
		}
		c2.advance(24 * time.Hour)
		if got := s.Now().Sub(now); got > 24*time.Hour+catchUp(24*time.Hour)+time.Millisecond {
			s.Close()
			t.Fatalf("a day after restart the compliance time moved %v", got)
		}
		stopped = s.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	c3 := &jumpClock{base: c.base}
	c3.setJump(stopped.Sub(c.base) + 10*year)
	s = openJump(t, dir, c3)
	defer s.Close()
	walkLock(t, s, c3, v, time.Hour, 10*24*time.Hour)
	if _, err := s.Get("bkt", "k", v.ID); err == nil {
		t.Fatal("the lock never expired in 10 days of real time")
	}
}
