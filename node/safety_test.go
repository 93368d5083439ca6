package node_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/crypto/report"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/protocol"
)

// desk is an in-memory twin of the deny lists and reports node/store
// keeps (whose own tests hold the bbolt side), for the service's logic.
type desk struct {
	mu      sync.Mutex
	lists   map[string][]string
	reports []node.Report
}

func (d *desk) SetDenied(user, sender string, denied bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.lists[user]
	i := slices.Index(l, sender)
	switch {
	case denied && i < 0 && len(l) >= node.MaxDenyList:
		return node.ErrDenyListFull
	case denied && i < 0:
		d.lists[user] = append(l, sender)
	case !denied && i >= 0:
		d.lists[user] = slices.Delete(l, i, i+1)
	}
	return nil
}

func (d *desk) DenyLists() (map[string][]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string][]string{}
	for u, l := range d.lists {
		out[u] = slices.Clone(l)
	}
	return out, nil
}

func (d *desk) AddReport(r node.Report) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reports = append(d.reports, r)
	return nil
}

func (d *desk) Reports() ([]node.Report, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.reports), nil
}

// safetyFixture is a service on a memstore with d as its deny lists and
// reports and a report key; the OPAQUE secrets are made once per test
// (opaqueFor), so that a second service is the first one restarted.
func safetyFixture(t *testing.T, d *desk, st *memstore.Store, clk *clock) (*fixture, []byte) {
	t.Helper()
	srv := opaqueFor(t)
	key, err := report.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := node.New(node.Config{
		Identity: protocol.Identity{Domain: domain}, Store: st, OPAQUE: srv, Now: clk.now,
		Limits:    node.Limits{ResolveMinTime: time.Nanosecond},
		DenyLists: d, Reports: d, ReportKey: key.PublicKey().Bytes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, st: st, clock: clk}, key.PublicKey().Bytes()
}

var (
	opaqueMu      sync.Mutex
	opaqueServers = map[string]*opaque.Server{}
)

// opaqueFor returns the OPAQUE server of test t, made on first use.
func opaqueFor(t *testing.T) *opaque.Server {
	t.Helper()
	opaqueMu.Lock()
	defer opaqueMu.Unlock()
	if srv := opaqueServers[t.Name()]; srv != nil {
		return srv
	}
	cfg := opaque.DefaultConfig()
	secrets, err := opaque.GenerateServerSecrets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := opaque.NewServer(cfg, secrets)
	if err != nil {
		t.Fatal(err)
	}
	opaqueServers[t.Name()] = srv
	return srv
}

func sealedReport(t *testing.T, pub []byte) []byte {
	t.Helper()
	b, err := report.Seal(pub, report.Report{Reporter: "alice@" + domain, Sender: "bob@" + domain, Text: "x", Note: "y"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReportsAreKeptSealedRateLimitedPerAccountAndCheckedForShape(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)}
	st := memstore.New(memstore.Options{Now: clk.now})
	t.Cleanup(func() { st.Close() })
	d := &desk{lists: map[string][]string{}}
	f, pub := safetyFixture(t, d, st, clk)
	if h, err := f.svc.Health(t.Context()); err != nil || !slices.Equal(h.ReportKey, pub) {
		t.Fatalf("Health's report key %x, %v; want the service's", h.ReportKey, err)
	}
	a, c := loggedIn(t, f, "alice"), loggedIn(t, f, "carol")
	if err := f.conn(t, "192.0.2.9:1").Report(sealedReport(t, pub)); !errors.Is(err, protocol.ErrUnauthenticated) {
		t.Fatalf("a report without a login: %v", err)
	}
	if err := a.Report([]byte("not a report")); !errors.Is(err, protocol.ErrBadRequest) {
		t.Fatalf("junk: %v, want a bad request", err)
	}
	for i := range 5 {
		if err := a.Report(sealedReport(t, pub)); err != nil {
			t.Fatalf("report %d: %v", i+1, err)
		}
	}
	if err := a.Report(sealedReport(t, pub)); !errors.Is(err, protocol.ErrRateLimited) {
		t.Fatalf("a sixth report at once: %v, want ErrRateLimited", err)
	}
	if err := c.Report(sealedReport(t, pub)); err != nil {
		t.Fatalf("another account's report: %v; the limit is per account", err)
	}
	clk.add(time.Minute)
	if err := a.Report(sealedReport(t, pub)); err != nil {
		t.Fatalf("a report a minute later: %v", err)
	}
	got, err := f.svc.Reports()
	if err != nil || len(got) != 7 || got[0].Account != "alice" || got[5].Account != "carol" {
		t.Fatalf("reports kept: %d, %v", len(got), err)
	}
}

func TestADenyListDropsALocalSendersMessagesUntoldAndOnlyThose(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)}
	st := memstore.New(memstore.Options{Now: clk.now})
	t.Cleanup(func() { st.Close() })
	d := &desk{lists: map[string][]string{}}
	f, _ := safetyFixture(t, d, st, clk)
	a, b, c := loggedIn(t, f, "alice"), loggedIn(t, f, "bob"), loggedIn(t, f, "carol")
	must(t, a.BlockSender("bob", true))
	if err := a.BlockSender("alice@"+domain, true); !errors.Is(err, protocol.ErrBadRequest) {
		t.Fatalf("blocking herself: %v", err)
	}
	if got, err := a.BlockedSenders(); err != nil || !slices.Equal(got, []string{"bob@" + domain}) {
		t.Fatalf("alice's list: %v, %v", got, err)
	}
	rs := send(t, b, "alice", "from bob")
	if rs[0].Err != nil || rs[0].Seq != 0 {
		t.Fatalf("bob's receipt %+v; want no error (he is not told) and nothing stored", rs[0])
	}
	if rs := send(t, c, "alice", "from carol"); rs[0].Err != nil || rs[0].Seq != 1 {
		t.Fatalf("carol's receipt %+v", rs[0])
	}
	if rs := send(t, b, "carol", "bob to carol"); rs[0].Err != nil || rs[0].Seq != 1 {
		t.Fatalf("bob's message to carol: %+v; alice's list is hers", rs[0])
	}
	msgs, err := st.Fetch("alice", 0, 10)
	if err != nil || len(msgs) != 1 || string(msgs[0].Payload) != "from carol" {
		t.Fatalf("alice's mailbox: %d messages, %v; want carol's only", len(msgs), err)
	}
	// A new service on the same lists (a restart) enforces them too.
	f2, _ := safetyFixture(t, d, st, clk)
	b2 := f2.svc.NewConn("192.0.2.98:1")
	t.Cleanup(b2.Close)
	if _, err := login(b2, "bob"); err != nil {
		t.Fatal(err)
	}
	if rs := send(t, b2, "alice", "after a restart"); rs[0].Err != nil || rs[0].Seq != 0 {
		t.Fatalf("after a restart bob's receipt %+v", rs[0])
	}
	must(t, a.BlockSender("bob@"+domain, false))
	if rs := send(t, b, "alice", "unblocked"); rs[0].Seq != 2 {
		t.Fatalf("after the unblock bob's receipt %+v", rs[0])
	}
	for i := range node.MaxDenyList - 1 {
		must(t, c.BlockSender(fmt.Sprintf("u%d@elsewhere.mesh", i), true))
	}
	must(t, c.BlockSender("bob", true))
	if err := c.BlockSender("one-more@elsewhere.mesh", true); !errors.Is(err, node.ErrDenyListFull) {
		t.Fatalf("carol's entry %d: %v", node.MaxDenyList+1, err)
	}
}
