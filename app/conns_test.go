package app

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/transport"
)

// fakeConn stands in for a QUIC connection in the tracker's unit tests: it
// has an address and records how it was closed.
type fakeConn struct {
	addr *net.UDPAddr

	mu     sync.Mutex
	closed int // times CloseWithError was called
	code   quic.ApplicationErrorCode
}

func newFakeConn(ip string, port int) *fakeConn {
	return &fakeConn{addr: &net.UDPAddr{IP: net.ParseIP(ip), Port: port}}
}

func (c *fakeConn) RemoteAddr() net.Addr { return c.addr }

func (c *fakeConn) CloseWithError(code quic.ApplicationErrorCode, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed++
	c.code = code
	return nil
}

func (c *fakeConn) closedWith() (int, quic.ApplicationErrorCode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed, c.code
}

// fakeCloser stands in for an RPC connection.
type fakeCloser struct{ closed int }

func (c *fakeCloser) Close() error { c.closed++; return nil }

// checkCounts fails the test unless the tracker's counters agree with its
// entries and its limits.
func checkCounts(t *testing.T, tr *connTracker) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	perSource := map[netip.Prefix]int{}
	unauthBySource := map[netip.Prefix]int{}
	unauth, evicting := 0, 0
	for _, e := range tr.conns {
		perSource[e.source]++
		switch {
		case e.evicted:
			evicting++
		case !e.authed:
			unauth++
			unauthBySource[e.source]++
		}
	}
	if unauth != tr.unauth || evicting != tr.evicting {
		t.Fatalf("unauth, evicting = %d, %d; the entries say %d, %d", tr.unauth, tr.evicting, unauth, evicting)
	}
	for src, k := range tr.perSource {
		if k != perSource[src] {
			t.Fatalf("perSource[%s] = %d; the entries say %d", src, k, perSource[src])
		}
	}
	if len(tr.perSource) != len(perSource) {
		t.Fatalf("perSource has %d sources, the entries %d: a source without connections was kept", len(tr.perSource), len(perSource))
	}
	for src, k := range tr.unauthBySource {
		if k != unauthBySource[src] {
			t.Fatalf("unauthBySource[%s] = %d; the entries say %d", src, k, unauthBySource[src])
		}
	}
	for src, k := range perSource {
		if k > tr.limits.perSource {
			t.Fatalf("%s holds %d connections, over the limit of %d", src, k, tr.limits.perSource)
		}
	}
	if len(tr.conns)-tr.evicting > tr.limits.total || tr.unauth > tr.limits.unauthenticated {
		t.Fatalf("%d connections (%d evicted, %d not logged in) break the limits %+v", len(tr.conns), tr.evicting, tr.unauth, tr.limits)
	}
}

func TestTheTrackerRefusesEachLimitWithItsOwnError(t *testing.T) {
	tests := []struct {
		name   string
		limits connLimits
		authed bool // log the first connections in, to keep the pool free
		want   error
		flag   string
		reason string
	}{
		{"over the total", connLimits{total: 2, perSource: 9, unauthenticated: 9}, true, errTooManyConnections, "--max-connections 2", "total"},
		{"over the per-source bound", connLimits{total: 9, perSource: 2, unauthenticated: 9}, true, errTooManyFromSource, "--max-connections-per-source 2", "per_source"},
		{"over the unauthenticated pool, from its largest holder", connLimits{total: 9, perSource: 9, unauthenticated: 2}, false, errTooManyAnonymous, "--max-unauthenticated 2", "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newConnTracker(tt.limits)
			for i := range 2 {
				c := newFakeConn("192.0.2.1", 1000+i)
				if err := tr.admit(c); err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				if tt.authed {
					tr.authenticated(c)
				}
			}
			err := tr.admit(newFakeConn("192.0.2.1", 2000))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.flag) {
				t.Errorf("err = %q does not name %q", err, tt.flag)
			}
			if got := refusalReason(err); got != tt.reason {
				t.Errorf("refusalReason = %q, want %q", got, tt.reason)
			}
			if got := tr.open(); got != 2 {
				t.Errorf("open = %d after a refusal, want 2", got)
			}
			checkCounts(t, tr)
		})
	}
}

