package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/quic-go/quic-go"
)

// Timeouts shared by both ends of a connection.
const (
	// HandshakeTimeout bounds the QUIC and TLS handshake.
	HandshakeTimeout = 10 * time.Second
	// IdleTimeout is the default time after which a connection that has
	// heard nothing closes; keep-alives at half of it hold quiet but
	// healthy connections open across NAT and conntrack timeouts on
	// routers.
	IdleTimeout = 60 * time.Second
	// LinkIdleTimeout and LinkKeepAlive are a federation link's: a link is
	// long-lived and carries other people's messages, so a dead peer must
	// be noticed within seconds, not a minute.
	LinkIdleTimeout = 20 * time.Second
	LinkKeepAlive   = 5 * time.Second
)

// What one peer may make the node buffer. Every connection, a client's or
// a federation link, carries one bidirectional stream of Cap'n Proto RPC,
// and a client's one message stream beside it, so a peer may open two
// streams at a time and no unidirectional ones; the connection's window
// bounds both together.
// The receive windows bound the bytes QUIC holds for a stream the node has
// stopped reading (see Limits): they are fixed, not auto-tuned up to
// quic-go's 6 and 15 MiB, and still cover the bandwidth-delay product of a
// mesh link (256 KiB is 20 Mbit/s at 100 ms).
const (
	// ReceiveWindow is the flow control window of a node's RPC stream and
	// of its connection, in bytes.
	ReceiveWindow = 256 << 10
	// maxStreams is the RPC stream and a client's message stream
	// (transport/msgstream); a federation link opens only the first.
	maxStreams = 2
)

// limitNode sets the windows and stream limits of a node's connections.
func limitNode(c *quic.Config) *quic.Config {
	c.InitialStreamReceiveWindow = ReceiveWindow
	c.MaxStreamReceiveWindow = ReceiveWindow
	c.InitialConnectionReceiveWindow = ReceiveWindow
	c.MaxConnectionReceiveWindow = ReceiveWindow
	c.MaxIncomingStreams = maxStreams
	c.MaxIncomingUniStreams = -1 // none
	return c
}

func quicConfig(idle time.Duration) *quic.Config {
	if idle <= 0 {
		idle = IdleTimeout
	}
	return &quic.Config{
		HandshakeIdleTimeout: HandshakeTimeout,
		MaxIdleTimeout:       idle,
		KeepAlivePeriod:      idle / 2,
	}
}

// Listener accepts QUIC connections on one UDP socket.
type Listener struct {
	udp *net.UDPConn
	tr  *quic.Transport
	ln  *quic.Listener
}

// Listen opens a UDP socket on addr ("host:port"; port 0 picks a free one)
// and accepts QUIC connections on it with tlsConf. Connections silent for
// idle close (0 means IdleTimeout). resetKey, if not nil, lets the node
// answer packets of connections it lost in a restart with a stateless
// reset, so that peers notice at once instead of after their idle timeout;
// it must stay the same across restarts (derive it from the node key).
func Listen(addr string, tlsConf *tls.Config, idle time.Duration, resetKey *quic.StatelessResetKey) (*Listener, error) {
	uaddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	udp, err := net.ListenUDP("udp", uaddr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	tr := &quic.Transport{Conn: udp, StatelessResetKey: resetKey}
	ln, err := tr.Listen(tlsConf, limitNode(quicConfig(idle)))
	if err != nil {
		tr.Close()
		udp.Close()
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return &Listener{udp: udp, tr: tr, ln: ln}, nil
}

// Addr returns the address the listener is bound to, with the real port.
func (l *Listener) Addr() net.Addr { return l.udp.LocalAddr() }

// Accept waits for the next connection whose handshake has completed.
func (l *Listener) Accept(ctx context.Context) (*quic.Conn, error) {
	return l.ln.Accept(ctx)
}

// StopAccepting refuses new connections; established ones keep working.
func (l *Listener) StopAccepting() error { return l.ln.Close() }

// Close stops accepting, closes every connection and releases the socket.
func (l *Listener) Close() error {
	l.ln.Close()
	err := l.tr.Close()
	if uerr := l.udp.Close(); err == nil {
		err = uerr
	}
	return err
}

// DialLink connects to a federation peer at addr ("host:port") from the
// listener's own socket, so that the peer sees the node's port, with
// LinkKeepAlive and LinkIdleTimeout. The context bounds the whole
// attempt, handshake included.
func (l *Listener) DialLink(ctx context.Context, addr string, tlsConf *tls.Config) (*quic.Conn, error) {
	uaddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	return l.tr.Dial(ctx, uaddr, tlsConf, limitNode(&quic.Config{
		HandshakeIdleTimeout: HandshakeTimeout,
		MaxIdleTimeout:       LinkIdleTimeout,
		KeepAlivePeriod:      LinkKeepAlive,
	}))
}

// Dial connects to addr ("host:port") with tlsConf. The context bounds the
// whole attempt, handshake included.
func Dial(ctx context.Context, addr string, tlsConf *tls.Config) (*quic.Conn, error) {
	return quic.DialAddr(ctx, addr, tlsConf, quicConfig(0))
}
