package transport

import (
	"context"
	"fmt"
	"log/slog"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"
	"github.com/quic-go/quic-go"
)

// Application error codes used when closing a connection or stream.
const (
	// CodeNormal closes a connection or stream that is done.
	CodeNormal quic.ApplicationErrorCode = 0
	// CodeShutdown tells a peer that its node is going away.
	CodeShutdown quic.ApplicationErrorCode = 1
	// CodeProtocol closes a connection that broke the protocol.
	CodeProtocol quic.ApplicationErrorCode = 2
	// CodeBusy refuses a connection because the node is at its bound.
	CodeBusy quic.ApplicationErrorCode = 3
	// CodeDuplicate closes a federation link because the two nodes already
	// have another one.
	CodeDuplicate quic.ApplicationErrorCode = 4
	// CodeRefused closes a federation link whose peer failed a check after
	// the handshake (it claims another domain than its certificate names).
	CodeRefused quic.ApplicationErrorCode = 5
	// CodeLoginTimeout closes a client connection that did not log in or
	// resume a session within the node's --login-timeout.
	CodeLoginTimeout quic.ApplicationErrorCode = 6
)

// rpcStream adapts a QUIC stream to the io.ReadWriteCloser the Cap'n Proto
// transport wants. A quic.Stream's Close only ends the sending side; the RPC
// transport expects Close to unblock its pending Read too, so Close also
// cancels reading.
type rpcStream struct {
	*quic.Stream
}

func (s rpcStream) Close() error {
	s.CancelRead(quic.StreamErrorCode(CodeNormal))
	return s.Stream.Close()
}

// ServeRPC waits for the peer to open its first bidirectional stream on conn
// and serves Cap'n Proto RPC on it with bootstrap as the bootstrap
// capability. It takes ownership of bootstrap.
func ServeRPC(ctx context.Context, conn *quic.Conn, bootstrap capnp.Client, logger *slog.Logger) (*rpc.Conn, error) {
	return ServeBoundedRPC(ctx, conn, bootstrap, logger, Limits{})
}

// ServeBoundedRPC is ServeRPC with the frames and calls the peer may send
// bounded by lim: a client's connection, whose peer is not trusted.
func ServeBoundedRPC(ctx context.Context, conn *quic.Conn, bootstrap capnp.Client, logger *slog.Logger, lim Limits) (*rpc.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, HandshakeTimeout)
	defer cancel()
	stream, err := conn.AcceptStream(actx)
	if err != nil {
		bootstrap.Release()
		return nil, fmt.Errorf("%w: %v", ErrNoRPCStream, err)
	}
	var tr rpc.Transport
	if lim.MaxFrame == 0 && lim.MaxCalls == 0 {
		tr = newStreamTransport(rpcStream{stream})
	} else {
		tr = newBoundedTransport(rpcStream{stream}, lim, logger)
	}
	// A federation link's acceptor asks its peer for chunks too.
	tr = newEarlyFinisher(tr, FinishEarly)
	return rpc.NewConn(tr, &rpc.Options{
		BootstrapClient: bootstrap,
		Logger:          rpcLogger{logger},
	}), nil
}

// OpenRPC opens the first bidirectional stream on conn and starts Cap'n
// Proto RPC on it; the caller asks it for the peer's bootstrap capability.
// bootstrap, if not the null client, is offered to the peer in turn (a
// federation link serves both ways); OpenRPC takes ownership of it.
func OpenRPC(ctx context.Context, conn *quic.Conn, bootstrap capnp.Client, logger *slog.Logger) (*rpc.Conn, error) {
	stream, err := conn.OpenStreamSync(ctx)
	if err != nil {
		bootstrap.Release()
		return nil, fmt.Errorf("open RPC stream: %w", err)
	}
	return rpc.NewConn(newEarlyFinisher(newStreamTransport(rpcStream{stream}), FinishEarly), &rpc.Options{
		BootstrapClient: bootstrap,
		Logger:          rpcLogger{logger},
	}), nil
}

// rpcLogger hands the RPC library's log lines to slog at debug level. The
// library reports every peer that hangs up as an error, which for a server
// is routine; what matters to an admin is logged by the node itself.
type rpcLogger struct{ l *slog.Logger }

func (r rpcLogger) Debug(msg string, args ...any) { r.l.Debug(msg, args...) }
func (r rpcLogger) Info(msg string, args ...any)  { r.l.Debug(msg, args...) }
func (r rpcLogger) Warn(msg string, args ...any)  { r.l.Debug(msg, args...) }
func (r rpcLogger) Error(msg string, args ...any) { r.l.Debug(msg, args...) }
