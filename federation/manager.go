package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/mesh/discovery"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// Inbound serves one peer's calls; node.Peer implements it.
type Inbound interface {
	Deliver(ctx context.Context, msgs []protocol.Outgoing) ([]protocol.Receipt, time.Time, error)
	ResolveUser(ctx context.Context, addr string, knownSize uint64) (protocol.PublishedKeys, error)
	FetchKeyPackage(ctx context.Context, addr string, suite uint16) ([]byte, bool, error)
	OrderCommit(ctx context.Context, home string, c protocol.CommitClaim) (protocol.CommitOrder, error)
	// Allow takes n messages from the peer's rate allowance, or fails
	// with protocol.ErrRateLimited.
	Allow(n int) error
}

// Observer is told what federation does, for metrics. peer is a domain,
// or a "host:port" for a peer never reached. Methods must be cheap.
type Observer interface {
	Refused(reason string)
	LinkState(peer string, state protocol.LinkState)
	Relayed(peer string, out bool, n int)
	Error(peer string)
	// Forged counts what a neighbour handed over that its claimed signer
	// did not sign: kind is "key-answer" (a key lookup answer) or
	// "route-advert" (a 1-hop route without its link statement).
	Forged(peer, kind string)
}

// Calls counts calls being served, so that shutdown can wait for them
// (noderpc.Calls).
type Calls interface {
	Begin() (end func())
}

// Dialer dials links from the node's own UDP socket (transport.Listener).
type Dialer interface {
	DialLink(ctx context.Context, addr string, tlsConf *tls.Config) (*quic.Conn, error)
}

// PeerSource is the table of nodes found by discovery.
type PeerSource interface {
	Peers() []discovery.Peer
	Changed() <-chan struct{}
}

