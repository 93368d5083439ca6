package flood

import (
	"sync"
	"time"
)

// rateWindow is the window of the per-origin, per-neighbour and per-user
// limits: their bounds are posts per minute.
const rateWindow = time.Minute

// maxRateKeys bounds the keys a limiter tracks. When it is full, windows
// that have ended are forgotten; if none has, a new key is refused until
// one does, so that a flood of new keys cannot grow the map or reset the
// windows of the others. The per-user and per-neighbour limiters are
// keyed by what cannot be forged (a session's user, a link's
// certificate); forgeable origins go to an originLimiter.
const maxRateKeys = 4096

// maxOriginsPerNeighbour bounds the origins whose windows are tracked for
// the posts one neighbour relays. A relay cannot tell a real origin from
// a forged one past the first hop (the post names its own key), so each
// neighbour gets its own small table: one that forges origins fills its
// table and has its own new origins refused, not those of the others.
const maxOriginsPerNeighbour = 256

// limiter allows each key at most limit posts in a window that starts at
// the key's first post and lasts rateWindow. Fixed windows, not a token
// bucket: a count that holds exactly at its bound is what an operator can
// reason about ("300 posts a minute per node"), and what a test can check.
type limiter struct {
	limit   int
	maxKeys int

	mu   sync.Mutex
	keys map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(limit int) *limiter {
	return newLimiterOf(limit, maxRateKeys)
}

func newLimiterOf(limit, maxKeys int) *limiter {
	return &limiter{limit: limit, maxKeys: maxKeys, keys: map[string]*window{}}
}

// allow counts one post of key at now and reports whether it is within
// the key's bound.
func (l *limiter) allow(key string, now time.Time) bool {
	ok, _ := l.take(key, now)
	return ok
}

// take is allow that also tells a refusal for a full table (full) from
// one for the key's bound.
func (l *limiter) take(key string, now time.Time) (ok, full bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.keys[key]
	if w == nil || now.Sub(w.start) >= rateWindow || now.Before(w.start) {
		if w == nil && len(l.keys) >= l.maxKeys && !l.sweep(now) {
			return false, true
		}
		w = &window{start: now}
		l.keys[key] = w
	}
	if w.n >= l.limit {
		return false, false
	}
	w.n++
	return true, false
}

// sweep forgets the windows that ended before now and reports whether it
// made room.
func (l *limiter) sweep(now time.Time) bool {
	for k, w := range l.keys {
		if now.Sub(w.start) >= rateWindow {
			delete(l.keys, k)
		}
	}
	return len(l.keys) < l.maxKeys
}

// idle reports whether every window of l has ended at now.
func (l *limiter) idle(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	return len(l.keys) == 0
}

// originLimiter is the per-origin rate, kept apart for each neighbour
// that relays: an origin's window is keyed by the neighbour the post came
// from and the origin's node id (whose signature was verified), and each
// neighbour's table holds at most maxOriginsPerNeighbour origins. So a
// neighbour that floods forged origins uses up its own table; a new
// origin from another neighbour still gets a window. The posts of this
// node's users count under the neighbour "".
type originLimiter struct {
	limit int

	mu         sync.Mutex
	neighbours map[string]*limiter
}

func newOriginLimiter(limit int) *originLimiter {
	return &originLimiter{limit: limit, neighbours: map[string]*limiter{}}
}

// allow counts one post of origin relayed by neighbour at now. full tells
// that the neighbour's table of origins was full of live windows.
func (o *originLimiter) allow(neighbour, origin string, now time.Time) (ok, full bool) {
	o.mu.Lock()
	l := o.neighbours[neighbour]
	if l == nil {
		// Neighbours are the links' certificates, so there are few; the
		// bound only keeps a long-running node from piling up tables of
		// neighbours long gone.
		if len(o.neighbours) >= maxRateKeys {
			for n, old := range o.neighbours {
				if old.idle(now) {
					delete(o.neighbours, n)
				}
			}
		}
		if len(o.neighbours) >= maxRateKeys {
			o.mu.Unlock()
			return false, true
		}
		l = newLimiterOf(o.limit, maxOriginsPerNeighbour)
		o.neighbours[neighbour] = l
	}
	o.mu.Unlock()
	return l.take(origin, now)
}
