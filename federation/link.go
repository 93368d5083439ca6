package federation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"
	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
	"github.com/quicprochat/qpc/transport"
)

// errLinkClosed means a call found its link closed.
var errLinkClosed = errors.New("link closed")

// closedAsDuplicate reports whether the peer closed conn because another
// link between the two nodes won (transport.CodeDuplicate). A call that
// fails with the connection can fail a moment before the connection
// learns why it closed: wait a moment for that.
func closedAsDuplicate(ctx context.Context, conn *quic.Conn) bool {
	t := time.NewTimer(250 * time.Millisecond)
	defer t.Stop()
	select {
	case <-conn.Context().Done():
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
	var ae *quic.ApplicationError
	return errors.As(context.Cause(conn.Context()), &ae) && ae.Remote && ae.ErrorCode == transport.CodeDuplicate
}

// errDuplicate means a new link lost to another link between the same
// two nodes and was closed.
var errDuplicate = errors.New("duplicate federation link")

// link is one established link to a peer.
type link struct {
	domain   string // the peer's, from its certificate
	nodeID   string // the peer's, from its health answer
	addr     string // the peer's address
	outgoing bool   // this node dialed it
	self     string // this node's domain
	conn     *quic.Conn
	rc       *rpc.Conn
	peer     schemas.FederationService
	done     chan struct{} // closed when the link has ended
	relays   chan *relayRequest

	once     sync.Once
	mu       sync.Mutex
	closeErr error
}

// dialer returns the domain of the node that dialed the link.
func (l *link) dialer(self string) string {
	if l.outgoing {
		return self
	}
	return l.domain
}

func (l *link) close(code quic.ApplicationErrorCode, msg string) {
	l.once.Do(func() {
		l.mu.Lock()
		if l.closeErr == nil {
			l.closeErr = errors.New(msg)
		}
		l.mu.Unlock()
		l.peer.Release()
		l.rc.Close()
		l.conn.CloseWithError(code, msg)
	})
}

func (l *link) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closeErr != nil {
		return l.closeErr
	}
	return context.Cause(l.conn.Context())
}

// establish runs the RPC connection on conn, checks the peer's health
// answer against its certificate, registers the link and watches it until
// it ends. The TLS handshake has already verified the certificate (with
// Manager.ServerTLS or the dialer's check), so its identity is only read.
func (m *Manager) establish(ctx context.Context, conn *quic.Conn, addr string, outgoing bool) (*link, error) {
	certs := conn.ConnectionState().TLS.PeerCertificates
	if len(certs) == 0 || len(certs[0].DNSNames) != 1 {
		conn.CloseWithError(transport.CodeRefused, "refused")
		return nil, refused(ReasonBadSAN, "link without a verified peer certificate")
	}
	id := identityOf(certs[0])
	var err error
	log := m.log.With("peer", id.domain, "addr", addr)
	srv := &server{m: m, domain: id.domain, in: m.cfg.Inbound(id.domain), log: log}
	boot := capnp.Client(schemas.FederationService_ServerToClient(srv))
	hctx, cancel := context.WithTimeout(ctx, transport.HandshakeTimeout)
	defer cancel()
	var rc *rpc.Conn
	if outgoing {
		rc, err = transport.OpenRPC(hctx, conn, boot, log)
	} else {
		rc, err = transport.ServeRPC(hctx, conn, boot, log)
	}
	if err != nil {
		conn.CloseWithError(transport.CodeProtocol, "no RPC stream")
		return nil, err
	}
	l := &link{
		domain: id.domain, addr: addr, outgoing: outgoing, self: m.cfg.Domain,
		conn: conn, rc: rc, peer: schemas.FederationService(rc.Bootstrap(hctx)),
		done: make(chan struct{}),
	}
	h, err := l.health(hctx)
	if err != nil {
		if closedAsDuplicate(hctx, conn) {
			// Both nodes dialed at once and the peer kept the other
			// link, closing this one before it answered: a lost race,
			// not a failure.
			l.close(transport.CodeDuplicate, "duplicate link")
			close(l.done)
			return l, errDuplicate
		}
		l.close(transport.CodeProtocol, "no health answer")
		return nil, fmt.Errorf("health of %s: %w", addr, err)
	}
	if !strings.EqualFold(h.domain, id.domain) {
		l.close(transport.CodeRefused, "domain differs from certificate")
		err := refused(ReasonDomainMismatch, "peer at %s claims domain %q but its certificate names %q", addr, h.domain, id.domain)
		m.refuse(addr, err)
		return nil, err
	}
	l.nodeID = h.nodeID
	srv.nodeID.Store(&h.nodeID)
	l.startRelays(m.cfg.CallTimeout)
	if err := m.register(ctx, l); err != nil {
		code := transport.CodeDuplicate
		if errors.Is(err, ErrClosed) {
			code = transport.CodeShutdown
		}
		l.close(code, err.Error())
		close(l.done)
		return l, err
	}
	m.serving.Add(1)
	go func() {
		defer m.serving.Done()
		l.watch(m.log)
		m.unregister(l)
		close(l.done)
	}()
	if m.cfg.KT != nil {
		m.serving.Add(1)
		go func() {
			defer m.serving.Done()
			m.gossipKT(l)
		}()
	}
	return l, nil
}

