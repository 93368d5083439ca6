// Package app is the composition root of a qpc node: it builds the node's
// parts from a config.Node, runs them, and stops them in reverse order.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"
	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/datadir"
	"github.com/quicprochat/qpc/federation"
	"github.com/quicprochat/qpc/mesh/discovery"
	"github.com/quicprochat/qpc/mesh/flood"
	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/noderpc"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
	"github.com/quicprochat/qpc/version"
)

// ShutdownGrace is how long a stopping node waits for RPCs in flight before
// it closes the connections that carry them.
const ShutdownGrace = 5 * time.Second

// Node is a running qpc node.
type Node struct {
	cfg         config.Node
	log         *slog.Logger
	key         *identity.NodeKey
	fingerprint string
	ln          *transport.Listener
	store       *store.Store
	svc         *node.Service
	calls       *calls
	grace       time.Duration
	metrics     *nodeMetrics
	refusals    refusalLog
	metricsLn   net.Listener // nil without --metrics-listen

	mdns     *discovery.Service // nil without --mdns
	mdnsStop context.CancelFunc
	mdnsDone chan struct{}

	fed     *federation.Manager // nil without federation
	mesh    *forward.Engine     // nil without federation
	fedStop context.CancelFunc
	fedDone chan struct{}

	channels *flood.Engine
	chanStop context.CancelFunc
	chanDone chan struct{}

	wg        sync.WaitGroup // one per connection being served
	mu        sync.Mutex
	conns     map[*quic.Conn]*connEntry // nil once shutdown has begun
	perSource map[netip.Prefix]int      // open connections by source
	unauth    int                       // open connections not logged in
	evicting  int                       // evicted connections not yet untracked
	// unauthBySource counts the connections of the unauthenticated pool
	// by source, for eviction (admit).
	unauthBySource map[netip.Prefix]int
}

