// Package app is the composition root of a qpc node: it builds the node's
// parts from a config.Node, runs them, and stops them in reverse order.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/datadir"
	"github.com/quicprochat/qpc/federation"
	"github.com/quicprochat/qpc/ktwatch"
	"github.com/quicprochat/qpc/mesh/discovery"
	"github.com/quicprochat/qpc/mesh/flood"
	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/admin"
	"github.com/quicprochat/qpc/node/blob"
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
	metricsLn   net.Listener        // nil without --metrics-listen
	mdns        *discovery.Service  // nil without --mdns
	fed         *federation.Manager // nil without federation
	mesh        *forward.Engine     // nil without federation
	channels    *flood.Engine
	blobs       *blob.Service
	kt          *ktwatch.Watch    // the watch over key transparency logs
	adminLn     *net.UnixListener // nil with --admin-socket ""
	admin       *admin.Server     // nil with --admin-socket ""

	// noMsgStream makes the node ignore message streams, as a node
	// before them did (tests of the client's fallback to RPC).
	noMsgStream bool

	tracker *connTracker   // the client connections open
	serving sync.WaitGroup // one per client connection being served

	// release frees, last acquired first, what NewNode acquired: the
	// store, the metrics listener, the socket, discovery's sockets.
	release releaseStack
}

// NewNode builds a node from cfg: it opens the data directory, loads or
// creates the node key and certificate, and binds the listening socket.
// Serving starts with Run.
func NewNode(cfg config.Node, log *slog.Logger) (_ *Node, err error) {
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
		tracker: newConnTracker(connLimits{
			total:           cfg.MaxConnections,
			perSource:       cfg.MaxConnectionsPerSource,
			unauthenticated: cfg.MaxUnauthenticated,
		}),
	}
	// From here on, a failure releases whatever was acquired before it.
	defer func() {
		if err != nil {
			n.release.run()
		}
	}()
	n.metrics = newNodeMetrics(n.tracker.open, func() (int64, int64, int, error) { return n.store.Totals() })
	n.calls.onBusy = n.metrics.busy.Inc
	n.tracker.onEvict = n.metrics.evicted.Inc
	ktLog, err := n.ktSigner(cfg)
	if err != nil {
		return nil, err
	}
	if n.store, err = openStore(cfg, n.metrics.commit, ktLog); err != nil {
		return nil, err
	}
	n.release.push(n.store.Close)
	if n.blobs, err = n.newBlobs(cfg); err != nil {
		return nil, err
	}
	n.metrics.registerBlobMetrics(n.blobs.Store())
	if n.channels, err = n.newChannels(cfg, n.store); err != nil {
		return nil, err
	}
	var fed node.Federation
	var mesh node.Mesh
	if cfg.Federation() {
		if n.mesh, err = n.newMesh(cfg, n.store); err != nil {
			return nil, err
		}
		if n.fed, err = n.newFederation(cfg); err != nil {
			return nil, err
		}
		fed, mesh = n.fed, n.mesh
		if federationHook != nil {
			fed = federationHook(cfg.Domain, fed)
		}
	}
	if n.kt == nil {
		if n.kt, err = n.newKTWatch(cfg, nil); err != nil {
			return nil, err
		}
	}
	if n.svc, err = n.newService(cfg, opaqueServer, fed, mesh); err != nil {
		return nil, err
	}
	if cfg.MetricsListen != "" {
		if n.metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return nil, &config.FlagError{Flag: "metrics-listen", Err: err}
		}
		n.release.push(func() error {
			n.metricsLn.Close()
			return nil // as ever: only the socket's and the store's errors are reported
		})
	}
	var fedTLS func(*tls.ClientHelloInfo) (*tls.Config, error)
	if n.fed != nil {
		fedTLS = n.fed.ServerTLS
	}
	reset, err := resetKey(key)
	if err != nil {
		return nil, err
	}
	if n.ln, err = transport.Listen(cfg.Listen, transport.ServerTLS(cert, fedTLS), cfg.IdleTimeout, reset); err != nil {
		return nil, &config.FlagError{Flag: "listen", Err: err}
	}
	n.release.push(n.ln.Close)
	n.fingerprint = transport.Fingerprint(cert.Certificate[0])
	if cfg.MDNS {
		if n.mdns, err = newDiscovery(cfg, key.ID(), n.fingerprint, n.ln.Addr(), log); err != nil {
			return nil, err
		}
		n.release.push(func() error {
			n.mdns.Close()
			return nil
		})
		n.registerDiscoveryMetrics()
	}
	if err := n.openAdmin(); err != nil {
		return nil, &config.FlagError{Flag: "admin-socket", Err: err}
	}
	return n, nil
}

