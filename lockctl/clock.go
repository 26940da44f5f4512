package lockctl

import "time"

// DefaultCatchUpRate is how fast the compliance clock may catch up with a
// system clock that is ahead of it: at most 7 days per 365 days of real
// (monotonic) time elapsed (SPEC §4).
const DefaultCatchUpRate = 7.0 / 365.0

// Clock is the compliance clock as a pure state machine. It is fed readings
// of a monotonic clock (elapsed time since an arbitrary origin, e.g. from
// time.Since of a fixed instant) and of the system clock, and yields the
// compliance time:
//
//   - it advances with monotonic elapsed time, so setting the system clock
//     backwards does not stop or reverse it;
//   - when the system clock is ahead of it, it catches up by at most
//     Rate × elapsed, so setting the system clock forward by years cannot
//     expire a lock early;
//   - it never runs backwards, across restarts too: it starts from the value
//     persisted by the store (daemon downtime is not counted, only caught up
//     at the bounded rate).
//
// Clock is a value type with no locking; meta wraps it with a mutex and
// persistence.
type Clock struct {
	now      time.Time     // compliance time at the last reading
	lastMono time.Duration // monotonic reading that produced now
	rate     float64
}

// NewClock starts the clock. persisted is the value stored by the previous
// run (zero for a new store, which starts at the system time); mono and sys
// are the current readings; rate ≤ 0 means DefaultCatchUpRate.
func NewClock(persisted time.Time, mono time.Duration, sys time.Time, rate float64) Clock {
	if rate <= 0 {
		rate = DefaultCatchUpRate
	}
	start := persisted
	if start.IsZero() {
		start = sys
	}
	return Clock{now: start.UTC(), lastMono: mono, rate: rate}
}

// Now returns the compliance time without advancing the state.
func (c Clock) Now() time.Time { return c.now }

// Rate returns the catch-up rate.
func (c Clock) Rate() float64 { return c.rate }

// Advance moves the clock to the readings mono and sys and returns the new
// compliance time. A monotonic reading older than the last one is ignored
// (treated as no elapsed time).
func (c *Clock) Advance(mono time.Duration, sys time.Time) time.Time {
	dt := mono - c.lastMono
	if dt < 0 {
		dt = 0
	}
	c.lastMono = mono
	next := c.now.Add(dt)
	if gap := sys.Sub(next); gap > 0 {
		allowed := time.Duration(float64(dt) * c.rate)
		if gap < allowed {
			allowed = gap
		}
		next = next.Add(allowed)
	}
	if next.After(c.now) {
		c.now = next
	}
	return c.now
}

// Offset is the system clock minus the compliance time: positive when the
// system clock is ahead (the clock is catching up), negative when behind.
func (c Clock) Offset(sys time.Time) time.Duration { return sys.Sub(c.now) }

// Latest returns the later of a and b.
func Latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Instants of locks (retain-until dates) are kept to the millisecond, the
// precision S3 shows: a finer instant is rounded up, never down, so that a
// retention written back as it was read is never a shortening (SPEC §4,
// issue 14 item 13).

// CeilMilli returns t in UTC, rounded up to a whole millisecond.
func CeilMilli(t time.Time) time.Time {
	t = t.UTC()
	if t.IsZero() {
		return t
	}
	if r := t.Truncate(time.Millisecond); !r.Equal(t) {
		return r.Add(time.Millisecond)
	}
	return t
}

// FormatInstant formats a lock instant as RFC 3339 in UTC, rounded up to
// the millisecond, with ".mmm" only when the milliseconds are not zero:
// "2027-01-01T00:00:00Z", "2027-01-01T00:00:00.250Z".
func FormatInstant(t time.Time) string {
	t = CeilMilli(t)
	if t.Nanosecond() == 0 {
		return t.Format(time.RFC3339)
	}
	return t.Format("2006-01-02T15:04:05.000Z07:00")
}

// ParseInstant parses an RFC 3339 instant (any fraction, Z or a numeric
// offset) and returns it in UTC, exact. Unlike time.Parse it refuses the
// offsets RFC 3339 does not allow (hours above 23, minutes above 59, as
// in +24:00).
func ParseInstant(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	if n := len(s); n >= 6 && (s[n-6] == '+' || s[n-6] == '-') {
		hh, mm := s[n-5:n-3], s[n-2:]
		if hh > "23" || mm > "59" {
			return time.Time{}, &time.ParseError{Layout: time.RFC3339Nano, Value: s, LayoutElem: "Z07:00", ValueElem: s[n-6:], Message: ": offset out of range"}
		}
	}
	return t.UTC(), nil
}
