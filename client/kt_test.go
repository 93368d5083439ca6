package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/crypto/keystore"
	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
)

// testLog is a node's key transparency log in memory, as a node keeps it:
// the entries and the tree, signed by the node's key or certificate. The
// checks under test run on what it hands out.
type testLog struct {
	t       *testing.T
	domain  string
	key     ed25519.PrivateKey
	cert    []byte // nil: heads signed by the node key (kind 1)
	tree    *kt.Memory
	entries [][]byte
	keys    map[string]protocol.PublishedKeys // latest by address
	index   map[string]uint64                 // latest entry by address
	seq     map[string]uint64
}

func newTestLog(t *testing.T, domain string, cert []byte, key ed25519.PrivateKey) *testLog {
	if key == nil {
		_, key, _ = ed25519.GenerateKey(rand.Reader)
	}
	return &testLog{t: t, domain: domain, key: key, cert: cert, tree: kt.NewMemory(),
		keys: map[string]protocol.PublishedKeys{}, index: map[string]uint64{}, seq: map[string]uint64{}}
}

func randomKeys() protocol.PublishedKeys {
	b := func(n int) []byte { x := make([]byte, n); rand.Read(x); return x }
	return protocol.PublishedKeys{IdentityKey: b(32), HPKEKey: b(1216), Signature: b(64), AccountKey: b(32), DeviceList: b(200)}
}

// publish appends addr's keys k to the log, as the node does when a
// directory entry changes.
func (l *testLog) publish(addr string, k protocol.PublishedKeys) {
	l.t.Helper()
	l.seq[addr]++
	kind := kt.KindUpdate
	if l.seq[addr] == 1 {
		kind = kt.KindRegister
	}
	e := kt.Entry{Kind: kind, Seq: l.seq[addr], TimeMillis: time.Now().UnixMilli(), Address: addr, AccountKey: k.AccountKey,
		Keys: kt.KeysHash(k.IdentityKey, k.HPKEKey, k.Signature, k.AccountKey, k.DeviceList)}
	enc := e.Marshal()
	i, err := l.tree.Append(kt.LeafHash(enc))
	if err != nil {
		l.t.Fatal(err)
	}
	l.entries = append(l.entries, enc)
	l.keys[addr], l.index[addr] = k, i
}

func (l *testLog) head() kt.SignedHead {
	l.t.Helper()
	sh, err := kt.SignHead(kt.Head{Domain: l.domain, Size: l.tree.Size(), Root: l.tree.Root(), TimeMillis: time.Now().UnixMilli()}, l.key, l.cert)
	if err != nil {
		l.t.Fatal(err)
	}
	return sh
}

func hashes(h []kt.Hash) [][]byte {
	out := make([][]byte, len(h))
	for i := range h {
		out[i] = bytes.Clone(h[i][:])
	}
	return out
}

// answer is the node's resolve answer for addr with its proof, the
// consistency proof from knownSize.
func (l *testLog) answer(addr string, knownSize uint64) protocol.PublishedKeys {
	l.t.Helper()
	i := l.index[addr]
	incl, err := kt.InclusionProof(l.tree, i, l.tree.Size())
	if err != nil {
		l.t.Fatal(err)
	}
	var cons []kt.Hash
	if knownSize > 0 && knownSize < l.tree.Size() {
		if cons, err = kt.ConsistencyProof(l.tree, knownSize, l.tree.Size()); err != nil {
			l.t.Fatal(err)
		}
	}
	k := l.keys[addr]
	k.Transparency = &protocol.KeyProof{Entry: l.entries[i], Index: i, Inclusion: hashes(incl), Head: l.head().Marshal(), Consistency: hashes(cons)}
	return k
}

func address(t *testing.T, s string) protocol.Address {
	t.Helper()
	pa, err := protocol.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return pa
}

// fill makes a log of n accounts of domain.
func (l *testLog) fill(n int) {
	for i := range n {
		l.publish(fmt.Sprintf("user%d@%s", i, l.domain), randomKeys())
	}
}