// NewNode builds a node from cfg: it opens the data directory, loads or
// creates the node key and certificate, and binds the listening socket.
// Serving starts with Run.
func NewNode(cfg config.Node, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir, err := datadir.Open(cfg.DataDir)
	if err != nil {
		return nil, &config.FlagError{Flag: "data-dir", Err: err}
	}
	if dir.Loose() {
		log.Warn("data dir is readable by other users; the node key is exposed", "data_dir", dir.Path())
	}
	if err := checkFiles(cfg, dir, log); err != nil {
		return nil, err
	}
	key, created, err := dir.NodeKey()
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("created node key", "node_id", key.ID(), "file", dir.Join(datadir.NodeKeyFile))
	}
	cert, err := serverCertificate(cfg, dir, key, log)
	if err != nil {
		return nil, err
	}
	opaqueServer, err := loadOPAQUE(dir, log)
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:   cfg,
		log:   log,
		key:   key,
		calls: newCalls(),
		grace: ShutdownGrace,
		conns: map[*quic.Conn]*connEntry{},

		perSource: map[netip.Prefix]int{},

		unauthBySource: map[netip.Prefix]int{},
	}
	n.metrics = newNodeMetrics(n.openConns, func() (int64, int64, int, error) { return n.store.Totals() })
	n.calls.onBusy = n.metrics.busy.Inc
	st, err := openStore(cfg, n.metrics.commit)
	if err != nil {
		return nil, err
	}
	if n.channels, err = n.newChannels(cfg, st); err != nil {
		st.Close()
		return nil, err
	}
	var fed node.Federation
	var mesh node.Mesh
	if cfg.Federation() {
		if n.mesh, err = n.newMesh(cfg, st); err != nil {
			st.Close()
			return nil, err
		}
		if n.fed, err = n.newFederation(cfg); err != nil {
			st.Close()
			return nil, err
		}
		fed, mesh = n.fed, n.mesh
		if federationHook != nil {
			fed = federationHook(cfg.Domain, fed)
		}
	}
	svc, err := node.New(node.Config{
		Identity: protocol.Identity{
			Version:  version.Version,
			Commit:   version.Commit,
			Platform: version.Platform(),
			NodeID:   key.ID(),
			Domain:   cfg.Domain,
		},
		Limits: node.Limits{
			MaxPayload:   cfg.MaxPayload,
			DefaultTTL:   cfg.MessageTTL,
			MaxTTL:       cfg.MaxMessageTTL,
			EnqueueRate:  float64(cfg.EnqueueRate),
			EnqueueBurst: 2 * cfg.EnqueueRate,
			PeerRate:     float64(cfg.FederationRate),
			PeerBurst:    2 * cfg.FederationRate,
			SessionTTL:   cfg.SessionTTL,

			RegisterSourceRate:  float64(cfg.RegisterRate) / 3600,
			RegisterSourceBurst: cfg.RegisterRate,
			RegisterNodeRate:    float64(cfg.RegisterRateNode) / 3600,
			RegisterNodeBurst:   cfg.RegisterRateNode,
			NameHold:            cfg.NameHold,
		},
		Store:      st,
		OPAQUE:     opaqueServer,
		Log:        log,
		Observer:   n.metrics,
		Federation: fed,
		Mesh:       mesh,
		Channels:   n.channels,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	if cfg.MetricsListen != "" {
		if n.metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			st.Close()
			return nil, &config.FlagError{Flag: "metrics-listen", Err: err}
		}
	}
	var fedTLS func(*tls.ClientHelloInfo) (*tls.Config, error)
	if n.fed != nil {
		fedTLS = n.fed.ServerTLS
	}
	reset, err := resetKey(key)
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := transport.Listen(cfg.Listen, transport.ServerTLS(cert, fedTLS), cfg.IdleTimeout, reset)
	if err != nil {
		st.Close()
		if n.metricsLn != nil {
			n.metricsLn.Close()
		}
		return nil, &config.FlagError{Flag: "listen", Err: err}
	}
	n.fingerprint = transport.Fingerprint(cert.Certificate[0])
	n.ln, n.store, n.svc = ln, st, svc
	if cfg.MDNS {
		if n.mdns, err = newDiscovery(cfg, key.ID(), n.fingerprint, ln.Addr(), log); err != nil {
			n.Close()
			return nil, err
		}
		n.registerDiscoveryMetrics()
	}
	return n, nil
}

// openConns returns how many client connections are open.
func (n *Node) openConns() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns)
}

// MetricsAddr returns the address of the metrics endpoint, or nil.
func (n *Node) MetricsAddr() net.Addr {
	if n.metricsLn == nil {
		return nil
	}
	return n.metricsLn.Addr()
}

func openStore(cfg config.Node, onCommit func(int, time.Duration)) (*store.Store, error) {
	dir := cfg.StorePath()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &config.FlagError{Flag: "store-dir", Err: err}
	}
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{
		Limits: node.MailboxLimits{MaxMessages: cfg.MailboxMaxMessages, MaxBytes: cfg.MailboxMaxBytes,
			TotalBytes: cfg.StoreMaxBytes},
		MaxAccounts: cfg.MaxAccounts,
		Mesh: protocol.MeshQuota{
			MaxBytes:       cfg.MeshStoreBytes,
			DomainBytes:    cfg.MeshDomainBytes,
			OriginBytes:    cfg.MeshOriginBytes,
			NeighbourBytes: cfg.MeshNeighbourQuota(),
			MaxSeen:        cfg.MeshSeenMax,
		},
		Channels: protocol.ChannelQuota{
			Retain:      cfg.ChannelRetain,
			MaxChannels: cfg.ChannelMax,
			MaxBytes:    cfg.ChannelStoreSize,
			MaxSeen:     cfg.ChannelSeenMax,
		},
		OnCommit: onCommit,
	})
	if err != nil {
		return nil, &config.FlagError{Flag: "store-dir", Err: err}
	}
	return st, nil
}