func TestANewcomerEvictsOneConnectionOfTheLargestHolderOnly(t *testing.T) {
	tr := newConnTracker(connLimits{total: 100, perSource: 100, unauthenticated: 4})
	evictions := 0
	tr.onEvict = func() { evictions++ }
	var flood []*fakeConn
	for i := range 4 {
		c := newFakeConn("192.0.2.1", 1000+i)
		if err := tr.admit(c); err != nil {
			t.Fatal(err)
		}
		flood = append(flood, c)
	}
	closedFlood := func() int {
		k := 0
		for _, c := range flood {
			n, code := c.closedWith()
			if n > 0 {
				k++
				if code != transport.CodeBusy {
					t.Errorf("an evicted connection was closed with code %d, want CodeBusy", code)
				}
			}
		}
		return k
	}

	// 4 of the flood against 0: the newcomer takes one place.
	user := newFakeConn("192.0.2.9", 1)
	if err := tr.admit(user); err != nil {
		t.Fatalf("a newcomer from another source with the pool full: %v", err)
	}
	if got := closedFlood(); got != 1 || evictions != 1 {
		t.Fatalf("%d of the flood closed, %d evictions counted; want 1 and 1", got, evictions)
	}
	checkCounts(t, tr)

	// 3 against 1: still more than the newcomer's 1+1.
	if err := tr.admit(newFakeConn("192.0.2.9", 2)); err != nil {
		t.Fatalf("a second newcomer: %v", err)
	}
	if got := closedFlood(); got != 2 || evictions != 2 {
		t.Fatalf("%d of the flood closed, %d evictions counted; want 2 and 2", got, evictions)
	}
	checkCounts(t, tr)

	// 2 against 2: nobody holds more; both sources are refused.
	for _, ip := range []string{"192.0.2.1", "192.0.2.9"} {
		if err := tr.admit(newFakeConn(ip, 3)); !errors.Is(err, errTooManyAnonymous) {
			t.Errorf("a newcomer from %s with the pool shared evenly: err = %v, want errTooManyAnonymous", ip, err)
		}
	}
	if got := closedFlood(); got != 2 || evictions != 2 {
		t.Errorf("a refusal evicted: %d of the flood closed, %d evictions", got, evictions)
	}
	if n, _ := user.closedWith(); n != 0 {
		t.Error("the newcomer's own connection was closed")
	}
	checkCounts(t, tr)
}

func TestEvictedConnectionsLeaveRoomInTheTotalUntilUntracked(t *testing.T) {
	tr := newConnTracker(connLimits{total: 4, perSource: 100, unauthenticated: 4})
	var flood []*fakeConn
	for i := range 4 {
		c := newFakeConn("192.0.2.1", 1000+i)
		if err := tr.admit(c); err != nil {
			t.Fatal(err)
		}
		flood = append(flood, c)
	}
	// The total is reached; only eviction makes room, and the evicted
	// connection is still tracked.
	if err := tr.admit(newFakeConn("192.0.2.9", 1)); !errors.Is(err, errTooManyConnections) {
		t.Fatalf("err = %v, want errTooManyConnections: the pool's bound comes after the total's", err)
	}
	tr.limits.total = 5
	if err := tr.admit(newFakeConn("192.0.2.9", 1)); err != nil {
		t.Fatal(err)
	}
	if err := tr.admit(newFakeConn("192.0.2.8", 1)); err != nil {
		t.Fatalf("with one connection evicted but still tracked: %v", err)
	}
	if got := tr.open(); got != 6 {
		t.Fatalf("open = %d, want 6 (two of them evicted)", got)
	}
	checkCounts(t, tr)
	for _, c := range flood {
		if n, _ := c.closedWith(); n > 0 {
			tr.untrack(c)
		}
	}
	tr.mu.Lock()
	evicting := tr.evicting
	tr.mu.Unlock()
	if evicting != 0 {
		t.Errorf("evicting = %d after the evicted connections were untracked, want 0", evicting)
	}
	checkCounts(t, tr)
}