// Config configures a Manager.
type Config struct {
	// Domain, NodeID and Version are this node's, as health reports them.
	Domain, NodeID, Version string
	// Cert is this node's federation certificate (issued by the community
	// CA, one DNS SAN equal to Domain) with its key.
	Cert tls.Certificate
	// Roots holds the community CA.
	Roots *x509.CertPool
	// CA holds the community CA certificates (DER) that Roots was made
	// of, handed to clients so that they can check key answers too.
	CA [][]byte
	// Deny lists certificate fingerprints (lowercase hex SHA-256) to
	// refuse although they chain to the CA.
	Deny []string
	// Peers are "host:port" addresses to keep links to.
	Peers []string
	// Inbound returns the service a link from the peer of domain is served
	// by; required.
	Inbound func(domain string) Inbound
	// Mesh is the store-and-forward engine: told when links come and go,
	// it serves the peers' forward, routes and report calls. Nil refuses
	// them.
	Mesh Mesh
	// Channels is the broadcast channel relay: told when links come and
	// go, it serves the peers' flood and inventory calls. Nil ignores
	// them.
	Channels Channels
	// Blobs serves the peers' blobGet and blobStat calls (blob_rpc.go);
	// nil refuses them.
	Blobs Blobs
	// KeyLog is this node's key transparency log, for the peers'
	// ktConsistency; nil refuses it.
	KeyLog KeyLog
	// KT checks the heads links bring and says what to gossip; nil
	// gossips nothing.
	KT KTWatch
	// KTGossipInterval is how often a link exchanges heads after the
	// exchange when it comes up (default KTGossipInterval).
	KTGossipInterval time.Duration
	// Calls counts inbound calls; nil counts nothing.
	Calls Calls
	// Observer is told about links and relays; nil ignores.
	Observer Observer
	// Log is the manager's logger; nil discards.
	Log *slog.Logger
	// CallTimeout bounds each inbound call (default 30 s).
	CallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between dials of a peer
	// (defaults 1 s and 60 s); each failure doubles it, with jitter.
	MinBackoff, MaxBackoff time.Duration
	// MaxLinks bounds the links at once (default 64).
	MaxLinks int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Manager keeps this node's federation links. It implements
// node.Federation.
type Manager struct {
	cfg Config
	v   *verifier
	log *slog.Logger
	obs Observer

	mu      sync.Mutex
	links   map[string]*link      // up links by peer domain
	linked  chan struct{}         // closed and replaced when a link comes up
	peers   map[string]*peerState // by domain, or by "host:port" before one is known
	logged  map[string]time.Time  // refusals logged recently, by remote and reason
	closed  bool
	serving sync.WaitGroup // links being served
	stmts   linkStatements // neighbours' link statements naming this node
}

// peerState is what Links reports about one peer.
type peerState struct {
	protocol.Link
	// lost is when the peer's last up link went down; zero while one
	// is up or before the first.
	lost time.Time
}

// New returns a Manager. It validates cfg.Cert against cfg.Domain.
func New(cfg Config) (*Manager, error) {
	if cfg.Inbound == nil || cfg.Roots == nil || len(cfg.Cert.Certificate) == 0 {
		return nil, errors.New("federation: Cert, Roots and Inbound are required")
	}
	leaf, err := x509.ParseCertificate(cfg.Cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("federation certificate: %w", err)
	}
	domain := strings.ToLower(cfg.Domain)
	if len(leaf.DNSNames) != 1 || !strings.EqualFold(leaf.DNSNames[0], domain) {
		return nil, fmt.Errorf("%w: the federation certificate names %q, but this node's domain is %q",
			ErrCertDomain, leaf.DNSNames, domain)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(60*time.Second, cfg.MinBackoff)
	}
	if cfg.MaxLinks <= 0 {
		cfg.MaxLinks = 64
	}
	if cfg.KTGossipInterval <= 0 {
		cfg.KTGossipInterval = KTGossipInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{
		cfg:    cfg,
		log:    cfg.Log,
		obs:    cfg.Observer,
		links:  map[string]*link{},
		linked: make(chan struct{}),
		peers:  map[string]*peerState{},
		logged: map[string]time.Time{},
		v: &verifier{
			roots:      cfg.Roots,
			deny:       map[string]bool{},
			selfFP:     transport.Fingerprint(cfg.Cert.Certificate[0]),
			selfDomain: domain,
			now:        cfg.Now,
		},
	}
	m.cfg.Domain = domain
	for _, fp := range cfg.Deny {
		m.v.deny[strings.ToLower(fp)] = true
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.obs == nil {
		m.obs = nopObserver{}
	}
	if m.cfg.Calls == nil {
		m.cfg.Calls = nopCalls{}
	}
	for _, addr := range cfg.Peers {
		m.peers[addr] = &peerState{Link: protocol.Link{Address: addr, State: protocol.LinkDown, Since: cfg.Now()}}
	}
	return m, nil
}

// ErrCertDomain means the federation certificate does not name the node's
// domain.
var ErrCertDomain = errors.New("federation certificate and domain differ")

type nopObserver struct{}

func (nopObserver) Refused(string)                       {}
func (nopObserver) LinkState(string, protocol.LinkState) {}
func (nopObserver) Relayed(string, bool, int)            {}
func (nopObserver) Error(string)                         {}
func (nopObserver) Forged(string, string)                {}

type nopCalls struct{}

func (nopCalls) Begin() func() { return func() {} }

// Fingerprint returns the SHA-256 fingerprint of this node's federation
// certificate, which other nodes may put on their deny lists.
func (m *Manager) Fingerprint() string { return m.v.selfFP }

// ServerTLS returns the TLS configuration for a handshake that asked for
// ALPN quicprochat/federation/1; hand it to transport.ServerTLS.
func (m *Manager) ServerTLS(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	return serverTLS(m.cfg.Cert, func(cs tls.ConnectionState, remote string) error {
		_, err := m.v.verify(cs.PeerCertificates, x509.ExtKeyUsageClientAuth)
		if err != nil {
			m.refuse(remote, err)
		}
		return err
	})(hello)
}

// refuse logs and counts a refused peer. The same remote refused for the
// same reason is logged at most every ten minutes; every refusal counts.
func (m *Manager) refuse(remote string, err error) {
	reason := ReasonInvalid
	var re *RefusedError
	if errors.As(err, &re) {
		reason = re.Reason
	}
	m.obs.Refused(reason)
	host, _, splitErr := net.SplitHostPort(remote)
	if splitErr != nil {
		host = remote
	}
	m.warnOnce(host+" "+reason, "refused federation peer", "remote", remote, "reason", reason, "err", err)
}

// Run dials the configured peers and, with a source, the nodes discovery
// finds, until ctx ends; then it closes every link and returns nil.
func (m *Manager) Run(ctx context.Context, d Dialer, source PeerSource) error {
	var wg sync.WaitGroup
	for _, addr := range m.cfg.Peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.dialLoop(ctx, d, addr, "", false)
		}()
	}
	if source != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.followDiscovery(ctx, d, source)
		}()
	}
	<-ctx.Done()
	wg.Wait()
	m.mu.Lock()
	m.closed = true
	links := m.links
	m.links = map[string]*link{}
	m.mu.Unlock()
	for _, l := range links {
		l.close(transport.CodeShutdown, "node shutting down")
	}
	m.serving.Wait()
	return nil
}