func TestAProvenAnswerIsAcceptedAndItsHeadKept(t *testing.T) {
	l := newTestLog(t, "n1.mesh", nil, nil)
	l.fill(10)
	a := &Account{Domain: "n1.mesh", User: "bob"}
	alice := address(t, "user3@n1.mesh")
	if err := a.checkProof(context.Background(), alice, l.answer(alice.String(), 0)); err != nil {
		t.Fatalf("first answer: %v", err)
	}
	if got := a.KT.knownSize("n1.mesh"); got != 10 {
		t.Fatalf("kept head of size %d, want 10", got)
	}
	// The log grows; the next answer is consistent with the kept head.
	l.fill(7)
	l.publish(alice.String(), randomKeys())
	if err := a.checkProof(context.Background(), alice, l.answer(alice.String(), 10)); err != nil {
		t.Fatalf("answer after the log grew: %v", err)
	}
	if got := a.KT.knownSize("n1.mesh"); got != 18 {
		t.Fatalf("kept head of size %d, want 18", got)
	}
}

func TestAnswersThatTheLogDoesNotBackAreRefused(t *testing.T) {
	ctx := context.Background()
	alice := "user3@n1.mesh"
	for _, tc := range []struct {
		name string
		// bend changes a good answer (for alice, knownSize 6) of log l.
		bend func(l *testLog, ans *protocol.PublishedKeys)
		want error
	}{
		{"an answer without a proof", func(l *testLog, ans *protocol.PublishedKeys) { ans.Transparency = nil }, ErrKeyNotInLog},
		{"a tampered inclusion proof", func(l *testLog, ans *protocol.PublishedKeys) { ans.Transparency.Inclusion[1][5] ^= 1 }, ErrKeyNotInLog},
		{"an inclusion proof with a hash cut short", func(l *testLog, ans *protocol.PublishedKeys) {
			ans.Transparency.Inclusion[0] = ans.Transparency.Inclusion[0][:31]
		}, ErrKeyNotInLog},
		{"the proof of another address's entry", func(l *testLog, ans *protocol.PublishedKeys) {
			bob := l.answer("user4@n1.mesh", 6)
			ans.Transparency = bob.Transparency
		}, ErrKeyNotInLog},
		{"keys other than the entry's", func(l *testLog, ans *protocol.PublishedKeys) {
			ans.HPKEKey = randomKeys().HPKEKey
		}, ErrKeyNotInLog},
		{"another account key than the entry's", func(l *testLog, ans *protocol.PublishedKeys) {
			ans.AccountKey = randomKeys().AccountKey
		}, ErrKeyNotInLog},
		{"the right entry at another index", func(l *testLog, ans *protocol.PublishedKeys) { ans.Transparency.Index++ }, ErrKeyNotInLog},
		{"an entry that does not parse", func(l *testLog, ans *protocol.PublishedKeys) { ans.Transparency.Entry = ans.Transparency.Entry[:20] }, ErrKeyNotInLog},
		{"a head signed by another node key", func(l *testLog, ans *protocol.PublishedKeys) {
			other := newTestLog(l.t, l.domain, nil, nil)
			other.tree, other.entries, other.keys, other.index = l.tree, l.entries, l.keys, l.index
			ans.Transparency.Head = other.head().Marshal()
		}, ErrHeadSigner},
		{"a head of another domain's log", func(l *testLog, ans *protocol.PublishedKeys) {
			other := newTestLog(l.t, "n2.mesh", nil, l.key)
			other.tree = l.tree
			ans.Transparency.Head = other.head().Marshal()
		}, ErrHeadSigner},
		{"a head whose signature is broken", func(l *testLog, ans *protocol.PublishedKeys) {
			sh := l.head()
			sh.Signature[0] ^= 1
			ans.Transparency.Head = sh.Marshal()
		}, ErrHeadSigner},
		{"a head from the future", func(l *testLog, ans *protocol.PublishedKeys) {
			sh, err := kt.SignHead(kt.Head{Domain: l.domain, Size: l.tree.Size(), Root: l.tree.Root(),
				TimeMillis: time.Now().Add(time.Hour).UnixMilli()}, l.key, nil)
			if err != nil {
				l.t.Fatal(err)
			}
			ans.Transparency.Head = sh.Marshal()
		}, ErrHeadSigner},
		{"a tampered consistency proof", func(l *testLog, ans *protocol.PublishedKeys) { ans.Transparency.Consistency[0][0] ^= 1 }, ErrLogInconsistent},
		{"no consistency proof from the kept head", func(l *testLog, ans *protocol.PublishedKeys) { ans.Transparency.Consistency = nil }, ErrLogInconsistent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLog(t, "n1.mesh", nil, nil)
			l.fill(6)
			a := &Account{Domain: "n1.mesh", User: "bob"}
			// The client accepted the head of size 6 (and pinned its key).
			if err := a.checkProof(ctx, address(t, "user1@n1.mesh"), l.answer("user1@n1.mesh", 0)); err != nil {
				t.Fatal(err)
			}
			kept, _ := a.KT.Get("n1.mesh")
			l.fill(5)
			ans := l.answer(alice, 6)
			tc.bend(l, &ans)
			err := a.checkProof(ctx, address(t, alice), ans)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if now, _ := a.KT.Get("n1.mesh"); !bytes.Equal(now.Head, kept.Head) {
				t.Fatal("a refused answer moved the kept head")
			}
			// The same answer unbent is accepted: the refusal was the bend's.
			if err := a.checkProof(ctx, address(t, alice), l.answer(alice, 6)); err != nil {
				t.Fatalf("the unbent answer: %v", err)
			}
		})
	}
}

