package flood

import (
	"sync"
	"time"
)

// rateWindow is the window of the per-origin and per-user limits: their
// bounds are posts per minute.
const rateWindow = time.Minute

// maxRateKeys bounds the keys a limiter tracks. When it is full, windows
// that have ended are forgotten; if none has, a new key is refused until
// one does, so that a flood of fake origins cannot grow the map or reset
// the windows of real ones.
const maxRateKeys = 4096

// limiter allows each key at most limit posts in a window that starts at
// the key's first post and lasts rateWindow. Fixed windows, not a token
// bucket: a count that holds exactly at its bound is what an operator can
// reason about ("300 posts a minute per node"), and what a test can check.
type limiter struct {
	limit int

	mu   sync.Mutex
	keys map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(limit int) *limiter {
	return &limiter{limit: limit, keys: map[string]*window{}}
}

// allow counts one post of key at now and reports whether it is within
// the key's bound.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.keys[key]
	if w == nil || now.Sub(w.start) >= rateWindow || now.Before(w.start) {
		if w == nil && len(l.keys) >= maxRateKeys && !l.sweep(now) {
			return false
		}
		w = &window{start: now}
		l.keys[key] = w
	}
	if w.n >= l.limit {
		return false
	}
	w.n++
	return true
}

// sweep forgets the windows that ended before now and reports whether it
// made room.
func (l *limiter) sweep(now time.Time) bool {
	for k, w := range l.keys {
		if now.Sub(w.start) >= rateWindow {
			delete(l.keys, k)
		}
	}
	return len(l.keys) < maxRateKeys
}