// newService builds the client-facing service on the node's store, with
// the limits of cfg; fed and mesh are nil without federation.
func (n *Node) newService(cfg config.Node, opaqueServer *opaque.Server, fed node.Federation, mesh node.Mesh) (*node.Service, error) {
	reportKey, err := loadReportKey(cfg, n.log)
	if err != nil {
		return nil, err
	}
	return node.New(node.Config{
		MDNSInstance: func() string {
			if n.mdns == nil {
				return ""
			}
			return n.mdns.Instance()
		},
		Identity: protocol.Identity{
			Version:  version.Version,
			Commit:   version.Commit,
			Platform: version.Platform(),
			NodeID:   n.key.ID(),
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
			LoginSourceRate:     float64(cfg.LoginRate) / 60,
			LoginSourceBurst:    max(64, cfg.LoginRate),
			NameHold:            cfg.NameHold,
		},
		Store:      n.store,
		OPAQUE:     opaqueServer,
		Log:        n.log,
		Observer:   n.metrics,
		Federation: fed,
		Mesh:       mesh,
		Channels:   n.channels,
		KeyLog:     n.store,
		KTWatch:    n.kt,

		DenyLists: n.store,
		Reports:   n.store,
		ReportKey: reportKey,

		Registration:          cfg.Registration,
		Invites:               n.store,
		OnRegistrationRefused: n.metrics.registrationRefused,
	})
}

// releaseStack holds what a node acquired while it was built, to be freed
// last acquired first.
type releaseStack []func() error

// push adds a release, to run before those pushed earlier.
func (r *releaseStack) push(f func() error) { *r = append(*r, f) }

// run runs every release, last pushed first, and returns the first error.
func (r releaseStack) run() error {
	var first error
	for i := len(r) - 1; i >= 0; i-- {
		if err := r[i](); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// MetricsAddr returns the address of the metrics endpoint, or nil.
func (n *Node) MetricsAddr() net.Addr {
	if n.metricsLn == nil {
		return nil
	}
	return n.metricsLn.Addr()
}

func openStore(cfg config.Node, onCommit func(int, time.Duration), kt store.KTLog) (*store.Store, error) {
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
		NoWAL:    !cfg.StoreWAL,
		OnCommit: onCommit,
		KT:       kt,
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

// Run serves clients until ctx is cancelled or one of the node's parts
// fails, then stops: it refuses new connections, waits up to ShutdownGrace
// for RPCs in flight, and closes every connection. It returns nil after a
// stop on cancel, and a *PartError when a part failed.
//
// The parts (the service's expiry, the metrics endpoint, discovery,
// channels, federation and store-and-forward, the accept loop) run under
// one errgroup; shutdown stops them in the order below.
func (n *Node) Run(ctx context.Context) error {
	n.log.Info("node serving", "addr", n.Addr().String(), "node_id", n.NodeID(),
		"domain", n.cfg.Domain, "fingerprint", n.fingerprint, "version", version.String(),
		"store", filepath.Join(n.cfg.StorePath(), store.FileName))
	if n.fed != nil {
		n.log.Info("federation on", "fingerprint", n.fed.Fingerprint(), "peers", len(n.cfg.Peers),
			"discovery", n.mdns != nil)
	}
	p := newParts(ctx, n.log)
	p.Go(partService, n.svc.Run)
	if n.metricsLn != nil {
		n.log.Info("serving metrics", "addr", "http://"+n.metricsLn.Addr().String()+"/metrics")
		p.Go(partMetrics, n.serveMetrics)
	}
	if n.mdns != nil {
		p.Go(partDiscovery, n.mdns.Run)
	}
	p.Go(partChannels, n.runChannels)
	p.Go(partBlobs, n.blobs.Store().Run)
	if n.fed != nil {
		p.Go(partMesh, n.runMesh)
		p.Go(partFederation, n.runFederation)
	}
	p.Go(partAccept, n.acceptLoop)
	if n.admin != nil {
		p.Go(partAdmin, n.serveAdmin)
	}
	<-p.Done()
	n.shutdown(p)
	runErr := p.Wait()
	if err := n.store.Close(); err != nil {
		n.log.Error("closing store", "err", err)
		if runErr == nil {
			runErr = err
		}
	}
	n.log.Info("node stopped")
	return runErr
}

// The names of a node's parts, as logs and PartError give them.
const (
	partService    = "service"
	partMetrics    = "metrics"
	partDiscovery  = "discovery"
	partChannels   = "channels"
	partMesh       = "store-and-forward"
	partFederation = "federation"
	partAccept     = "accept loop"
)

// serveMetrics serves --metrics-listen until ctx ends.
func (n *Node) serveMetrics(ctx context.Context) error {
	return n.metrics.reg.Serve(ctx, n.metricsLn)
}

// shutdown stops the node's parts in order; the store, which they all
// use, is left to the caller.
func (n *Node) shutdown(p *parts) {
	n.log.Info("node stopping")
	// A part that failed stops the node without ctx's end: the accept loop
	// must be told.
	p.Stop(partAccept)
	// Say goodbye on the mesh first, so nobody dials a node that is going.
	p.Stop(partDiscovery)
	n.ln.StopAccepting()

	ctx, cancel := context.WithTimeout(context.Background(), n.grace)
	defer cancel()
	if err := n.calls.Wait(ctx); err != nil {
		n.log.Warn("RPCs still running after the shutdown grace period; cutting them off",
			"grace", n.grace, "running", n.calls.Running())
	}

	n.tracker.closeAll()
	n.serving.Wait()
	p.Stop(partFederation, partMesh)
	p.Stop(partChannels)
	if err := n.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		n.log.Warn("closing listener", "err", err)
	}
	p.Stop(partService, partMetrics, partBlobs, partAdmin)
}

// Close releases the node's socket and store. Use it when Run was never
// called; Run releases everything itself when it returns.
func (n *Node) Close() error {
	return n.release.run()
}
