package lockctl

import (
	"math/rand/v2"
	"testing"
	"time"
)

const (
	day  = 24 * time.Hour
	year = 365 * day
)

// scaled returns d × f.
func scaled(d time.Duration, f float64) time.Duration { return time.Duration(float64(d) * f) }

// sim drives a Clock the way meta does: a monotonic reading (elapsed since
// the process started) and a system clock that the operator may move.
type sim struct {
	c    Clock
	mono time.Duration
	sys  time.Time
}

// step lets d of real time pass (both clocks move by d) and reads the clock.
func (s *sim) step(d time.Duration) time.Time {
	s.mono += d
	s.sys = s.sys.Add(d)
	return s.c.Advance(s.mono, s.sys)
}

func TestClockNewStoreStartsAtSystemTime(t *testing.T) {
	tests := []struct {
		name string
		sys  time.Time
		mono time.Duration
	}{
		{name: "utc", sys: t0},
		{name: "local zone converted to UTC", sys: t0.In(time.FixedZone("PST", -8*3600))},
		{name: "nonzero monotonic origin", sys: t0, mono: 17 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock(time.Time{}, tt.mono, tt.sys, 0)
			if !c.Now().Equal(t0) || c.Now().Location() != time.UTC {
				t.Fatalf("Now() = %v, want %v in UTC", c.Now(), t0)
			}
			if c.Rate() != DefaultCatchUpRate {
				t.Fatalf("Rate() = %v, want %v", c.Rate(), DefaultCatchUpRate)
			}
			if got := c.Advance(tt.mono+time.Second, t0.Add(time.Second)); !got.Equal(t0.Add(time.Second)) {
				t.Fatalf("after 1s Now() = %v, want %v", got, t0.Add(time.Second))
			}
		})
	}
}

func TestClockRate(t *testing.T) {
	tests := []struct {
		name string
		rate float64
		want float64
	}{
		{name: "zero means default", rate: 0, want: DefaultCatchUpRate},
		{name: "negative means default", rate: -1, want: DefaultCatchUpRate},
		{name: "custom", rate: 0.5, want: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewClock(t0, 0, t0, tt.rate).Rate(); got != tt.want {
				t.Fatalf("Rate() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClockTracksSystemClock(t *testing.T) {
	tests := []struct {
		name  string
		step  time.Duration
		steps int
	}{
		{name: "millisecond steps", step: time.Millisecond, steps: 10000},
		{name: "second steps", step: time.Second, steps: 3600},
		{name: "hour steps for a year", step: time.Hour, steps: 365 * 24},
		{name: "one big step", step: 10 * year, steps: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim{c: NewClock(time.Time{}, 0, t0, 0), sys: t0}
			for i := 0; i < tt.steps; i++ {
				if got := s.step(tt.step); !got.Equal(s.sys) {
					t.Fatalf("step %d: Now() = %v, want system time %v", i, got, s.sys)
				}
			}
			if off := s.c.Offset(s.sys); off != 0 {
				t.Fatalf("Offset() = %v, want 0", off)
			}
		})
	}
}

// Setting the system clock forward must not expire a lock early: compliance
// time advances by at most elapsed × (1 + rate).
func TestClockSystemClockSetForward(t *testing.T) {
	tests := []struct {
		name    string
		jump    time.Duration
		elapsed time.Duration
		step    time.Duration
	}{
		{name: "one year ahead, one minute later", jump: year, elapsed: time.Minute, step: time.Second},
		{name: "ten years ahead, one day later", jump: 10 * year, elapsed: day, step: time.Minute},
		{name: "hundred years ahead, thirty days later", jump: 100 * year, elapsed: 30 * day, step: time.Hour},
		{name: "one hour ahead, closed within two months", jump: time.Hour, elapsed: 60 * day, step: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim{c: NewClock(t0, 0, t0, 0), sys: t0}
			lock := Lock{Retention: comp(t0.Add(tt.elapsed + day))}
			s.sys = s.sys.Add(tt.jump)
			prev := s.c.Now()
			for el := time.Duration(0); el < tt.elapsed; el += tt.step {
				now := s.step(tt.step)
				if d := now.Sub(prev); d < tt.step || float64(d) > float64(tt.step)*(1+DefaultCatchUpRate) {
					t.Fatalf("at %v: advanced by %v for %v elapsed", el, d, tt.step)
				}
				if now.After(s.sys) {
					t.Fatalf("at %v: compliance time %v overtook the system clock %v", el, now, s.sys)
				}
				prev = now
			}
			maxNow := t0.Add(tt.elapsed + time.Duration(float64(tt.elapsed)*DefaultCatchUpRate))
			if s.c.Now().After(maxNow) {
				t.Fatalf("Now() = %v, want at most %v", s.c.Now(), maxNow)
			}
			if !lock.Protected(s.c.Now()) {
				t.Fatalf("lock until %v expired at compliance time %v (system %v)", lock.Retention.Until, s.c.Now(), s.sys)
			}
			checkErr(t, CheckDelete(lock, s.c.Now(), bypassOK), ErrProtected)
			if tt.jump <= time.Duration(float64(tt.elapsed)*DefaultCatchUpRate) && !s.c.Now().Equal(s.sys) {
				t.Fatalf("small jump not caught up: Now() = %v, system %v", s.c.Now(), s.sys)
			}
		})
	}
}

// Setting the system clock backward never moves compliance time back; it
// keeps advancing with monotonic time.
func TestClockSystemClockSetBackward(t *testing.T) {
	tests := []struct {
		name string
		back time.Duration
		step time.Duration
	}{
		{name: "one second", back: time.Second, step: time.Millisecond},
		{name: "one hour", back: time.Hour, step: time.Minute},
		{name: "one year", back: year, step: time.Hour},
		{name: "to the zero time", back: t0.Sub(time.Time{}), step: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sim{c: NewClock(time.Time{}, 0, t0, 0), sys: t0}
			s.step(time.Minute)
			s.sys = s.sys.Add(-tt.back)
			prev := s.c.Now()
			for i := 0; i < 1000; i++ {
				now := s.step(tt.step)
				if !now.Equal(prev.Add(tt.step)) {
					t.Fatalf("step %d: Now() = %v, want %v", i, now, prev.Add(tt.step))
				}
				prev = now
			}
			if off := s.c.Offset(s.sys); off >= 0 {
				t.Fatalf("Offset() = %v, want negative (system clock behind)", off)
			}
		})
	}
}

func TestClockMonotonicReadingBackwardsIgnored(t *testing.T) {
	c := NewClock(t0, 10*time.Hour, t0, 0)
	if got := c.Advance(9*time.Hour, t0.Add(year)); !got.Equal(t0) {
		t.Fatalf("Now() = %v after an older monotonic reading, want %v", got, t0)
	}
	// Elapsed time counts from the last reading, even an older one.
	if got := c.Advance(9*time.Hour+time.Minute, t0.Add(time.Minute)); !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Now() = %v, want %v", got, t0.Add(time.Minute))
	}
}