// watch asks the peer for its health every LinkKeepAlive until the link
// ends, and ends it when the peer does not answer within as long. QUIC's
// own keep-alives are too small to draw a stateless reset from a peer that
// restarted (quic-go answers only packets above 42 bytes), and a dead peer
// would otherwise be noticed only at the idle timeout.
func (l *link) watch(log *slog.Logger) {
	t := time.NewTicker(transport.LinkKeepAlive)
	defer t.Stop()
	for {
		select {
		case <-l.rc.Done():
			l.close(transport.CodeNormal, "link closed")
			return
		case <-l.conn.Context().Done():
			l.close(transport.CodeNormal, "link closed")
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(l.conn.Context(), transport.LinkKeepAlive)
			_, err := l.health(ctx)
			cancel()
			if err != nil && l.conn.Context().Err() == nil {
				log.Debug("federation peer stopped answering", "err", err)
				l.close(transport.CodeProtocol, "peer stopped answering")
				return
			}
		}
	}
}

type peerHealth struct{ domain, nodeID, version string }

func (l *link) health(ctx context.Context) (peerHealth, error) {
	fut, release := l.peer.Health(ctx, nil)
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return peerHealth{}, err
	}
	w, err := res.Health()
	if err != nil {
		return peerHealth{}, err
	}
	var h peerHealth
	if h.domain, err = w.Domain(); err != nil {
		return h, err
	}
	if h.nodeID, err = w.NodeId(); err != nil {
		return h, err
	}
	h.version, err = w.Version()
	return h, err
}

// callErr turns the failure of a call on the link into a node error: the
// peer's own qpc error as it said it, anything else (the link broke, the
// call timed out) as a *linkError, and then the link is closed so that it
// is dialed anew at once.
func (l *link) callErr(err error) error {
	var re *protocol.RemoteError
	if rerr := protocol.FromException(err); errors.As(rerr, &re) {
		return rerr
	}
	l.close(transport.CodeProtocol, "call failed")
	return &linkError{domain: l.domain, err: err}
}

// linkError is a call that failed because the link did: the peer may or
// may not have acted on it.
type linkError struct {
	domain string
	err    error
}

func (e *linkError) Error() string {
	return fmt.Sprintf("%v: the link to %s broke", protocol.ErrPeerUnreachable, e.domain)
}

func (e *linkError) Unwrap() []error { return []error{protocol.ErrPeerUnreachable, e.err} }

func (l *link) relay(ctx context.Context, msgs []protocol.Outgoing) ([]protocol.Receipt, error) {
	fut, release := l.peer.RelayEnqueue(ctx, func(p schemas.FederationService_relayEnqueue_Params) error {
		return protocol.EnvelopesToWire(msgs, p.NewEnvelopes)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, l.callErr(err)
	}
	list, err := res.Receipts()
	if err != nil {
		return nil, l.callErr(err)
	}
	if list.Len() != len(msgs) {
		return nil, fmt.Errorf("%w: %s answered %d receipts for %d messages", protocol.ErrPeerUnreachable, l.domain, list.Len(), len(msgs))
	}
	out := make([]protocol.Receipt, list.Len())
	for i := range out {
		out[i] = protocol.ReceiptFromWire(list.At(i))
	}
	return out, nil
}

func (l *link) resolveUser(ctx context.Context, addr string, knownSize uint64) (protocol.PublishedKeys, error) {
	fut, release := l.peer.ResolveUser(ctx, func(p schemas.FederationService_resolveUser_Params) error {
		p.SetHops(hopsOf(ctx))
		p.SetKnownSize(knownSize)
		return p.SetUser(addr)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return protocol.PublishedKeys{}, l.callErr(err)
	}
	w, err := res.Keys()
	if err != nil {
		return protocol.PublishedKeys{}, l.callErr(err)
	}
	return protocol.KeysFromWire(w)
}

func (l *link) fetchKeyPackage(ctx context.Context, addr string, suite uint16) ([]byte, bool, error) {
	fut, release := l.peer.FetchKeyPackage(ctx, func(p schemas.FederationService_fetchKeyPackage_Params) error {
		p.SetHops(hopsOf(ctx))
		p.SetSuite(suite)
		return p.SetUser(addr)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, false, l.callErr(err)
	}
	pkg, err := res.Package()
	if err != nil {
		return nil, false, l.callErr(err)
	}
	return append([]byte(nil), pkg...), res.LastResort(), nil
}

func (l *link) orderCommit(ctx context.Context, home string, c protocol.CommitClaim) (protocol.CommitOrder, error) {
	fut, release := l.peer.OrderCommit(ctx, func(p schemas.FederationService_orderCommit_Params) error {
		p.SetHops(hopsOf(ctx))
		return protocol.CommitClaimToWire(protocol.HomeClaim{Home: home, CommitClaim: c}, p)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return protocol.CommitOrder{}, l.callErr(err)
	}
	o, err := protocol.CommitOrderFromWire(res)
	if err != nil {
		return protocol.CommitOrder{}, fmt.Errorf("order commit at %s: %w", l.domain, err)
	}
	return o, nil
}
