package app

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/attest"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// forger is the federation of a member node that lies about keys: it
// passes lookups on as usual and then hands over a bundle of its own
// instead of the real one, self-signed for the address, as the audit's
// evil.mesh did. What it does with the home node's signed answer depends
// on mode.
type forger struct {
	node.Federation
	keys *identity.UserKeys // the forger's own, so it could open what is sealed to them

	mu   sync.Mutex
	mode string // "off", "drop" (no answer), "keep" (the real one), "own" (signed by the forger)
	cert string // the forger's federation certificate and key files
	key  string

	forged atomic.Int32 // substituted answers handed over
}

func (f *forger) set(mode, cert, key string) {
	f.mu.Lock()
	f.mode, f.cert, f.key = mode, cert, key
	f.mu.Unlock()
}

func (f *forger) ResolveUser(ctx context.Context, addr string, knownSize uint64) (protocol.PublishedKeys, error) {
	k, err := f.Federation.ResolveUser(ctx, addr, knownSize)
	f.mu.Lock()
	mode, certFile, keyFile := f.mode, f.cert, f.key
	f.mu.Unlock()
	if err != nil || mode == "off" {
		return k, err
	}
	b, err := f.keys.Bundle(addr)
	if err != nil {
		return k, err
	}
	out := protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature, Published: k.Published}
	switch mode {
	case "keep":
		out.Answer = k.Answer
	case "own":
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return k, err
		}
		ak := attest.Keys{Address: addr, IdentityKey: out.IdentityKey, HPKEKey: out.HPKEKey, Signature: out.Signature, Published: out.Published}
		if out.Answer, err = attest.SignAnswer(ak, time.Now(), pair.Certificate[0], pair.PrivateKey.(crypto.Signer)); err != nil {
			return k, err
		}
	}
	f.forged.Add(1)
	return out, nil
}

// installForger makes the node of domain, started after this, a forger.
func installForger(t *testing.T, domain string) *forger {
	t.Helper()
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	f := &forger{keys: keys, mode: "off"}
	federationHook = func(d string, fed node.Federation) node.Federation {
		if d != domain {
			return fed
		}
		f.Federation = fed
		return f
	}
	t.Cleanup(func() { federationHook = nil })
	return f
}

// TestARelayThatSubstitutesKeysIsCaughtAndNothingIsSealedToThem runs the
// audit's attack on a chain n1 - n2 - n3 where n2, a member node with a
// certificate of the community CA, relays the lookups between n1 and n3
// and swaps carol@n3's keys for its own. Every way it can present the
// forgery is refused: by n1, which the answer passes, and by the client
// when the forger is its own home node.
func TestARelayThatSubstitutesKeysIsCaughtAndNothingIsSealedToThem(t *testing.T) {
	evil := meshDomain(2)
	f := installForger(t, evil)
	m := newMesh(t, 3, chain(3), nil)
	cfg := m.cfgs[evil]
	alice := newAccount(t, m.n(1), "alice")
	carol := newAccount(t, m.n(3), "carol")
	mallory := newAccount(t, m.n(2), "mallory")
	ctx := ctxT(t)

	// Honest first: the lookup crosses n2 and checks out, so the
	// refusals below come from the forgery, not from the path.
	if _, err := alice.ResolvePeer(ctx, carol.Address()); err != nil {
		t.Fatalf("honest lookup through n2: %v", err)
	}

	for _, mode := range []struct {
		name, mode string
		reason     error // what the client sees when n2 is its own node
	}{
		{"without the home node's answer", "drop", attest.ErrNoProof},
		{"with the home node's answer over other keys", "keep", attest.ErrBadSignature},
		{"with an answer the forger signed itself", "own", attest.ErrWrongSigner},
	} {
		t.Run(mode.name, func(t *testing.T) {
			f.set(mode.mode, cfg.FederationCert, cfg.FederationKey)
			before := f.forged.Load()

			// alice@n1: n1 passes the lookup to n2, which forges; n1
			// refuses to hand the keys over.
			a := &client.Account{Client: alice.Client, Domain: alice.Domain, User: alice.User, Keys: alice.Keys}
			_, err := a.SendText(ctx, carol.Address(), "secret for carol")
			if !errors.Is(err, attest.ErrForgedKeys) {
				t.Fatalf("alice's send with n2 forging: %v, want ErrForgedKeys", err)
			}
			for _, s := range []string{carol.Address(), evil} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("the error does not name %s: %v", s, err)
				}
			}
			t.Logf("alice sees: %v", err)

			// mallory@n2: the forger is mallory's own node and hands the
			// forged keys straight to the client, which refuses them.
			mal := &client.Account{Client: mallory.Client, Domain: mallory.Domain, User: mallory.User, Keys: mallory.Keys}
			_, err = mal.SendText(ctx, carol.Address(), "secret for carol")
			var fe *attest.ForgedError
			if !errors.As(err, &fe) || !errors.Is(err, mode.reason) {
				t.Fatalf("mallory's send with n2 forging: %v, want a ForgedError for %v", err, mode.reason)
			}
			if fe.Address != carol.Address() || fe.Domain != meshDomain(3) || !strings.Contains(fe.AnsweredBy, evil) {
				t.Errorf("ForgedError %+v does not name carol, n3 and n2", fe)
			}
			t.Logf("mallory sees: %v", err)

			if got := f.forged.Load() - before; got < 2 {
				t.Fatalf("the forger substituted %d answers, want at least 2: the attack did not happen", got)
			}
		})
	}

	// Nothing was sealed to the forged keys: no message for carol is
	// anywhere, neither in a mailbox nor in the mesh.
	msgs, err := carol.Client.Fetch(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 0 {
		t.Errorf("carol's mailbox holds %d messages", len(msgs))
	}
	for i := 1; i <= 3; i++ {
		if held, _ := m.n(i).store.MeshStats(); held.Envelopes != 0 {
			t.Errorf("%s holds %d envelopes", meshDomain(i), held.Envelopes)
		}
	}
	m.noPlaintext("secret for carol")

	// And with the forger off again, alice reaches carol.
	f.set("off", "", "")
	a := &client.Account{Client: alice.Client, Domain: alice.Domain, User: alice.User, Keys: alice.Keys}
	if _, err := a.SendText(ctx, carol.Address(), "hello carol"); err != nil {
		t.Fatalf("honest send after the attack: %v", err)
	}
}
