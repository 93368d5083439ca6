// Package client is the Go library a qpc client uses to talk to a node:
// dial with pinning, a CA, or trust on first use, then call the node's
// services.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"
	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
	"github.com/quicprochat/qpc/transport"
)

// Client is a connection to one node.
type Client struct {
	addr        string
	fingerprint string
	qc          *quic.Conn
	rc          *rpc.Conn
	node        schemas.NodeService
	sends       sendQueue // Enqueue calls waiting to be coalesced
	ms          msgState  // the message stream (msgstream.go)
	// offline marks the stand-in of Offline, which has no connection.
	offline bool
}

// Dial connects to the node at addr ("host:port") and checks its certificate
// as trust says. The context bounds the whole attempt. A certificate that
// fails the check gives a *transport.PinMismatchError, a
// *KnownNodeChangedError, or an x509 error for an unknown CA, wrapped.
func Dial(ctx context.Context, addr string, trust transport.Trust, log *slog.Logger) (*Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("server address %q: %w", addr, ErrBadAddress)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tlsConf, err := transport.ClientTLS(host, trust)
	if err != nil {
		return nil, err
	}
	// quic-go reports a failed certificate check as a TLS alert; keep our own
	// error so the caller learns what was wrong with the certificate.
	var verifyErr error
	if check := tlsConf.VerifyConnection; check != nil {
		tlsConf.VerifyConnection = func(cs tls.ConnectionState) error {
			verifyErr = check(cs)
			return verifyErr
		}
	}
	qc, err := transport.Dial(ctx, addr, tlsConf)
	if err != nil {
		if verifyErr != nil {
			return nil, verifyErr
		}
		// No answer within the caller's time, or within QUIC's handshake
		// idle timeout (a node that is down sends nothing back).
		var timeout net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &timeout) && timeout.Timeout() {
			return nil, fmt.Errorf("%s: %w", addr, ErrNoAnswer)
		}
		// A node that refuses a connection right after the handshake
		// (at a bound) may have its close processed before the dial
		// returns: the dial then fails with the node's reason.
		if closed := closedByNodeCause(err); closed != nil {
			return nil, fmt.Errorf("connect to %s: %w", addr, closed)
		}
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	rc, err := transport.OpenRPC(ctx, qc, capnp.Client{}, log)
	if err != nil {
		if closed := closedByNode(qc); closed != nil {
			err = closed // refused right after the handshake: say why
		}
		qc.CloseWithError(transport.CodeNormal, "")
		return nil, err
	}
	cs := qc.ConnectionState().TLS
	return &Client{
		addr:        addr,
		fingerprint: transport.Fingerprint(cs.PeerCertificates[0].Raw),
		qc:          qc,
		rc:          rc,
		// The bootstrap capability lives as long as the connection, not as
		// long as the dial's context.
		node: schemas.NodeService(rc.Bootstrap(context.Background())),
	}, nil
}

// Fingerprint returns the SHA-256 fingerprint of the node's certificate.
func (c *Client) Fingerprint() string { return c.fingerprint }

// Addr returns the address the client dialed.
func (c *Client) Addr() string { return c.addr }

// Close hangs up.
func (c *Client) Close() error {
	if c.offline {
		return nil
	}
	c.node.Release()
	// Closing the RPC connection sends the node an Abort. To a node that
	// died, that write can block until QUIC gives up on the connection
	// (its idle timeout, or longer while a stream's window is full), so
	// the QUIC connection is closed under it after closeGrace.
	closed := make(chan error, 1)
	go func() { closed <- c.rc.Close() }()
	var err error
	select {
	case err = <-closed:
		c.qc.CloseWithError(transport.CodeNormal, "")
	case <-time.After(closeGrace):
		c.qc.CloseWithError(transport.CodeNormal, "")
		select {
		case err = <-closed:
		case <-time.After(closeGrace):
			return errCloseStuck
		}
	}
	select {
	case <-c.rc.Done():
	case <-time.After(closeGrace):
		return errCloseStuck
	}
	if errors.Is(err, rpc.ErrConnClosed) {
		err = nil
	}
	return err
}

// errCloseStuck is Close's answer when the RPC connection did not end
// even with the QUIC connection under it closed.
var errCloseStuck = errors.New("closing the connection to the node: the RPC connection did not end")

// closeGrace is how long Close waits for the RPC connection to close
// before it closes the QUIC connection under it.
const closeGrace = 2 * time.Second

// Health asks the node for its health.
func (c *Client) Health(ctx context.Context) (protocol.Health, error) {
	fut, release := c.node.Health(ctx, nil)
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return protocol.Health{}, c.callErr("health", err)
	}
	w, err := res.Health()
	if err != nil {
		return protocol.Health{}, fmt.Errorf("health: %w", err)
	}
	return protocol.HealthFromWire(w)
}

// closedByNode returns what the node said if it closed the connection,
// or nil while the connection is open or when this side closed it.
func (c *Client) closedByNode() *ClosedByNodeError {
	if c.qc == nil { // a Client made by a test without a connection
		return nil
	}
	return closedByNode(c.qc)
}

// ended reports whether the QUIC connection has ended already.
func (c *Client) ended() bool {
	if c.qc == nil {
		return false
	}
	select {
	case <-c.qc.Context().Done():
		return true
	default:
		return false
	}
}

// closedByNode returns what the peer of qc said when it closed qc. The
// RPC layer may see the end a moment before QUIC reports why, so it waits
// for that, up to a second on a loaded machine; callers ask only after the
// RPC reported a disconnect.
func closedByNode(qc *quic.Conn) *ClosedByNodeError {
	select {
	case <-qc.Context().Done():
	case <-time.After(time.Second):
		return nil
	}
	return closedByNodeCause(context.Cause(qc.Context()))
}

// closedByNodeCause returns what the node said if cause, the end of a
// connection or of a dial, is the node closing it, or nil.
func closedByNodeCause(cause error) *ClosedByNodeError {
	var app *quic.ApplicationError
	if errors.As(cause, &app) && app.Remote {
		return &ClosedByNodeError{Code: uint64(app.ErrorCode), Reason: app.ErrorMessage}
	}
	// The node's QUIC stack, not the node, refuses a connection whose
	// handshake completed while its queue of connections waiting to be
	// accepted was full (or the node was stopping): the node was busy,
	// and says so in QUIC's words, without a reason of its own.
	var te *quic.TransportError
	if errors.As(cause, &te) && te.Remote && te.ErrorCode == quic.ConnectionRefused {
		return &ClosedByNodeError{Code: uint64(transport.CodeBusy), Reason: "refused by the node's QUIC stack: busy", QUIC: true}
	}
	return nil
}

// Done is closed when the connection to the node has ended.
func (c *Client) Done() <-chan struct{} {
	done := make(chan struct{})
	if c.offline {
		close(done)
		return done
	}
	go func() {
		select {
		case <-c.rc.Done():
		case <-c.qc.Context().Done():
		}
		close(done)
	}()
	return done
}