// loadOPAQUE returns the OPAQUE server with the node's secrets, made on
// first start.
func loadOPAQUE(dir *datadir.Dir, log *slog.Logger) (*opaque.Server, error) {
	cfg := opaque.DefaultConfig()
	secrets, created, err := dir.OPAQUESecrets(cfg)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("created OPAQUE server secrets; back them up with the node key", "file", dir.Join(datadir.OPAQUEFile))
	}
	return opaque.NewServer(cfg, secrets)
}

func serverCertificate(cfg config.Node, dir *datadir.Dir, key *identity.NodeKey, log *slog.Logger) (tls.Certificate, error) {
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return tls.Certificate{}, &config.FlagError{Flag: "tls-cert", Err: fmt.Errorf("with --tls-key: %w", err)}
		}
		return cert, nil
	}
	cert, created, err := dir.SelfSignedCert(key, cfg.Domain)
	if err != nil {
		return tls.Certificate{}, err
	}
	if created {
		log.Info("created self-signed certificate; clients that pinned an earlier one must pin it anew",
			"file", dir.Join(datadir.NodeCertFile), "fingerprint", transport.Fingerprint(cert.Certificate[0]))
	}
	return cert, nil
}

// Addr returns the address the node listens on, with the real port.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// NodeID returns the node's id.
func (n *Node) NodeID() string { return n.key.ID() }

// Fingerprint returns the SHA-256 fingerprint of the node's certificate,
// which clients pin.
func (n *Node) Fingerprint() string { return n.fingerprint }

// Run serves clients until ctx is cancelled, then stops: it refuses new
// connections, waits up to ShutdownGrace for RPCs in flight, and closes
// every connection. It returns nil after a stop on cancel.
func (n *Node) Run(ctx context.Context) error {
	n.log.Info("node serving", "addr", n.Addr().String(), "node_id", n.NodeID(),
		"domain", n.cfg.Domain, "fingerprint", n.fingerprint, "version", version.String(),
		"store", filepath.Join(n.cfg.StorePath(), store.FileName))
	if n.fed != nil {
		n.log.Info("federation on", "fingerprint", n.fed.Fingerprint(), "peers", len(n.cfg.Peers),
			"discovery", n.mdns != nil)
	}
	svcCtx, stopSvc := context.WithCancel(context.Background())
	svcDone := make(chan struct{})
	go func() {
		defer close(svcDone)
		n.svc.Run(svcCtx)
	}()
	metricsDone := make(chan struct{})
	go func() {
		defer close(metricsDone)
		if n.metricsLn == nil {
			return
		}
		n.log.Info("serving metrics", "addr", "http://"+n.metricsLn.Addr().String()+"/metrics")
		if err := n.metrics.reg.Serve(svcCtx, n.metricsLn); err != nil {
			n.log.Error("metrics endpoint failed", "err", err)
		}
	}()
	if n.mdns != nil {
		n.startDiscovery()
	}
	n.startChannels()
	if n.fed != nil {
		n.startFederation()
	}
	var runErr error
	for {
		conn, err := n.ln.Accept(ctx)
		if err != nil {
			if ctx.Err() == nil {
				runErr = fmt.Errorf("accept: %w", err)
			}
			break
		}
		if conn.ConnectionState().TLS.NegotiatedProtocol == transport.ALPNFederation && n.fed != nil {
			n.fed.Accept(ctx, conn)
			continue
		}
		n.wg.Add(1)
		go n.serveConn(ctx, conn)
	}
	n.shutdown()
	stopSvc()
	<-svcDone
	<-metricsDone
	if err := n.store.Close(); err != nil {
		n.log.Error("closing store", "err", err)
		if runErr == nil {
			runErr = err
		}
	}
	n.log.Info("node stopped")
	return runErr
}