// followDiscovery keeps one dialer per discovered node. A node refused for
// its certificate is logged once and ignored while it announces the same
// fingerprint.
func (m *Manager) followDiscovery(ctx context.Context, d Dialer, source PeerSource) {
	type dialer struct {
		addr   string
		cancel context.CancelFunc
		done   chan struct{}
	}
	running := map[string]*dialer{}
	ignored := map[string]string{} // node id → announced fingerprint
	var mu sync.Mutex
	defer func() {
		for _, dl := range running {
			dl.cancel()
			<-dl.done
		}
	}()
	for {
		seen := map[string]bool{}
		for _, p := range source.Peers() {
			addr := p.DialAddr()
			mu.Lock()
			skip := addr == "" || ignored[p.ID] == p.Fingerprint
			mu.Unlock()
			if skip {
				continue
			}
			seen[p.ID] = true
			if dl := running[p.ID]; dl != nil {
				if dl.addr == addr {
					continue
				}
				dl.cancel()
				<-dl.done
			}
			dctx, cancel := context.WithCancel(ctx)
			dl := &dialer{addr: addr, cancel: cancel, done: make(chan struct{})}
			running[p.ID] = dl
			id, fp, domain := p.ID, p.Fingerprint, strings.ToLower(p.Domain)
			go func() {
				defer close(dl.done)
				if !m.dialLoop(dctx, d, addr, domain, true) {
					mu.Lock()
					ignored[id] = fp
					mu.Unlock()
				}
			}()
		}
		for id, dl := range running {
			if !seen[id] {
				dl.cancel()
				<-dl.done
				delete(running, id)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-source.Changed():
		}
	}
}

// dialLoop keeps a link to addr until ctx ends, and returns true then. A
// discovered peer (hint is its announced domain) that is refused returns
// false at once: it is not of this community.
func (m *Manager) dialLoop(ctx context.Context, d Dialer, addr, hint string, discovered bool) bool {
	backoff := m.cfg.MinBackoff
	domain := hint
	lastErr := ""
	for ctx.Err() == nil {
		if domain != "" {
			if l := m.link(domain); l != nil {
				if !m.outlive(ctx, l) {
					return true
				}
				continue
			}
		}
		m.setState(addr, domain, protocol.LinkConnecting, "")
		l, err := m.dial(ctx, d, addr)
		switch {
		case err == nil:
			domain, backoff, lastErr = l.domain, m.cfg.MinBackoff, ""
			if !m.outlive(ctx, l) {
				return true
			}
			continue
		case errors.Is(err, errDuplicate):
			// The peer's own link to us won; wait on it above. The
			// report is that link's: this dial's "connecting" entry,
			// made before the peer's domain was known, goes.
			domain = l.domain
			m.mu.Lock()
			m.stateLocked(addr, domain)
			m.mu.Unlock()
			continue
		case ctx.Err() != nil:
			return true
		}
		var re *RefusedError
		isRefused := errors.As(err, &re)
		if discovered && isRefused {
			m.forget(addr)
			m.log.Info("ignoring discovered node: not a federation peer of this community",
				"addr", addr, "domain", hint, "reason", re.Reason, "err", err)
			return false
		}
		if isRefused && re.Reason == ReasonSelf {
			m.forget(addr)
			m.log.Warn("dropping federation peer: it is this node itself", "addr", addr)
			return true
		}
		m.setState(addr, domain, protocol.LinkDown, err.Error())
		m.obs.Error(peerLabel(domain, addr))
		if msg := err.Error(); msg != lastErr {
			lastErr = msg
			m.log.Warn("federation peer unreachable; retrying with backoff", "addr", addr, "domain", domain, "err", err)
		}
		if !m.sleep(ctx, m.jitter(backoff)) {
			return true
		}
		backoff = min(2*backoff, m.cfg.MaxBackoff)
	}
	return true
}

// outlive waits until l ends and then a short jittered pause before a
// redial; false means ctx ended first.
func (m *Manager) outlive(ctx context.Context, l *link) bool {
	select {
	case <-l.done:
	case <-ctx.Done():
		return false
	}
	return m.sleep(ctx, m.jitter(m.cfg.MinBackoff))
}

func peerLabel(domain, addr string) string {
	if domain != "" {
		return domain
	}
	return addr
}

// jitter returns a random duration in [d/2, d).
func (m *Manager) jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func (m *Manager) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// dial connects to addr and establishes a link.
func (m *Manager) dial(ctx context.Context, d Dialer, addr string) (*link, error) {
	host, _, _ := net.SplitHostPort(addr)
	var refusal error
	conf := clientTLS(m.cfg.Cert, host, func(cs tls.ConnectionState) error {
		_, err := m.v.verify(cs.PeerCertificates, x509.ExtKeyUsageServerAuth)
		refusal = err
		return err
	})
	dctx, cancel := context.WithTimeout(ctx, transport.HandshakeTimeout)
	defer cancel()
	conn, err := d.DialLink(dctx, addr, conf)
	if err != nil {
		if refusal != nil {
			m.refuse(addr, refusal)
			return nil, refusal
		}
		if noALPN(err) {
			return nil, refused(ReasonNoFederation, "%s does not accept federation links: %v", addr, err)
		}
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return m.establish(ctx, conn, addr, true)
}

// noALPN reports whether a handshake failed because the peer offers no
// federation protocol (TLS alert no_application_protocol).
func noALPN(err error) bool {
	var te *quic.TransportError
	return errors.As(err, &te) && te.ErrorCode == quic.TransportErrorCode(0x100+120)
}

// Accept serves a connection that arrived with ALPN
// quicprochat/federation/1 and passed the TLS checks. It returns at once.
func (m *Manager) Accept(ctx context.Context, conn *quic.Conn) {
	m.mu.Lock()
	full := len(m.links) >= m.cfg.MaxLinks
	closed := m.closed
	if !closed {
		m.serving.Add(1)
	}
	m.mu.Unlock()
	if closed {
		conn.CloseWithError(transport.CodeShutdown, "node shutting down")
		return
	}
	go func() {
		defer m.serving.Done()
		if full {
			m.log.Warn("refusing federation link: too many links", "remote", conn.RemoteAddr().String(), "max_links", m.cfg.MaxLinks)
			conn.CloseWithError(transport.CodeBusy, "too many federation links")
			return
		}
		if _, err := m.establish(ctx, conn, conn.RemoteAddr().String(), false); err != nil && !errors.Is(err, errDuplicate) {
			m.log.Debug("inbound federation link failed", "remote", conn.RemoteAddr().String(), "err", err)
		}
	}()
}

// link returns the up link to domain, or nil.
func (m *Manager) link(domain string) *link {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.links[domain]
}

// register adds l, unless the two nodes already have a link that wins
// over it: of two links between the same nodes, the one dialed by the
// node with the smaller domain stays, so both ends keep the same one. The
// winner is asked for its health first: a link left over from before the
// peer restarted must not beat the peer's new one.
func (m *Manager) register(ctx context.Context, l *link) error {
	m.mu.Lock()
	old := m.links[l.domain]
	m.mu.Unlock()
	if old != nil && old.dialer(m.cfg.Domain) < l.dialer(m.cfg.Domain) {
		pctx, cancel := context.WithTimeout(ctx, transport.LinkKeepAlive)
		_, err := old.health(pctx)
		cancel()
		if err == nil {
			return errDuplicate
		}
		old.close(transport.CodeProtocol, "peer stopped answering")
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if cur := m.links[l.domain]; cur != nil && cur != old && cur.dialer(m.cfg.Domain) < l.dialer(m.cfg.Domain) {
		m.mu.Unlock()
		return errDuplicate // a winning link arrived meanwhile
	}
	replaced := m.links[l.domain]
	m.links[l.domain] = l
	st := m.stateLocked(l.addr, l.domain)
	st.Address = l.addr
	st.State, st.Since, st.LastError = protocol.LinkUp, m.cfg.Now(), ""
	st.lost = time.Time{}
	close(m.linked)
	m.linked = make(chan struct{})
	m.mu.Unlock()
	if replaced != nil {
		replaced.close(transport.CodeDuplicate, "duplicate link")
	}
	m.obs.LinkState(l.domain, protocol.LinkUp)
	if m.cfg.Mesh != nil {
		m.cfg.Mesh.LinkUp(l.domain)
	}
	if m.cfg.Channels != nil {
		m.cfg.Channels.LinkUp(l.domain)
	}
	m.log.Info("federation link up", "peer", l.domain, "addr", l.addr, "node_id", l.nodeID, "dialed", l.outgoing)
	return nil
}

// relink waits up to relinkWait for a link to domain other than old, after
// old broke: the dialer redials at once, and a lookup is worth one retry.
func (m *Manager) relink(ctx context.Context, domain string, old *link) *link {
	return m.relinkWithin(ctx, domain, old, relinkWait)
}

// relinkWithin is relink with its own bound.
func (m *Manager) relinkWithin(ctx context.Context, domain string, old *link, wait time.Duration) *link {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		m.mu.Lock()
		l, changed := m.links[domain], m.linked
		m.mu.Unlock()
		if l != nil && l != old {
			return l
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// relinkWait bounds how long a lookup waits for a broken link to come back
// before it retries; a redial takes one backoff step and a handshake.
const relinkWait = 3 * time.Second

// justDown returns how much of relinkWait is left since the link to
// domain went down, or 0 when none is lost: a peer that has been
// unreachable for a while, or never was linked, costs a lookup no wait.
func (m *Manager) justDown(domain string) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.peers[domain]
	if !ok || st.lost.IsZero() {
		return 0
	}
	return max(0, relinkWait-m.cfg.Now().Sub(st.lost))
}

// unregister removes l when it has closed.
func (m *Manager) unregister(l *link) {
	m.mu.Lock()
	if m.links[l.domain] != l {
		m.mu.Unlock()
		return
	}
	delete(m.links, l.domain)
	m.forgetStatement(l)
	st := m.stateLocked(l.addr, l.domain)
	st.State, st.Since = protocol.LinkDown, m.cfg.Now()
	st.lost = st.Since
	m.mu.Unlock()
	m.obs.LinkState(l.domain, protocol.LinkDown)
	if m.cfg.Mesh != nil {
		m.cfg.Mesh.LinkDown(l.domain)
	}
	if m.cfg.Channels != nil {
		m.cfg.Channels.LinkDown(l.domain)
	}
	m.log.Info("federation link down", "peer", l.domain, "addr", l.addr, "err", l.err())
}

// stateLocked returns the state entry of a peer, keyed by its domain once
// known (taking over the entry of its address), else by its address.
func (m *Manager) stateLocked(addr, domain string) *peerState {
	if domain == "" {
		st := m.peers[addr]
		if st == nil {
			st = &peerState{Link: protocol.Link{Address: addr}}
			m.peers[addr] = st
		}
		return st
	}
	st := m.peers[domain]
	if st == nil {
		st = &peerState{Link: protocol.Link{Domain: domain, Address: addr}}
		m.peers[domain] = st
	}
	if byAddr := m.peers[addr]; byAddr != nil && byAddr != st && addr != "" {
		st.Errors += byAddr.Errors
		delete(m.peers, addr)
	}
	return st
}

func (m *Manager) setState(addr, domain string, state protocol.LinkState, lastErr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if domain != "" && m.links[domain] != nil {
		return // an inbound link is up; the dialer's view does not matter
	}
	st := m.stateLocked(addr, domain)
	if st.State != state {
		st.Since = m.cfg.Now()
	}
	st.State = state
	if lastErr != "" {
		st.LastError = lastErr
		st.Errors++
	}
}

// forget drops a peer that is not one (a discovered node of another
// community, or this node itself) from the links report.
func (m *Manager) forget(addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.peers[addr]; st != nil && st.Domain == "" {
		delete(m.peers, addr)
	}
}

// count adds relayed messages or an error to a peer's report.
func (m *Manager) count(domain string, out, in int, err error) {
	m.mu.Lock()
	st := m.stateLocked("", domain)
	st.RelayedOut += uint64(out)
	st.RelayedIn += uint64(in)
	if err != nil {
		st.Errors++
		st.LastError = err.Error()
	}
	m.mu.Unlock()
	if out > 0 {
		m.obs.Relayed(domain, true, out)
	}
	if in > 0 {
		m.obs.Relayed(domain, false, in)
	}
	if err != nil {
		m.obs.Error(domain)
	}
}

// Links implements node.Federation: one entry per peer, sorted by domain
// then address.
func (m *Manager) Links() []protocol.Link {
	m.mu.Lock()
	out := make([]protocol.Link, 0, len(m.peers))
	for _, st := range m.peers {
		out = append(out, st.Link)
	}
	m.mu.Unlock()
	// sort, not slices: a generic sort of a struct is a copy of pdqsort
	// for that struct, about 12 KB of mips flash (issue 25).
	sort.Slice(out, func(i, j int) bool {
		if out[i].Domain != out[j].Domain {
			return out[i].Domain < out[j].Domain
		}
		return out[i].Address < out[j].Address
	})
	return out
}

// route returns the link to domain, or why there is none.
func (m *Manager) route(domain string) (*link, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.links[domain]; l != nil {
		return l, nil
	}
	if _, known := m.peers[domain]; known {
		return nil, fmt.Errorf("%w: %w to %s", protocol.ErrPeerUnreachable, protocol.ErrNoLink, domain)
	}
	return nil, fmt.Errorf("%w: %w: no federation peer serves %s", protocol.ErrUnknownDomain, protocol.ErrNoLink, domain)
}

// Relay implements node.Federation.
func (m *Manager) Relay(ctx context.Context, domain string, msgs []protocol.Outgoing) ([]protocol.Receipt, error) {
	l, err := m.route(domain)
	if err != nil {
		return nil, err
	}
	receipts, err := l.enqueueRelay(ctx, msgs)
	m.count(domain, stored(receipts), 0, err)
	return receipts, err
}

// ResolveUser implements node.Federation; knownSize goes to the user's
// node for its key transparency proof, whose head this node checks and
// remembers for gossip. A lookup that finds the link
// broken (the peer restarted, say) waits for it to come back and tries
// once more: it changes nothing on the peer.
//
// The answer must be signed by the node of addr's domain, whichever node
// handed it over: one that is not fails with *attest.ForgedError
// (protocol.ErrForgedKeys) and its keys go no further.
func (m *Manager) ResolveUser(ctx context.Context, addr string, knownSize uint64) (protocol.PublishedKeys, error) {
	return lookup(ctx, m, domainOf(addr), func(l *link) (protocol.PublishedKeys, error) {
		k, err := l.resolveUser(ctx, addr, knownSize)
		if err != nil {
			return protocol.PublishedKeys{}, err
		}
		if err := m.checkAnswer(addr, l.domain, k); err != nil {
			return protocol.PublishedKeys{}, err
		}
		m.observeAnswer(ctx, k)
		return k, nil
	})
}

// FetchKeyPackage implements node.Federation, retrying like ResolveUser.
// A retry after a broken link may use up one more of the user's key
// packages, which is harmless. suite is the MLS cipher suite wanted.
func (m *Manager) FetchKeyPackage(ctx context.Context, addr string, suite uint16) ([]byte, bool, error) {
	type result struct {
		pkg  []byte
		last bool
	}
	r, err := lookup(ctx, m, domainOf(addr), func(l *link) (result, error) {
		pkg, last, err := l.fetchKeyPackage(ctx, addr, suite)
		return result{pkg, last}, err
	})
	return r.pkg, r.last, err
}

// OrderCommit implements node.Federation: it claims the epoch at the node
// serving home, over the direct link or the next hop towards it, and
// retries like ResolveUser after a broken link. The retry is safe: a
// claim accepted before the link broke is accepted again, being the same
// commit.
func (m *Manager) OrderCommit(ctx context.Context, home string, c protocol.CommitClaim) (protocol.CommitOrder, error) {
	return lookup(ctx, m, strings.ToLower(home), func(l *link) (protocol.CommitOrder, error) {
		return l.orderCommit(ctx, home, c)
	})
}

func lookup[T any](ctx context.Context, m *Manager, domain string, call func(*link) (T, error)) (T, error) {
	l, err := m.lookupRoute(ctx, domain)
	if err != nil && errors.Is(err, protocol.ErrPeerUnreachable) {
		// The link to a peer that restarted is dropped a moment before
		// the new one is up; a lookup in that gap waits for it as a
		// lookup on the broken link would have.
		if wait := m.justDown(domain); wait > 0 {
			if nl := m.relinkWithin(ctx, domain, nil, wait); nl != nil {
				l, err = nl, nil
			}
		}
	}
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := call(l)
	var broke *linkError
	if errors.As(err, &broke) {
		if nl := m.relink(ctx, domain, l); nl != nil {
			return call(nl)
		}
	}
	return v, err
}

// maxLookupHops bounds the nodes a key lookup passes on its way to the
// node that serves the user (see resolveUser in federation.capnp).
const maxLookupHops = 8

// hopsKey carries a lookup's hop count from an inbound call to the
// lookup it causes on another link.
type hopsKey struct{}

func withHops(ctx context.Context, hops uint8) context.Context {
	return context.WithValue(ctx, hopsKey{}, hops+1)
}

// hopsOf returns the hop count to send with a lookup made in ctx: 0 for
// one of this node's clients, one more than the caller's for a lookup
// passed on.
func hopsOf(ctx context.Context) uint8 {
	h, _ := ctx.Value(hopsKey{}).(uint8)
	return h
}

// lookupRoute returns the link a key lookup for domain goes over: the
// direct link, else the link to the next hop of the store-and-forward
// routes.
func (m *Manager) lookupRoute(ctx context.Context, domain string) (*link, error) {
	l, err := m.route(domain)
	if err == nil || m.cfg.Mesh == nil {
		return l, err
	}
	if hopsOf(ctx) >= maxLookupHops {
		return nil, fmt.Errorf("%w: the lookup passed %d nodes without reaching %s", protocol.ErrUnknownDomain, maxLookupHops, domain)
	}
	if next, ok := m.cfg.Mesh.NextHop(domain); ok {
		if l := m.link(next); l != nil {
			return l, nil
		}
	}
	return nil, err
}

// domainOf returns the domain of addr, "user@domain" or a device's
// "user#device@domain", "" if addr is not one (which no peer serves).
func domainOf(addr string) string {
	a, err := protocol.ParseRecipient(addr, "")
	if err != nil {
		return ""
	}
	return a.Domain
}
