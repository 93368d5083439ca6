package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/transport"
)

// Why a connection is refused; each is a value of the reason label of
// qpc_connections_refused_total.
var (
	errTooManyConnections = errors.New("too many connections")
	errTooManyFromSource  = errors.New("too many connections from this address")
	errTooManyAnonymous   = errors.New("too many connections not logged in")
	errStopping           = errors.New("node shutting down")
)

func refusalReason(err error) string {
	switch {
	case errors.Is(err, errTooManyFromSource):
		return "per_source"
	case errors.Is(err, errTooManyAnonymous):
		return "unauthenticated"
	default:
		return "total"
	}
}

// sourceOf returns the source a connection counts against: its IPv4
// address, or the /64 of its IPv6 address, since one host on IPv6 has a
// whole /64 to pick addresses from.
func sourceOf(addr net.Addr) netip.Prefix {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return netip.Prefix{}
	}
	ip := ua.AddrPort().Addr().Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// trackedConn is what the tracker needs of a client connection: where it
// comes from, and a way to close it. *quic.Conn is one; the tracker's unit
// tests use a stand-in, so its accounting is tested without QUIC.
type trackedConn interface {
	RemoteAddr() net.Addr
	CloseWithError(code quic.ApplicationErrorCode, reason string) error
}

// connLimits are the bounds on client connections: --max-connections,
// --max-connections-per-source and --max-unauthenticated.
type connLimits struct {
	total, perSource, unauthenticated int
}

// connEntry is what the node tracks of an open client connection.
type connEntry struct {
	rc     io.Closer // its RPC connection; nil while its stream is awaited
	source netip.Prefix
	authed bool // logged in or resumed a session
	// evicted is set when the connection gave its place in the
	// unauthenticated pool to a newcomer from a smaller source and is
	// being closed; it no longer counts in that pool.
	evicted bool
}

// connTracker counts a node's open client connections against its limits:
// in total, per source, and in the pool of those not logged in yet. It
// decides which connection is evicted from a full pool, and closes what it
// tracks at shutdown.
type connTracker struct {
	limits   connLimits
	onEvict  func() // told of each eviction; may be nil
	refusals refusalLog

	mu        sync.Mutex
	conns     map[trackedConn]*connEntry // nil once closeAll has begun
	perSource map[netip.Prefix]int       // open connections by source
	unauth    int                        // open connections not logged in
	evicting  int                        // evicted connections not yet untracked
	// unauthBySource counts the connections of the unauthenticated pool
	// by source, for eviction (admit).
	unauthBySource map[netip.Prefix]int
}

func newConnTracker(limits connLimits) *connTracker {
	return &connTracker{
		limits:         limits,
		conns:          map[trackedConn]*connEntry{},
		perSource:      map[netip.Prefix]int{},
		unauthBySource: map[netip.Prefix]int{},
	}
}

// open returns how many client connections are open.
func (t *connTracker) open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// admit records a new connection in the unauthenticated pool, or says
// why it must be refused: --max-connections, --max-connections-per-source
// or --max-unauthenticated reached, or shutdown begun (errStopping).
//
// A full unauthenticated pool does not simply refuse: a newcomer from a
// source that holds fewer places in the pool than the largest holder
// takes the place of one of that holder's connections (picked at random),
// which is closed. So whoever floods the pool from few addresses spends
// its own places, and someone who reconnects to log in still gets a turn;
// only a newcomer whose source is already among the largest holders is
// refused.
func (t *connTracker) admit(conn trackedConn) error {
	src := sourceOf(conn.RemoteAddr())
	var victim trackedConn
	err := func() error {
		t.mu.Lock()
		defer t.mu.Unlock()
		switch {
		case t.conns == nil:
			return errStopping
		// An evicted connection is closed already; it stays in t.conns
		// only until its goroutine runs, which under load can take a
		// while, so it does not count against the total.
		case len(t.conns)-t.evicting >= t.limits.total:
			return fmt.Errorf("%w (--max-connections %d)", errTooManyConnections, t.limits.total)
		case t.perSource[src] >= t.limits.perSource:
			return fmt.Errorf("%w (--max-connections-per-source %d)", errTooManyFromSource, t.limits.perSource)
		case t.unauth >= t.limits.unauthenticated:
			victim = t.evictionVictim(src)
			if victim == nil {
				return fmt.Errorf("%w (--max-unauthenticated %d)", errTooManyAnonymous, t.limits.unauthenticated)
			}
			e := t.conns[victim]
			e.evicted = true
			t.evicting++
			t.unauth--
			t.unauthBySource[e.source]--
		}
		t.conns[conn] = &connEntry{source: src}
		t.perSource[src]++
		t.unauth++
		t.unauthBySource[src]++
		return nil
	}()
	if victim != nil {
		if t.onEvict != nil {
			t.onEvict()
		}
		victim.CloseWithError(transport.CodeBusy, "too many connections not logged in; this one gave its place to another address")
	}
	return err
}

