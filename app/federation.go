package app

import (
	"cmp"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/federation"
	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/metrics"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/version"
)

// linkBackoff is the least wait between dials of a federation peer; 0
// means federation's default. Tests shorten it.
var linkBackoff time.Duration

// ktGossipInterval, when not 0, overrides --kt-gossip-interval: tests
// lower it below what the flag takes.
var ktGossipInterval time.Duration

// federationHook, when set, wraps the federation a node's service uses
// (its clients' lookups and those it passes on for peers); tests make a
// node of the community that lies with it. Nil in every real node.
var federationHook func(domain string, f node.Federation) node.Federation

// meshExpireInterval is how often held envelopes are checked for expiry;
// 0 means forward's default. Tests shorten it.
var meshExpireInterval time.Duration

// newFederation builds the federation manager from --federation-cert,
// --federation-key, --federation-ca, --peer and --federation-deny. Links
// are served by n's service, which exists by the time a peer calls.
func (n *Node) newFederation(cfg config.Node) (*federation.Manager, error) {
	cert, err := tls.LoadX509KeyPair(cfg.FederationCert, cfg.FederationKey)
	if err != nil {
		return nil, &config.FlagError{Flag: "federation-cert", Err: fmt.Errorf("with --federation-key: %w", err)}
	}
	caPEM, err := os.ReadFile(cfg.FederationCA)
	if err != nil {
		return nil, &config.FlagError{Flag: "federation-ca", Err: err}
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, &config.FlagError{Flag: "federation-ca", Err: fmt.Errorf("%s holds no PEM certificate", cfg.FederationCA)}
	}
	// The same certificates in DER, for clients to check key answers.
	var caDER [][]byte
	for rest := caPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			caDER = append(caDER, b.Bytes)
		}
	}
	if n.kt, err = n.newKTWatch(cfg, roots); err != nil {
		return nil, err
	}
	m, err := federation.New(federation.Config{
		Domain:   cfg.Domain,
		NodeID:   n.key.ID(),
		Version:  version.Version,
		Cert:     cert,
		Roots:    roots,
		CA:       caDER,
		Deny:     cfg.FederationDeny,
		Peers:    cfg.Peers,
		Inbound:  func(domain string) federation.Inbound { return n.svc.NewPeer(domain) },
		Mesh:     n.mesh,
		Channels: n.channels,
		Blobs:    n.blobs,
		KeyLog:   n.store,
		KT:       n.kt,
		Calls:    n.calls,
		Observer: n.metrics.federation(),
		Log:      n.log.With("component", "federation"),

		CallTimeout: cfg.RPCTimeout,
		MinBackoff:  linkBackoff,

		KTGossipInterval: cmp.Or(ktGossipInterval, cfg.KTGossipInterval),
	})
	if err != nil {
		return nil, &config.FlagError{Flag: "federation-cert", Err: err}
	}
	// Heads of other domains of different sizes are judged by their own
	// node's proof, asked over federation.
	n.kt.SetConsistency(m.KTConsistency)
	return m, nil
}

// runFederation dials peers beside the listener until ctx ends; then it
// closes every link.
func (n *Node) runFederation(ctx context.Context) error {
	var source federation.PeerSource
	if t := n.MeshPeers(); t != nil {
		source = t
	}
	return n.fed.Run(ctx, n.ln, source)
}

// runMesh forwards store-and-forward envelopes over the federation links
// until ctx ends.
func (n *Node) runMesh(ctx context.Context) error {
	n.mesh.Run(ctx, n.fed)
	return nil
}

// newMesh builds the store-and-forward engine on the node's store.
func (n *Node) newMesh(cfg config.Node, st *store.Store) (*forward.Engine, error) {
	return forward.New(forward.Config{
		Domain:   strings.ToLower(cfg.Domain),
		Key:      n.key.Private,
		Store:    st,
		Local:    meshLocal{n},
		TTL:      cfg.MeshTTL,
		MaxHops:  cfg.MeshMaxHops,
		Log:      n.log.With("component", "mesh"),
		Observer: n.metrics.mesh(),

		ExpireInterval: meshExpireInterval,
	})
}

// meshLocal delivers envelopes to the node's service, which exists by the
// time a peer forwards.
type meshLocal struct{ n *Node }

func (l meshLocal) DeliverMesh(ctx context.Context, msgs []protocol.NewMessage) ([]protocol.Receipt, error) {
	return l.n.svc.DeliverMesh(ctx, msgs)
}

// Federation returns the node's federation manager, or nil without
// federation.
func (n *Node) Federation() *federation.Manager { return n.fed }