func TestAHeadThatContradictsTheKeptOneIsRefused(t *testing.T) {
	ctx := context.Background()
	key := func() ed25519.PrivateKey { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }()
	honest := newTestLog(t, "n1.mesh", nil, key)
	honest.fill(8)
	a := &Account{Domain: "n1.mesh", User: "bob"}
	if err := a.checkProof(ctx, address(t, "user2@n1.mesh"), honest.answer("user2@n1.mesh", 0)); err != nil {
		t.Fatal(err)
	}
	// The node, with the same key, shows a log of its own: the same
	// accounts but alice's keys swapped from the start.
	forked := newTestLog(t, "n1.mesh", nil, key)
	for i := range 8 {
		addr := fmt.Sprintf("user%d@n1.mesh", i)
		k := honest.keys[addr]
		if i == 2 {
			k = randomKeys()
		}
		forked.publish(addr, k)
	}
	if err := a.checkProof(ctx, address(t, "user2@n1.mesh"), forked.answer("user2@n1.mesh", 8)); !errors.Is(err, ErrLogInconsistent) {
		t.Fatalf("a fork at the kept size: got %v, want ErrLogInconsistent", err)
	}
	forked.fill(3)
	// Any consistency proof the forked log can make fails against the
	// kept head.
	if err := a.checkProof(ctx, address(t, "user2@n1.mesh"), forked.answer("user2@n1.mesh", 8)); !errors.Is(err, ErrLogInconsistent) {
		t.Fatalf("a forked log that grew: got %v, want ErrLogInconsistent", err)
	}
	// A smaller head than the kept one: the log was cut back.
	small := newTestLog(t, "n1.mesh", nil, key)
	for i := range 4 {
		addr := fmt.Sprintf("user%d@n1.mesh", i)
		small.publish(addr, honest.keys[addr])
	}
	if err := a.checkProof(ctx, address(t, "user2@n1.mesh"), small.answer("user2@n1.mesh", 8)); !errors.Is(err, ErrLogInconsistent) {
		t.Fatalf("a smaller head: got %v, want ErrLogInconsistent", err)
	}
}

