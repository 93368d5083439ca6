package ktwatch

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
)

// memLog is an in-memory log of one domain that signs its heads with key
// (and cert, when set): the twin of node/store's for the watch's logic.
type memLog struct {
	domain string
	key    ed25519.PrivateKey
	cert   []byte
	mem    *kt.Memory
	prefix string // entries differ by it between two logs' copies
}

func newMemLog(t testing.TB, domain string, key ed25519.PrivateKey, cert []byte, n int, prefix string) *memLog {
	l := &memLog{domain: domain, key: key, cert: cert, mem: kt.NewMemory(), prefix: prefix}
	l.grow(t, n)
	return l
}

func (l *memLog) grow(t testing.TB, n int) {
	for range n {
		e := kt.Entry{Kind: kt.KindRegister, Seq: 1, TimeMillis: 1, Address: fmt.Sprintf("%s%d@%s", l.prefix, l.mem.Size(), l.domain), Keys: kt.Hash{1}}
		if _, err := l.mem.Append(kt.LeafHash(e.Marshal())); err != nil {
			t.Fatal(err)
		}
	}
}

func (l *memLog) headAt(size uint64) ([]byte, error) {
	root, err := kt.Root(l.mem, size)
	if err != nil {
		return nil, err
	}
	sh, err := kt.SignHead(kt.Head{Domain: l.domain, Size: size, Root: root, TimeMillis: int64(size)}, l.key, l.cert)
	if err != nil {
		return nil, err
	}
	return sh.Marshal(), nil
}

func (l *memLog) KTHead() ([]byte, error) { return l.headAt(l.mem.Size()) }

func (l *memLog) KTConsistency(first, second uint64) ([][]byte, []byte, error) {
	if second == 0 {
		second = l.mem.Size()
	}
	head, err := l.headAt(second)
	if err != nil {
		return nil, nil, err
	}
	if first == 0 || first == second {
		return nil, head, nil
	}
	p, err := kt.ConsistencyProof(l.mem, first, second)
	if err != nil {
		return nil, nil, err
	}
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out, head, nil
}

func (l *memLog) consistency(_ context.Context, domain string, first, second uint64) ([][]byte, error) {
	if domain != l.domain {
		return nil, errors.New("no such domain")
	}
	p, _, err := l.KTConsistency(first, second)
	return p, err
}

// memEvidence is an in-memory EvidenceStore.
type memEvidence struct {
	mu sync.Mutex
	ev []protocol.KTEvidence
}

func (m *memEvidence) AddKTEvidence(e protocol.KTEvidence) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.ev {
		if (bytes.Equal(o.First, e.First) && bytes.Equal(o.Second, e.Second)) || (bytes.Equal(o.First, e.Second) && bytes.Equal(o.Second, e.First)) {
			return false, nil
		}
	}
	m.ev = append([]protocol.KTEvidence{e}, m.ev...)
	return true, nil
}

func (m *memEvidence) KTEvidence(limit int) ([]protocol.KTEvidence, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]protocol.KTEvidence(nil), m.ev[:min(limit, len(m.ev))]...), nil
}

// community is a test CA and the federation keys it issued.
type community struct {
	ca *ca.Authority
}

func newCommunity(t testing.TB) community {
	a, err := ca.New("test community", 10*365*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return community{a}
}

func (c community) issue(t testing.TB, domain string) (ed25519.PrivateKey, []byte) {
	certPEM, keyPEM, err := c.ca.Issue(ca.IssueOptions{Domain: domain})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair.PrivateKey.(ed25519.PrivateKey), pair.Certificate[0]
}

type fixture struct {
	w        *Watch
	own      *memLog
	ev       *memEvidence
	counted  int
	com      community
	n2       *memLog // the honest log of n2.mesh
	n2Forked *memLog // another log signed by n2.mesh's key
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{com: newCommunity(t), ev: &memEvidence{}}
	f.own = newMemLog(t, "n1.mesh", ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)), nil, 5, "u")
	key, cert := f.com.issue(t, "n2.mesh")
	f.n2 = newMemLog(t, "n2.mesh", key, cert, 10, "a")
	f.n2Forked = newMemLog(t, "n2.mesh", key, cert, 10, "b")
	w, err := New(Config{Domain: "n1.mesh", Own: f.own, Store: f.ev, Roots: f.com.ca.Pool(),
		Consistency: f.n2.consistency, OnEvidence: func() { f.counted++ }})
	if err != nil {
		t.Fatal(err)
	}
	f.w = w
	return f
}