// evictionVictim picks, when the unauthenticated pool is full, a
// connection of the source with the most places in it, at random, if
// that source holds more places than src would after admitting one more;
// else it returns nil. t.mu must be held.
func (t *connTracker) evictionVictim(src netip.Prefix) trackedConn {
	var top netip.Prefix
	most := 0
	for s, k := range t.unauthBySource {
		if k > most {
			top, most = s, k
		}
	}
	if most <= t.unauthBySource[src]+1 {
		return nil
	}
	var victim trackedConn
	seen := 0
	for c, e := range t.conns {
		if e.source != top || e.authed || e.evicted {
			continue
		}
		// Reservoir sampling: each candidate is kept with probability
		// 1/seen, so every one is equally likely to go.
		if seen++; rand.IntN(seen) == 0 {
			victim = c
		}
	}
	return victim
}

// setRPC records conn's RPC connection, so that closeAll closes it; false
// means shutdown has begun.
func (t *connTracker) setRPC(conn trackedConn, rc io.Closer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.conns[conn]
	if ok {
		e.rc = rc
	}
	return ok
}

// authenticated moves conn from the unauthenticated pool to the logged-in
// one.
func (t *connTracker) authenticated(conn trackedConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.conns[conn]; ok && !e.authed && !e.evicted {
		e.authed = true
		t.unauth--
		t.unauthBySource[e.source]--
	}
}

// untrack forgets conn, which has been closed.
func (t *connTracker) untrack(conn trackedConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.conns[conn]
	if !ok {
		return
	}
	delete(t.conns, conn)
	if t.perSource[e.source]--; t.perSource[e.source] <= 0 {
		delete(t.perSource, e.source)
	}
	switch {
	case e.evicted:
		t.evicting--
	case !e.authed:
		t.unauth--
		t.unauthBySource[e.source]--
	}
	if t.unauthBySource[e.source] <= 0 {
		delete(t.unauthBySource, e.source)
	}
}

// closeAll closes every tracked connection and its RPC connection, and
// makes admit and setRPC refuse from then on.
func (t *connTracker) closeAll() {
	t.mu.Lock()
	conns := t.conns
	t.conns = nil // from here on, admit refuses
	t.mu.Unlock()
	for conn, e := range conns {
		if e.rc != nil {
			e.rc.Close()
		}
		conn.CloseWithError(transport.CodeShutdown, "node shutting down")
	}
}

// refusalLog logs refused connections at warn level at most once a
// minute per reason, and the others at debug level: a flood of refused
// connections must not flood a router's log.
type refusalLog struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (r *refusalLog) log(log *slog.Logger, err error) {
	reason := refusalReason(err)
	r.mu.Lock()
	now := time.Now()
	warn := now.Sub(r.last[reason]) >= time.Minute
	if warn {
		if r.last == nil {
			r.last = map[string]time.Time{}
		}
		r.last[reason] = now
	}
	r.mu.Unlock()
	if warn {
		log.Warn("refusing connections", "err", err, "reason", reason, "note", "further refusals for a minute are logged at debug level")
		return
	}
	log.Debug("refusing connection", "err", err)
}