// Daemon downtime: the new run starts from the persisted value, not from the
// system clock, and catches up only at the bounded rate.
func TestClockDaemonDowntime(t *testing.T) {
	tests := []struct {
		name     string
		downtime time.Duration
		skew     time.Duration // extra system clock change during downtime
	}{
		{name: "one hour", downtime: time.Hour},
		{name: "thirty days", downtime: 30 * day},
		{name: "two years", downtime: 2 * year},
		{name: "clock set back during downtime", downtime: day, skew: -10 * day},
		{name: "clock set far ahead during downtime", downtime: day, skew: 50 * year},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			persisted := t0
			lock := Lock{Retention: comp(persisted.Add(time.Hour))}
			sys := persisted.Add(tt.downtime + tt.skew)
			// New process: the monotonic origin restarts at an arbitrary value.
			s := sim{c: NewClock(persisted, 5*time.Second, sys, 0), mono: 5 * time.Second, sys: sys}
			if !s.c.Now().Equal(persisted) {
				t.Fatalf("Now() = %v at start, want persisted %v", s.c.Now(), persisted)
			}
			if !lock.Protected(s.c.Now()) {
				t.Fatal("lock expired across the restart")
			}
			now := s.step(time.Minute)
			if max := persisted.Add(time.Minute + scaled(time.Minute, DefaultCatchUpRate)); now.After(max) {
				t.Fatalf("Now() = %v one minute after start, want at most %v", now, max)
			}
			if !lock.Protected(now) {
				t.Fatalf("lock until %v expired at %v", lock.Retention.Until, now)
			}
			// The lock runs out after about its own hour of real time (less
			// the bounded catch-up), not earlier.
			for i := 0; i < 58; i++ {
				s.step(time.Minute)
			}
			if s.c.Now().Before(persisted.Add(59*time.Minute)) || s.c.Now().After(persisted.Add(59*time.Minute+scaled(59*time.Minute, DefaultCatchUpRate))) {
				t.Fatalf("Now() = %v after 59 minutes", s.c.Now())
			}
			for lock.Protected(s.c.Now()) {
				s.step(time.Minute)
			}
			if s.mono < 55*time.Minute+5*time.Second {
				t.Fatalf("lock of one hour expired after only %v of real time", s.mono-5*time.Second)
			}
		})
	}
}