// resetKey derives the QUIC stateless reset key from the node key, so that
// it survives restarts: peers of a node that restarted learn from their
// next packet of more than 42 bytes (a federation link's health check, a
// client's call) that their old connection is gone.
func resetKey(key *identity.NodeKey) (*quic.StatelessResetKey, error) {
	b, err := hkdf.Key(sha256.New, key.Private.Seed(), nil, "qpc quic stateless reset key", 32)
	if err != nil {
		return nil, err
	}
	var k quic.StatelessResetKey
	copy(k[:], b)
	return &k, nil
}

// federationMetrics implements federation.Observer.
type federationMetrics struct {
	refused *metrics.CounterVec
	up      *metrics.GaugeVec
	relayed *metrics.CounterVec
	errors  *metrics.CounterVec
	forged  *metrics.CounterVec
}

func (m *nodeMetrics) federation() *federationMetrics {
	r := m.reg
	return &federationMetrics{
		refused: r.MustCounterVec("qpc_federation_refused_total",
			"Federation peers refused, by reason (unknown-ca, expired, bad-san, denied, self, domain-mismatch, ...).", "reason"),
		up: r.MustGaugeVec("qpc_federation_link_up",
			"1 while the federation link to a peer is up, else 0.", "peer"),
		relayed: r.MustCounterVec("qpc_federation_relayed_total",
			"Messages relayed over federation links, by peer and direction (in, out).", "peer", "direction"),
		errors: r.MustCounterVec("qpc_federation_errors_total",
			"Failed dials and calls of federation links, by peer.", "peer"),
		forged: r.MustCounterVec("qpc_federation_forged_total",
			"What a neighbour handed over that its claimed signer did not sign, by peer and kind: key-answer (a key lookup "+
				"answer, refused), route-advert (a 1-hop route without the domain's link statement, dropped).", "peer", "kind"),
	}
}

func (f *federationMetrics) Forged(peer, kind string) { f.forged.With(peer, kind).Inc() }

func (f *federationMetrics) Refused(reason string) { f.refused.With(reason).Inc() }

func (f *federationMetrics) LinkState(peer string, s protocol.LinkState) {
	v := 0.0
	if s == protocol.LinkUp {
		v = 1
	}
	f.up.With(peer).Set(v)
}

func (f *federationMetrics) Relayed(peer string, out bool, n int) {
	dir := "in"
	if out {
		dir = "out"
	}
	f.relayed.With(peer, dir).AddUint64(uint64(n))
}

func (f *federationMetrics) Error(peer string) { f.errors.With(peer).Inc() }

// meshMetrics implements forward.Observer.
type meshMetrics struct {
	events, dropped, refused *metrics.CounterVec
	envelopes, bytes, routes *metrics.Gauge
}

func (m *nodeMetrics) mesh() *meshMetrics {
	r := m.reg
	return &meshMetrics{
		events: r.MustCounterVec("qpc_mesh_envelopes_total",
			"Store-and-forward envelopes by event: forwarded (a next hop took it), delivered (into a mailbox here), held (stored here to forward), duplicate, looped.", "event"),
		dropped: r.MustCounterVec("qpc_mesh_dropped_total",
			"Store-and-forward envelopes dropped, by reason (expired, hop-limit, bad-envelope, unknown-user, ...).", "reason"),
		refused: r.MustCounterVec("qpc_mesh_refused_total",
			"Store-and-forward envelopes refused for now and kept by the previous hop, by reason (store-full, neighbour-quota, mailbox-full, link, ...).", "reason"),
		envelopes: r.MustGauge("qpc_mesh_store_envelopes", "Envelopes held in the store-and-forward store."),
		bytes:     r.MustGauge("qpc_mesh_store_bytes", "Bytes of envelopes held in the store-and-forward store."),
		routes:    r.MustGauge("qpc_mesh_routes", "Domains in the routing table."),
	}
}

func (m *meshMetrics) Event(event string, n int) { m.events.With(event).AddUint64(uint64(n)) }
func (m *meshMetrics) Dropped(reason string, n int) {
	m.dropped.With(reason).AddUint64(uint64(n))
}
func (m *meshMetrics) Refused(reason string, n int) {
	m.refused.With(reason).AddUint64(uint64(n))
}
func (m *meshMetrics) Store(envelopes int, bytes int64) {
	m.envelopes.Set(float64(envelopes))
	m.bytes.Set(float64(bytes))
}
func (m *meshMetrics) Routes(n int) { m.routes.Set(float64(n)) }