func (n *Node) serveConn(ctx context.Context, conn *quic.Conn) {
	defer n.wg.Done()
	log := n.log.With("remote", conn.RemoteAddr().String())
	// The login deadline counts from the handshake: the wait for the RPC
	// stream is part of it.
	deadline := time.Now().Add(n.cfg.LoginTimeout)
	if err := n.admit(conn); err != nil {
		if errors.Is(err, errStopping) {
			conn.CloseWithError(transport.CodeShutdown, "node shutting down")
			return
		}
		n.metrics.refused.With(refusalReason(err)).Inc()
		n.refusals.log(log, err)
		conn.CloseWithError(transport.CodeBusy, err.Error())
		return
	}
	defer n.untrack(conn)
	n.metrics.connections.Inc()
	log.Debug("client connected")
	nc := n.svc.NewConn(conn.RemoteAddr().String())
	srv := noderpc.NewServer(n.svc, nc, noderpc.Options{
		Calls:    n.calls,
		Timeout:  n.cfg.RPCTimeout,
		Observer: n.metrics,
		Log:      log,
	})
	sctx, cancel := context.WithDeadline(ctx, deadline)
	rc, err := transport.ServeBoundedRPC(sctx, conn, capnp.Client(srv.Client()), log, transport.Limits{
		MaxFrame:  transport.FrameBound(n.cfg.MaxPayload),
		MaxCalls:  transport.MaxCallsInFlight,
		LoggedIn:  nc.Bound(),
		OnRefused: func(error) { n.metrics.framesRefused.Inc() },
	})
	cancel()
	if err != nil {
		log.Debug("closing connection", "err", err)
		conn.CloseWithError(transport.CodeProtocol, "no RPC stream")
		return
	}
	if !n.setRPC(conn, rc) {
		rc.Close()
		conn.CloseWithError(transport.CodeShutdown, "node shutting down")
		return
	}
	login := time.NewTimer(time.Until(deadline))
	defer login.Stop()
	bound := nc.Bound()
	for done := false; !done; {
		select {
		case <-rc.Done():
			done = true
		case <-conn.Context().Done():
			done = true
		case <-bound:
			bound = nil
			login.Stop()
			n.authenticated(conn)
		case <-nc.Revoked(): // its account was deleted elsewhere
			rc.Close()
			conn.CloseWithError(transport.CodeRefused, "account deleted")
			log.Debug("closed the connection of a deleted account")
			return
		case <-login.C:
			n.metrics.loginTimeouts.Inc()
			log.Debug("closing connection: no login in time", "login_timeout", n.cfg.LoginTimeout)
			rc.Close()
			conn.CloseWithError(transport.CodeLoginTimeout, "no login in time")
			return
		}
	}
	rc.Close()
	conn.CloseWithError(transport.CodeNormal, "")
	log.Debug("client disconnected")
}

// connEntry is what the node tracks of an open client connection.
type connEntry struct {
	rc     *rpc.Conn // nil while its stream is awaited
	source netip.Prefix
	authed bool // logged in or resumed a session
	// evicted is set when the connection gave its place in the
	// unauthenticated pool to a newcomer from a smaller source and is
	// being closed; it no longer counts in that pool.
	evicted bool
}

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
func (n *Node) admit(conn *quic.Conn) error {
	src := sourceOf(conn.RemoteAddr())
	var victim *quic.Conn
	err := func() error {
		n.mu.Lock()
		defer n.mu.Unlock()
		switch {
		case n.conns == nil:
			return errStopping
		// An evicted connection is closed already; it stays in n.conns
		// only until its goroutine runs, which under load can take a
		// while, so it does not count against the total.
		case len(n.conns)-n.evicting >= n.cfg.MaxConnections:
			return fmt.Errorf("%w (--max-connections %d)", errTooManyConnections, n.cfg.MaxConnections)
		case n.perSource[src] >= n.cfg.MaxConnectionsPerSource:
			return fmt.Errorf("%w (--max-connections-per-source %d)", errTooManyFromSource, n.cfg.MaxConnectionsPerSource)
		case n.unauth >= n.cfg.MaxUnauthenticated:
			victim = n.evictionVictim(src)
			if victim == nil {
				return fmt.Errorf("%w (--max-unauthenticated %d)", errTooManyAnonymous, n.cfg.MaxUnauthenticated)
			}
			e := n.conns[victim]
			e.evicted = true
			n.evicting++
			n.unauth--
			n.unauthBySource[e.source]--
		}
		n.conns[conn] = &connEntry{source: src}
		n.perSource[src]++
		n.unauth++
		n.unauthBySource[src]++
		return nil
	}()
	if victim != nil {
		n.metrics.evicted.Inc()
		victim.CloseWithError(transport.CodeBusy, "too many connections not logged in; this one gave its place to another address")
	}
	return err
}