// Over a long run with the system clock a year ahead, the catch-up is at most
// 7 days per 365 days (SPEC §4).
func TestClockCatchUpBound(t *testing.T) {
	tests := []struct {
		name  string
		ahead time.Duration
		days  int
		step  time.Duration
		rate  float64
	}{
		{name: "one year ahead, 365 days in hours", ahead: year, days: 365, step: time.Hour},
		{name: "one year ahead, 365 days in minutes", ahead: year, days: 365, step: time.Minute},
		{name: "five years ahead, two years in hours", ahead: 5 * year, days: 730, step: time.Hour},
		{name: "custom rate 1 day per 30", ahead: year, days: 90, step: time.Hour, rate: 1.0 / 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rate := tt.rate
			if rate == 0 {
				rate = DefaultCatchUpRate
			}
			start := t0
			s := sim{c: NewClock(start, 0, start, tt.rate), sys: start.Add(tt.ahead)}
			total := time.Duration(tt.days) * day
			for el := time.Duration(0); el < total; el += tt.step {
				s.step(tt.step)
			}
			catchUp := s.c.Now().Sub(start.Add(total))
			want := time.Duration(float64(total) * rate)
			const eps = time.Millisecond
			if catchUp > want+eps {
				t.Fatalf("caught up %v in %d days, want at most %v", catchUp, tt.days, want)
			}
			if catchUp < want-eps {
				t.Fatalf("caught up only %v in %d days, want %v", catchUp, tt.days, want)
			}
			if tt.rate == 0 && catchUp > time.Duration(tt.days)*7*day/365+eps {
				t.Fatalf("caught up %v, more than 7 days per 365", catchUp)
			}
		})
	}
}

// Property: over random sequences of monotonic steps (sometimes backwards)
// and system clock jumps, the compliance clock never runs backwards, always
// advances at least with monotonic time, never overshoots a system clock
// that is ahead, and stays within start + elapsed × (1 + rate).
func TestClockProperty(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0x776f726d))
		rate := DefaultCatchUpRate
		if seed%4 == 1 {
			rate = rng.Float64()
		}
		var persisted time.Time
		if seed%2 == 0 {
			persisted = t0.Add(time.Duration(rng.Int64N(int64(10*year))) - 5*year)
		}
		mono := time.Duration(rng.Int64N(int64(time.Hour)))
		sys := t0
		c := NewClock(persisted, mono, sys, rate)
		start := c.Now()
		var elapsed time.Duration
		steps := 0
		for i := 0; i < 500; i++ {
			prev := c.Now()
			lastMono := mono
			switch rng.IntN(10) {
			case 0: // monotonic reading older than the last one
				mono -= time.Duration(rng.Int64N(int64(time.Minute)))
			default:
				mono += time.Duration(rng.Int64N(int64(10 * day)))
			}
			dt := mono - lastMono
			if dt < 0 {
				dt = 0
			}
			elapsed += dt
			steps++
			switch rng.IntN(6) {
			case 0:
				sys = sys.Add(time.Duration(rng.Int64N(int64(50*year))) - 20*year)
			case 1:
				sys = sys.Add(-time.Duration(rng.Int64N(int64(time.Hour))))
			default:
				sys = sys.Add(dt)
			}
			now := c.Advance(mono, sys)
			switch {
			case now.Before(prev):
				t.Fatalf("seed %d step %d: went back from %v to %v", seed, i, prev, now)
			case now.Before(prev.Add(dt)):
				t.Fatalf("seed %d step %d: advanced %v for %v of monotonic time", seed, i, now.Sub(prev), dt)
			case now.Sub(prev) > dt+time.Duration(float64(dt)*rate)+1:
				t.Fatalf("seed %d step %d: advanced %v for %v elapsed at rate %v", seed, i, now.Sub(prev), dt, rate)
			case sys.After(prev.Add(dt)) && now.After(sys):
				t.Fatalf("seed %d step %d: overshot the system clock: %v > %v", seed, i, now, sys)
			case !sys.After(prev.Add(dt)) && !now.Equal(prev.Add(dt)):
				t.Fatalf("seed %d step %d: system clock behind, want exactly %v, got %v", seed, i, prev.Add(dt), now)
			}
			if !c.Now().Equal(now) {
				t.Fatalf("seed %d step %d: Now() = %v, Advance returned %v", seed, i, c.Now(), now)
			}
			bound := start.Add(elapsed + time.Duration(float64(elapsed)*rate) + time.Duration(steps))
			if now.After(bound) {
				t.Fatalf("seed %d step %d: %v beyond start + elapsed×(1+rate) = %v", seed, i, now, bound)
			}
		}
	}
}

func TestClockOffset(t *testing.T) {
	c := NewClock(t0, 0, t0, 0)
	tests := []struct {
		name string
		sys  time.Time
		want time.Duration
	}{
		{name: "in step", sys: t0, want: 0},
		{name: "system ahead", sys: t0.Add(time.Hour), want: time.Hour},
		{name: "system behind", sys: t0.Add(-time.Hour), want: -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Offset(tt.sys); got != tt.want {
				t.Fatalf("Offset() = %v, want %v", got, tt.want)
			}
		})
	}
}
