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
	"sync"
	"time"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"
	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/datadir"
	"github.com/quicprochat/qpc/mesh/discovery"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/noderpc"
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
	server      *noderpc.Server
	calls       *calls
	grace       time.Duration
	mdns        *discovery.Service // nil without --mdns
	mdnsStop    context.CancelFunc
	mdnsDone    chan struct{}

	wg    sync.WaitGroup // one per connection being served
	mu    sync.Mutex
	conns map[*quic.Conn]*rpc.Conn // nil *rpc.Conn while its stream is awaited
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
	ln, err := transport.Listen(cfg.Listen, transport.ServerTLS(cert))
	if err != nil {
		return nil, &config.FlagError{Flag: "listen", Err: err}
	}
	n := &Node{
		cfg:         cfg,
		log:         log,
		key:         key,
		fingerprint: transport.Fingerprint(cert.Certificate[0]),
		ln:          ln,
		calls:       newCalls(),
		grace:       ShutdownGrace,
		conns:       map[*quic.Conn]*rpc.Conn{},
	}
	svc := node.New(node.Identity{
		Version:  version.Version,
		Commit:   version.Commit,
		Platform: version.Platform(),
		NodeID:   key.ID(),
		Domain:   cfg.Domain,
	})
	n.server = noderpc.NewServer(svc, n.calls)
	if cfg.MDNS {
		if n.mdns, err = newDiscovery(cfg, key.ID(), n.fingerprint, ln.Addr(), log); err != nil {
			ln.Close()
			return nil, err
		}
	}
	return n, nil
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
		"domain", n.cfg.Domain, "fingerprint", n.fingerprint, "version", version.String())
	if n.mdns != nil {
		n.startDiscovery()
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
		n.wg.Add(1)
		go n.serveConn(ctx, conn)
	}
	n.shutdown()
	return runErr
}

func (n *Node) serveConn(ctx context.Context, conn *quic.Conn) {
	defer n.wg.Done()
	log := n.log.With("remote", conn.RemoteAddr().String())
	if !n.track(conn, nil) {
		conn.CloseWithError(transport.CodeShutdown, "node shutting down")
		return
	}
	defer n.untrack(conn)
	log.Debug("client connected")
	rc, err := transport.ServeRPC(ctx, conn, capnp.Client(n.server.Client()), log)
	if err != nil {
		log.Debug("closing connection", "err", err)
		conn.CloseWithError(transport.CodeProtocol, "no RPC stream")
		return
	}
	if !n.track(conn, rc) {
		rc.Close()
		conn.CloseWithError(transport.CodeShutdown, "node shutting down")
		return
	}
	select {
	case <-rc.Done():
	case <-conn.Context().Done():
	}
	rc.Close()
	conn.CloseWithError(transport.CodeNormal, "")
	log.Debug("client disconnected")
}

// track records conn (and its RPC connection once there is one). It reports
// false once shutdown has begun, when conn must be closed instead.
func (n *Node) track(conn *quic.Conn, rc *rpc.Conn) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns == nil {
		return false
	}
	n.conns[conn] = rc
	return true
}

func (n *Node) untrack(conn *quic.Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns != nil {
		delete(n.conns, conn)
	}
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
	for conn, rc := range conns {
		if rc != nil {
			rc.Close()
		}
		conn.CloseWithError(transport.CodeShutdown, "node shutting down")
	}
	n.wg.Wait()
	if err := n.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		n.log.Warn("closing listener", "err", err)
	}
	n.log.Info("node stopped")
}

// Close releases the node's socket. Use it when Run was never called; Run
// releases everything itself when it returns.
func (n *Node) Close() error {
	if n.mdns != nil {
		n.mdns.Close()
	}
	return n.ln.Close()
}