func head(t *testing.T, l *memLog, size uint64) []byte {
	t.Helper()
	b, err := l.headAt(size)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) evidence(t *testing.T) []protocol.KTEvidence {
	ev, err := f.w.Evidence(100)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestTwoHeadsOfOneSizeWithDifferentRootsAreAFork(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := head(t, f.n2, 10), head(t, f.n2Forked, 10)
	for _, h := range [][]byte{a, a, b, b} {
		if err := f.w.Observe(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	ev := f.evidence(t)
	if len(ev) != 1 || f.counted != 1 {
		t.Fatalf("%d pieces of evidence, counted %d; want 1", len(ev), f.counted)
	}
	if e := ev[0]; e.Reason != kt.ReasonFork || e.Domain != "n2.mesh" || e.ReportedBy != "n1.mesh" || !bytes.Equal(e.First, a) || !bytes.Equal(e.Second, b) {
		t.Errorf("evidence %+v", e)
	}
}

func TestHeadsOfDifferentSizesAreJudgedByTheDomainsProof(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.w.Observe(ctx, head(t, f.n2, 4)); err != nil {
		t.Fatal(err)
	}
	// A larger head of the honest log: consistent, and remembered.
	if err := f.w.Observe(ctx, head(t, f.n2, 9)); err != nil {
		t.Fatal(err)
	}
	if ev := f.evidence(t); len(ev) != 0 {
		t.Fatalf("evidence against an honest log: %+v", ev)
	}
	heads, err := f.w.Heads()
	if err != nil || len(heads) != 2 {
		t.Fatalf("heads %d, %v", len(heads), err)
	}
	if sh, _ := kt.ParseSignedHead(heads[1]); sh.Size != 9 {
		t.Errorf("remembered the head of size %d, want 9", sh.Size)
	}
	if sh, _ := kt.ParseSignedHead(heads[0]); sh.Domain != "n1.mesh" {
		t.Errorf("the first head gossiped is %s's, want the node's own", sh.Domain)
	}
	// A head of the other copy, larger: n2's proof from 9 does not lead
	// to its root.
	if err := f.w.Observe(ctx, head(t, f.n2Forked, 10)); err != nil {
		t.Fatal(err)
	}
	ev := f.evidence(t)
	if len(ev) != 1 || ev[0].Reason != kt.ReasonInconsistent {
		t.Fatalf("evidence %+v, want one inconsistency", ev)
	}
}

func TestHeadsThatMayNotSpeakForTheirDomainAreRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := newCommunity(t)
	key, cert := other.issue(t, "n2.mesh")
	n3key, n3cert := f.com.issue(t, "n3.mesh")
	for _, c := range []struct {
		name string
		log  *memLog
	}{
		{"a head of another domain signed with a bare key", newMemLog(t, "n2.mesh", key, nil, 3, "x")},
		{"a head signed by another community's certificate", newMemLog(t, "n2.mesh", key, cert, 3, "x")},
		{"a head of n2 signed by n3's certificate", &memLog{domain: "n2.mesh", key: n3key, cert: n3cert, mem: kt.NewMemory()}},
		{"a head of this node's domain signed with another key", newMemLog(t, "n1.mesh", key, nil, 3, "x")},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := c.log.KTHead()
			if err != nil {
				// SignHead refuses a certificate of another key.
				return
			}
			if err := f.w.Observe(ctx, h); err == nil {
				t.Error("taken")
			}
		})
	}
	if err := f.w.Observe(ctx, []byte("garbage")); !errors.Is(err, kt.ErrEncoding) {
		t.Errorf("garbage: %v", err)
	}
	if ev := f.evidence(t); len(ev) != 0 {
		t.Errorf("refused heads made evidence: %+v", ev)
	}
}

func TestAHeadOfTheNodesOwnLogThatItDoesNotHaveIsEvidence(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	same, err := f.own.headAt(3)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.w.Observe(ctx, same); err != nil {
		t.Fatal(err)
	}
	if ev := f.evidence(t); len(ev) != 0 {
		t.Fatalf("the node's own head made evidence: %+v", ev)
	}
	// The same key signed a log with other entries: the store was
	// changed, or the key is used elsewhere.
	forked := newMemLog(t, "n1.mesh", f.own.key, nil, 5, "z")
	if err := f.w.Observe(ctx, head(t, forked, 4)); err != nil {
		t.Fatal(err)
	}
	// And a head beyond the log: the log was rolled back.
	forked.grow(t, 5)
	if err := f.w.Observe(ctx, head(t, forked, 10)); err != nil {
		t.Fatal(err)
	}
	ev := f.evidence(t)
	if len(ev) != 2 || ev[0].Reason != kt.ReasonInconsistent || ev[1].Reason != kt.ReasonFork {
		t.Errorf("evidence %+v, want a fork then an inconsistency", ev)
	}
}

