package federation

import (
	"crypto"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/attest"
	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/mesh/route"
	"github.com/quicprochat/qpc/protocol"
)

// TestOneHopAdvertsNeedTheClaimedDomainsLinkStatement checks what a node
// keeps of a neighbour's advert list: one-hop entries only with the
// claimed domain's statement naming that neighbour; everything else as
// sent.
func TestOneHopAdvertsNeedTheClaimedDomainsLinkStatement(t *testing.T) {
	community, other := newCA(t), newCA(t)
	self := issue(t, community, ca.IssueOptions{Domain: "a.mesh"})
	d := issue(t, community, ca.IssueOptions{Domain: "d.mesh"})
	e := issue(t, community, ca.IssueOptions{Domain: "e.mesh"})
	outsider := issue(t, other, ca.IssueOptions{Domain: "d.mesh"})
	obs := &forgedCounter{}
	m, err := New(Config{Domain: "a.mesh", Cert: self, Roots: community.Pool(), Inbound: func(string) Inbound { return nil }, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	stmt := func(cert []byte, key crypto.Signer, neighbour string) []byte {
		b, err := attest.SignLink(neighbour, now, 10*time.Minute, cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dForR := stmt(d.Certificate[0], d.PrivateKey.(crypto.Signer), "r.mesh")
	eForR := stmt(e.Certificate[0], e.PrivateKey.(crypto.Signer), "r.mesh")
	outsiderForR := stmt(outsider.Certificate[0], outsider.PrivateKey.(crypto.Signer), "r.mesh")

	tests := []struct {
		name   string
		from   string
		advert route.Advert
		link   []byte
		keep   bool
	}{
		{"the neighbour's own entry needs nothing", "r.mesh", route.Advert{Domain: "r.mesh", Hops: 0}, nil, true},
		{"a one-hop entry with the domain's statement naming the neighbour is kept", "r.mesh", route.Advert{Domain: "d.mesh", Hops: 1}, dForR, true},
		{"a one-hop entry without a statement is dropped", "evil.mesh", route.Advert{Domain: "d.mesh", Hops: 1}, nil, false},
		{"a statement naming another neighbour does not count", "evil.mesh", route.Advert{Domain: "d.mesh", Hops: 1}, dForR, false},
		{"a statement of another domain does not count", "r.mesh", route.Advert{Domain: "d.mesh", Hops: 1}, eForR, false},
		{"a statement under another CA does not count", "r.mesh", route.Advert{Domain: "d.mesh", Hops: 1}, outsiderForR, false},
		{"garbage does not count", "r.mesh", route.Advert{Domain: "d.mesh", Hops: 1}, []byte{1, 2, 3}, false},
		{"longer claims cannot be checked and are kept", "evil.mesh", route.Advert{Domain: "d.mesh", Hops: 2}, nil, true},
		{"this node's own domain is left to the table", "r.mesh", route.Advert{Domain: "a.mesh", Hops: 1}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := obs.count(tt.from, "route-advert")
			got := m.checkAdverts(tt.from, []route.Advert{tt.advert}, [][]byte{tt.link})
			if kept := slices.Contains(got, tt.advert); kept != tt.keep {
				t.Errorf("kept = %v, want %v", kept, tt.keep)
			}
			if counted := obs.count(tt.from, "route-advert") - before; counted != map[bool]int{true: 0, false: 1}[tt.keep] {
				t.Errorf("a %v entry counted %d times as forged", map[bool]string{true: "kept", false: "dropped"}[tt.keep], counted)
			}
		})
	}
	// In one list, only the bad entry goes.
	list := []route.Advert{{Domain: "evil.mesh", Hops: 0}, {Domain: "d.mesh", Hops: 1}, {Domain: "e.mesh", Hops: 3}}
	got := m.checkAdverts("evil.mesh", list, [][]byte{nil, nil, nil})
	if want := []route.Advert{{Domain: "evil.mesh", Hops: 0}, {Domain: "e.mesh", Hops: 3}}; !slices.Equal(got, want) {
		t.Errorf("checkAdverts = %v, want %v", got, want)
	}
}

// TestAnswersForOwnUsersAreSignedAndCheckedAnswersNameTheirRelay checks
// signAnswer and checkAnswer of two managers.
func TestAnswersForOwnUsersAreSignedAndCheckedAnswersNameTheirRelay(t *testing.T) {
	community := newCA(t)
	obs := &forgedCounter{}
	mk := func(domain string) *Manager {
		m, err := New(Config{Domain: domain, Cert: issue(t, community, ca.IssueOptions{Domain: domain}), Roots: community.Pool(),
			Inbound: func(string) Inbound { return nil }, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	d, a, evil := mk("d.mesh"), mk("a.mesh"), mk("evil.mesh")
	k := protocol.PublishedKeys{IdentityKey: make([]byte, 32), HPKEKey: make([]byte, 1216), Signature: make([]byte, 64), Published: time.Now()}
	signed, err := d.signAnswer("carol@d.mesh", k)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.checkAnswer("carol@d.mesh", "d.mesh", signed); err != nil {
		t.Fatalf("d's own answer: %v", err)
	}
	byEvil, err := evil.signAnswer("carol@d.mesh", k)
	if err != nil {
		t.Fatal(err)
	}
	err = a.checkAnswer("carol@d.mesh", "evil.mesh", byEvil)
	fe, ok := errors.AsType[*attest.ForgedError](err)
	if !ok || fe.Signer != "evil.mesh" || fe.AnsweredBy != "evil.mesh" || fe.Domain != "d.mesh" {
		t.Fatalf("evil's answer for carol@d.mesh: %#v", err)
	}
	if obs.count("evil.mesh", "key-answer") != 1 || obs.count("d.mesh", "key-answer") != 0 {
		t.Errorf("forged key answers counted: %v, want one from evil.mesh", obs.n)
	}
	if !errors.Is(err, protocol.ErrForgedKeys) || !errors.Is(err, attest.ErrForgedKeys) {
		t.Fatalf("evil's answer: %v is not both protocol.ErrForgedKeys and attest.ErrForgedKeys", err)
	}
	if err.Error() != fe.Error() {
		t.Errorf("the refusal's text %q is not the finding's %q", err, fe)
	}
}

// forgedCounter is an Observer that counts Forged calls by peer and kind.
type forgedCounter struct {
	nopObserver
	mu sync.Mutex
	n  map[string]int
}

func (f *forgedCounter) Forged(peer, kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[peer+" "+kind]++
}

func (f *forgedCounter) count(peer, kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[peer+" "+kind]
}