func TestALoggedInConnectionFreesItsPlaceInThePool(t *testing.T) {
	tr := newConnTracker(connLimits{total: 100, perSource: 100, unauthenticated: 2})
	a, b := newFakeConn("192.0.2.1", 1), newFakeConn("192.0.2.1", 2)
	for _, c := range []*fakeConn{a, b} {
		if err := tr.admit(c); err != nil {
			t.Fatal(err)
		}
	}
	tr.authenticated(a)
	tr.authenticated(a) // a second login of the same connection counts once
	if err := tr.admit(newFakeConn("192.0.2.1", 3)); err != nil {
		t.Fatalf("after a login freed a place: %v", err)
	}
	if n, _ := b.closedWith(); n != 0 {
		t.Error("a connection was evicted although the pool had room")
	}
	checkCounts(t, tr)
	if err := tr.admit(newFakeConn("192.0.2.1", 4)); !errors.Is(err, errTooManyAnonymous) {
		t.Errorf("err = %v, want errTooManyAnonymous", err)
	}
}

// Random admissions, logins and departures keep every counter equal to
// what the entries say, keep the limits, and leave nothing behind.
func TestTheTrackersCountsFollowItsEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tr := newConnTracker(connLimits{total: 12, perSource: 5, unauthenticated: 6})
	var open []*fakeConn
	for i := range 3000 {
		switch op := rng.IntN(3); {
		case op == 0 || len(open) == 0:
			c := newFakeConn(fmt.Sprintf("192.0.2.%d", 1+rng.IntN(4)), i)
			if err := tr.admit(c); err == nil {
				open = append(open, c)
			} else if !errors.Is(err, errTooManyConnections) && !errors.Is(err, errTooManyFromSource) && !errors.Is(err, errTooManyAnonymous) {
				t.Fatalf("admit: %v", err)
			}
		case op == 1:
			tr.authenticated(open[rng.IntN(len(open))])
		default:
			k := rng.IntN(len(open))
			tr.untrack(open[k])
			open = append(open[:k], open[k+1:]...)
		}
		checkCounts(t, tr)
	}
	for _, c := range open {
		tr.untrack(c)
	}
	checkCounts(t, tr)
	if tr.open() != 0 || tr.unauth != 0 || tr.evicting != 0 || len(tr.perSource) != 0 || len(tr.unauthBySource) != 0 {
		t.Errorf("after every connection left: open %d, unauth %d, evicting %d, %d sources, %d pool sources",
			tr.open(), tr.unauth, tr.evicting, len(tr.perSource), len(tr.unauthBySource))
	}
}

func TestCloseAllClosesEveryConnectionAndRefusesNewOnes(t *testing.T) {
	tr := newConnTracker(connLimits{total: 10, perSource: 10, unauthenticated: 10})
	a, b := newFakeConn("192.0.2.1", 1), newFakeConn("192.0.2.2", 1)
	for _, c := range []*fakeConn{a, b} {
		if err := tr.admit(c); err != nil {
			t.Fatal(err)
		}
	}
	rc := &fakeCloser{}
	if !tr.setRPC(a, rc) {
		t.Fatal("setRPC refused before shutdown")
	}
	tr.closeAll()
	for _, c := range []*fakeConn{a, b} {
		if n, code := c.closedWith(); n != 1 || code != transport.CodeShutdown {
			t.Errorf("closed %d times with code %d, want once with CodeShutdown", n, code)
		}
	}
	if rc.closed != 1 {
		t.Errorf("the RPC connection was closed %d times, want 1", rc.closed)
	}
	if err := tr.admit(newFakeConn("192.0.2.3", 1)); !errors.Is(err, errStopping) {
		t.Errorf("admit after closeAll: err = %v, want errStopping", err)
	}
	if tr.setRPC(b, &fakeCloser{}) {
		t.Error("setRPC accepted after closeAll")
	}
	tr.untrack(a) // the serving goroutines still untrack; that must be harmless
	tr.authenticated(b)
	if got := tr.open(); got != 0 {
		t.Errorf("open = %d after closeAll, want 0", got)
	}
}

func TestRefusalsWarnOnceAMinutePerReason(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var r refusalLog
	total := fmt.Errorf("%w (--max-connections 1)", errTooManyConnections)
	source := fmt.Errorf("%w (--max-connections-per-source 1)", errTooManyFromSource)
	r.log(log, total)
	r.log(log, total)
	r.log(log, source)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"level=WARN", "level=DEBUG", "level=WARN"}
	if len(lines) != len(want) {
		t.Fatalf("logged %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want %s", i, lines[i], w)
		}
	}
	if !strings.Contains(lines[2], "reason=per_source") {
		t.Errorf("the per-source warning does not give its reason: %q", lines[2])
	}
}