func TestEvidenceHandedOverIsCheckedBeforeItIsKept(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := head(t, f.n2, 10), head(t, f.n2Forked, 10)
	found := time.UnixMilli(1234)
	bad := []protocol.KTEvidence{
		{First: a, Second: a, Reason: "fork"},
		{First: a, Second: []byte("garbage"), Reason: "fork"},
		{First: a, Second: head(t, f.n2, 5), Reason: "inconsistent"},
		{First: a, Second: head(t, f.own, 5), Reason: "fork"},
	}
	for i, e := range bad {
		if err := f.w.Take(ctx, e); !errors.Is(err, ErrBadEvidence) {
			t.Errorf("bad evidence %d: %v, want ErrBadEvidence", i, err)
		}
	}
	good := protocol.KTEvidence{First: a, Second: b, Reason: "whatever", Domain: "lies.mesh", Found: found, ReportedBy: "n3.mesh"}
	if err := f.w.Take(ctx, good); err != nil {
		t.Fatal(err)
	}
	ev := f.evidence(t)
	if len(ev) != 1 || ev[0].Reason != kt.ReasonFork || ev[0].Domain != "n2.mesh" || ev[0].ReportedBy != "n3.mesh" || !ev[0].Found.Equal(found) {
		t.Errorf("evidence %+v", ev)
	}
	if f.counted != 1 {
		t.Errorf("counted %d", f.counted)
	}
}

func TestARefusalByTheLogsNodeIsEvidenceAndAnUnreachableNodeIsNot(t *testing.T) {
	for _, c := range []struct {
		name     string
		answer   func() ([][]byte, error)
		evidence bool
	}{
		{"the node is out of reach", func() ([][]byte, error) { return nil, errors.New("link down") }, false},
		{"the node refuses the sizes", func() ([][]byte, error) {
			return nil, fmt.Errorf("%w: tree size beyond the log", protocol.ErrBadRequest)
		}, true},
		{"the node answers a malformed proof", func() ([][]byte, error) { return [][]byte{make([]byte, 31)}, nil }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.w.SetConsistency(func(context.Context, string, uint64, uint64) ([][]byte, error) { return c.answer() })
			ctx := context.Background()
			for _, size := range []uint64{4, 9} {
				if err := f.w.Observe(ctx, head(t, f.n2, size)); err != nil {
					t.Fatal(err)
				}
			}
			if got := len(f.evidence(t)) == 1; got != c.evidence {
				t.Errorf("evidence %v, want %v", f.evidence(t), c.evidence)
			}
		})
	}
}

// TestAHeadThatCannotBeJudgedYetIsJudgedWithTheNext: the domain's node is
// out of reach when a larger head of a rewritten log arrives (its link
// still coming up), so the watch keeps the head it knew and judges the
// next arrival of the larger head against it; with no link to the domain
// at all, it follows the newer head, which it can never judge.
func TestAHeadThatCannotBeJudgedYetIsJudgedWithTheNext(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		first    error
		evidence bool
	}{
		{"the link is still coming up", fmt.Errorf("%w: %w to n2.mesh", protocol.ErrPeerUnreachable, protocol.ErrNoLink), true},
		{"no link to the domain", fmt.Errorf("%w: %w: no federation peer serves n2.mesh", protocol.ErrUnknownDomain, protocol.ErrNoLink), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			calls := 0
			f.w.SetConsistency(func(ctx context.Context, domain string, first, second uint64) ([][]byte, error) {
				calls++
				if calls == 1 {
					return nil, c.first
				}
				return f.n2Forked.consistency(ctx, domain, first, second)
			})
			if err := f.w.Observe(ctx, head(t, f.n2, 4)); err != nil {
				t.Fatal(err)
			}
			larger := head(t, f.n2Forked, 9)
			for range 2 {
				if err := f.w.Observe(ctx, larger); err != nil {
					t.Fatal(err)
				}
			}
			ev := f.evidence(t)
			if got := len(ev) == 1 && ev[0].Reason == kt.ReasonInconsistent; got != c.evidence {
				t.Errorf("evidence %+v, want an inconsistency: %v", ev, c.evidence)
			}
		})
	}
}
