package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/quicprochat/qpc/crypto/attest"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/federation"
	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/mesh/route"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// evilNodeEnv makes the test binary an evil member node (runEvilNode)
// instead of running tests; it holds the node's evilConfig as JSON.
const evilNodeEnv = "QPC_TEST_EVIL_NODE"

// evilConfig says who the evil node is and whom it attacks.
type evilConfig struct {
	Domain, Listen           string
	Cert, Key, CA            string // its federation certificate of the community CA
	Peer, PeerDomain, Target string // it links to Peer and claims Target at one hop
	Until                    time.Time
	// RelayTo, when set, makes it a relay that is honest about routes: it
	// links to Target at RelayTo too, so that its 1-hop advert of Target
	// carries Target's link statement, and it passes lookups on to Target
	// before it swaps the keys in the answer for its own.
	RelayTo string
}

// runEvilNode is a member node of the community gone bad, as the audit
// found it: it holds a genuine certificate of the community CA, links to
// one node, and tells it every 200 ms that it is one hop from Target
// (which it is not linked to), without a link statement, hoping to become
// the next hop for Target; asked for the keys of any user, it hands over
// a bundle of its own, signed by itself. It logs (JSON, to stderr) every
// advert it sends, every forged answer and every envelope that reaches
// it. It stops at Until or on SIGTERM.
func runEvilNode() int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var cfg evilConfig
	if err := json.Unmarshal([]byte(os.Getenv(evilNodeEnv)), &cfg); err != nil {
		log.Error("bad config", "err", err)
		return 2
	}
	if err := evilNode(cfg, log); err != nil {
		log.Error("evil node failed", "err", err)
		return 1
	}
	return 0
}

func evilNode(cfg evilConfig, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctx, cancel := context.WithDeadline(ctx, cfg.Until)
	defer cancel()
	cert, err := tls.LoadX509KeyPair(cfg.Cert, cfg.Key)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(cfg.CA)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	b, _ := pem.Decode(caPEM)
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		return err
	}
	in := &evilInbound{log: log, keys: keys, cert: cert}
	peers := []string{cfg.Peer}
	if cfg.RelayTo != "" {
		peers = append(peers, cfg.RelayTo)
	}
	m, err := federation.New(federation.Config{
		Domain: cfg.Domain, NodeID: "evil", Version: "evil",
		Cert: cert, Roots: roots, CA: [][]byte{b.Bytes},
		Peers:   peers,
		Inbound: func(string) federation.Inbound { return in },
		Mesh:    evilMesh{log: log},
		Log:     log,
	})
	if err != nil {
		return err
	}
	if cfg.RelayTo != "" {
		in.relay = m
	}
	ln, err := transport.Listen(cfg.Listen, transport.ServerTLS(cert, m.ServerTLS), transport.IdleTimeout, nil)
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			m.Accept(ctx, conn)
		}
	}()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ln, nil) }()
	log.Info("evil node serving", "domain", cfg.Domain)

	lie := []route.Advert{{Domain: cfg.Domain, Hops: 0}, {Domain: cfg.Target, Hops: 1}}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for sent := 0; ; {
		select {
		case <-ctx.Done():
			return <-done
		case <-tick.C:
		}
		err := m.Routes(ctx, cfg.PeerDomain, lie)
		if err == nil {
			sent++
			if sent == 1 || sent%10 == 0 {
				log.Info("evil advert sent", "peer", cfg.PeerDomain, "claims", cfg.Target, "hops", 1, "sent", sent)
			}
		}
	}
}

// evilInbound answers a peer's calls: keys of its own for anyone.
type evilInbound struct {
	log   *slog.Logger
	keys  *identity.UserKeys
	cert  tls.Certificate
	relay *federation.Manager // passes lookups on first, when set
}

var errEvil = errors.New("not served by the evil node")

func (e *evilInbound) Deliver(context.Context, []protocol.Outgoing) ([]protocol.Receipt, time.Time, error) {
	return nil, time.Time{}, errEvil
}

func (e *evilInbound) ResolveUser(ctx context.Context, addr string, knownSize uint64) (protocol.PublishedKeys, error) {
	b, err := e.keys.Bundle(addr)
	if err != nil {
		return protocol.PublishedKeys{}, err
	}
	k := protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature, Published: time.Now()}
	if e.relay != nil {
		// The genuine answer, signed by the user's node, goes along with
		// the swapped keys: the most believable forgery there is.
		real, err := e.relay.ResolveUser(ctx, addr, knownSize)
		if err != nil {
			return protocol.PublishedKeys{}, err
		}
		k.Published, k.Answer = real.Published, real.Answer
	} else {
		ak := attest.Keys{Address: addr, IdentityKey: k.IdentityKey, HPKEKey: k.HPKEKey, Signature: k.Signature, Published: k.Published}
		if k.Answer, err = attest.SignAnswer(ak, time.Now(), e.cert.Certificate[0], e.cert.PrivateKey.(crypto.Signer)); err != nil {
			return protocol.PublishedKeys{}, err
		}
	}
	e.log.Warn("evil forged key answer handed over", "user", addr)
	return k, nil
}

func (e *evilInbound) FetchKeyPackage(context.Context, string, uint16) ([]byte, bool, error) {
	return nil, false, errEvil
}

func (e *evilInbound) OrderCommit(context.Context, string, protocol.CommitClaim) (protocol.CommitOrder, error) {
	return protocol.CommitOrder{}, errEvil
}

func (e *evilInbound) Allow(int) error { return nil }

// evilMesh takes every envelope it is handed and logs it: had the route
// lie worked, the message for the target would arrive here.
type evilMesh struct{ log *slog.Logger }

func (evilMesh) LinkUp(string)   {}
func (evilMesh) LinkDown(string) {}

func (e evilMesh) Receive(_ context.Context, from, _ string, envs []*envelope.Incoming) []forward.Result {
	out := make([]forward.Result, len(envs))
	for i, env := range envs {
		rcpt := ""
		if env != nil {
			rcpt = env.Recipient
		}
		e.log.Warn("evil got an envelope", "from", from, "recipient", rcpt)
		out[i] = forward.Result{Outcome: forward.Accepted}
	}
	return out
}

func (evilMesh) Learn(string, []route.Advert) error { return nil }
func (evilMesh) Reports(string, []forward.Report)   {}
func (evilMesh) NextHop(string) (string, bool)      { return "", false }