// evictionVictim picks, when the unauthenticated pool is full, a
// connection of the source with the most places in it, at random, if
// that source holds more places than src would after admitting one more;
// else it returns nil. n.mu must be held.
func (n *Node) evictionVictim(src netip.Prefix) *quic.Conn {
	var top netip.Prefix
	most := 0
	for s, k := range n.unauthBySource {
		if k > most {
			top, most = s, k
		}
	}
	if most <= n.unauthBySource[src]+1 {
		return nil
	}
	var victim *quic.Conn
	seen := 0
	for c, e := range n.conns {
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

// setRPC records conn's RPC connection, so that shutdown closes it; false
// means shutdown has begun.
func (n *Node) setRPC(conn *quic.Conn, rc *rpc.Conn) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.conns[conn]
	if ok {
		e.rc = rc
	}
	return ok
}

// authenticated moves conn from the unauthenticated pool to the logged-in
// one.
func (n *Node) authenticated(conn *quic.Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e, ok := n.conns[conn]; ok && !e.authed && !e.evicted {
		e.authed = true
		n.unauth--
		n.unauthBySource[e.source]--
	}
}

func (n *Node) untrack(conn *quic.Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.conns[conn]
	if !ok {
		return
	}
	delete(n.conns, conn)
	if n.perSource[e.source]--; n.perSource[e.source] <= 0 {
		delete(n.perSource, e.source)
	}
	switch {
	case e.evicted:
		n.evicting--
	case !e.authed:
		n.unauth--
		n.unauthBySource[e.source]--
	}
	if n.unauthBySource[e.source] <= 0 {
		delete(n.unauthBySource, e.source)
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

func (n *Node) shutdown() {
	n.log.Info("node stopping")
	// Say goodbye on the mesh first, so nobody dials a node that is going.
	n.stopDiscovery()
	n.ln.StopAccepting()

	ctx, cancel := context.WithTimeout(context.Background(), n.grace)
	defer cancel()
	if err := n.calls.Wait(ctx); err != nil {
		n.log.Warn("RPCs still running after the shutdown grace period; cutting them off",
			"grace", n.grace, "running", n.calls.Running())
	}

	n.mu.Lock()
	conns := n.conns
	n.conns = nil // from here on, track refuses
	n.mu.Unlock()
	for conn, e := range conns {
		if e.rc != nil {
			e.rc.Close()
		}
		conn.CloseWithError(transport.CodeShutdown, "node shutting down")
	}
	n.wg.Wait()
	n.stopFederation()
	n.stopChannels()
	if err := n.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		n.log.Warn("closing listener", "err", err)
	}
}

// Close releases the node's socket and store. Use it when Run was never
// called; Run releases everything itself when it returns.
func (n *Node) Close() error {
	if n.mdns != nil {
		n.mdns.Close()
	}
	if n.metricsLn != nil {
		n.metricsLn.Close()
	}
	err := n.ln.Close()
	if serr := n.store.Close(); err == nil {
		err = serr
	}
	return err
}