// community is a test community CA and its pool.
func community(t *testing.T) *ca.Authority {
	t.Helper()
	a, err := ca.New("test community", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func issueNode(t *testing.T, a *ca.Authority, domain string) ([]byte, ed25519.PrivateKey) {
	t.Helper()
	certPEM, keyPEM, err := a.Issue(ca.IssueOptions{Domain: domain, NotAfter: time.Now().Add(12 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair.Certificate[0], pair.PrivateKey.(ed25519.PrivateKey)
}

func TestHeadsOfOtherDomainsMustChainToTheCommunityCA(t *testing.T) {
	ctx := context.Background()
	cc, outsider := community(t), community(t)
	n2cert, n2key := issueNode(t, cc, "n2.mesh")
	evilCert, evilKey := issueNode(t, cc, "n1.mesh")
	strangerCert, strangerKey := issueNode(t, outsider, "n2.mesh")
	carol := address(t, "user1@n2.mesh")
	for _, tc := range []struct {
		name string
		log  *testLog
		want error
	}{
		{"a head signed by n2's certificate is accepted", newTestLog(t, "n2.mesh", n2cert, n2key), nil},
		{"a head of n2 signed by the bare node key is refused", newTestLog(t, "n2.mesh", nil, n2key), ErrHeadSigner},
		{"a head of n2 signed by n1's certificate is refused", newTestLog(t, "n2.mesh", evilCert, evilKey), ErrHeadSigner},
		{"a head of n2 signed under another CA is refused", newTestLog(t, "n2.mesh", strangerCert, strangerKey), ErrHeadSigner},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.log.fill(3)
			a := &Account{Domain: "n1.mesh", User: "bob", CommunityCA: [][]byte{cc.Cert.Raw}}
			err := a.checkProof(ctx, carol, tc.log.answer(carol.String(), 0))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTheHomeNodesKindOneKeyIsPinned(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "n1.mesh", nil, nil)
	l.fill(3)
	a := &Account{Domain: "n1.mesh", User: "bob"}
	if err := a.checkProof(ctx, address(t, "user0@n1.mesh"), l.answer("user0@n1.mesh", 0)); err != nil {
		t.Fatal(err)
	}
	kept, _ := a.KT.Get("n1.mesh")
	if !bytes.Equal(kept.Key, l.key.Public().(ed25519.PublicKey)) {
		t.Fatal("the node key was not pinned at the first head")
	}
	// The pin survives the state file; a new key is refused after it.
	raw, err := json.Marshal(&State{KT: a.KT})
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	b := &Account{Domain: "n1.mesh", User: "bob", KT: st.KT}
	other := newTestLog(t, "n1.mesh", nil, nil)
	other.tree, other.entries, other.keys, other.index = l.tree, l.entries, l.keys, l.index
	if err := b.checkProof(ctx, address(t, "user0@n1.mesh"), other.answer("user0@n1.mesh", 3)); !errors.Is(err, ErrHeadSigner) {
		t.Fatalf("another node key after the pin: got %v, want ErrHeadSigner", err)
	}
	if err := b.checkProof(ctx, address(t, "user0@n1.mesh"), l.answer("user0@n1.mesh", 3)); err != nil {
		t.Fatalf("the pinned key after the state's round trip: %v", err)
	}
}

func TestKeyRefusedErrorSaysWhoseKeysAndWhy(t *testing.T) {
	e := &KeyRefusedError{Address: "alice@n1.mesh", Domain: "n1.mesh", Err: fmt.Errorf("%w: detail", ErrLogInconsistent)}
	if !errors.Is(e, ErrLogInconsistent) {
		t.Fatal("the reason does not unwrap")
	}
	for _, want := range []string{"alice@n1.mesh", "n1.mesh", "contradicts", "nothing was sent"} {
		if !bytes.Contains([]byte(e.Error()), []byte(want)) {
			t.Errorf("%q lacks %q", e.Error(), want)
		}
	}
}

func TestAStateFromBeforeKeyTransparencyLoadsAndKeepsHeadsAfterwards(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{7}, 64)
	// A state as qpc wrote it before key transparency: no "kt" at all.
	plain := []byte(`{"version":2,"user":"bob","domain":"n1.mesh","server":"n1:7000","keys":"AQID"}`)
	sealedState, err := keystore.Seal(key, plain)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath(dir, "bob", "n1.mesh"), sealedState, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := LoadState(dir, "bob", "n1.mesh", key)
	if err != nil {
		t.Fatal(err)
	}
	if st.KT != nil {
		t.Fatal("an old state has heads")
	}
	// The session gives it a book; the first resolve fills it.
	st.KT = &KTBook{}
	l := newTestLog(t, "n1.mesh", nil, nil)
	l.fill(4)
	a := &Account{Domain: "n1.mesh", User: "bob", KT: st.KT}
	if err := a.checkProof(context.Background(), address(t, "user1@n1.mesh"), l.answer("user1@n1.mesh", 0)); err != nil {
		t.Fatal(err)
	}
	if err := SaveState(dir, key, st); err != nil {
		t.Fatal(err)
	}
	again, err := LoadState(dir, "bob", "n1.mesh", key)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.KT.knownSize("n1.mesh"); got != 4 {
		t.Fatalf("the saved state kept a head of size %d, want 4", got)
	}
	if h, _ := again.KT.Get("n1.mesh"); len(h.Key) != ed25519.PublicKeySize {
		t.Fatal("the pinned node key was not saved")
	}
}
