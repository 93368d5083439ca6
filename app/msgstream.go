package app

import (
	"context"

	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/node/noderpc"
	"github.com/quicprochat/qpc/transport"
)

// serveMsgStreams serves the message streams (transport/msgstream) that
// the client opens on conn beside its RPC stream, one at a time, until
// the connection or ctx ends. QUIC lets a client connection have two
// bidirectional streams open (transport's stream limit): the RPC stream
// and one message stream; the next may open once that one closed.
func (n *Node) serveMsgStreams(ctx context.Context, conn *quic.Conn, srv *noderpc.Server) {
	lim := noderpc.StreamLimits{MaxFrame: noderpc.StreamFrameBound(n.cfg.MaxPayload)}
	for {
		st, err := conn.AcceptStream(ctx)
		if err != nil {
			return
		}
		if n.noMsgStream {
			// As a node before the message stream: the stream is
			// never read, and the client falls back to RPC.
			continue
		}
		srv.ServeMsgStream(ctx, msgStream{st}, lim)
	}
}

// msgStream adapts a QUIC stream to noderpc.Stream: Close also stops
// reading, so that a stream the node gives up on frees its window.
type msgStream struct{ *quic.Stream }

func (s msgStream) Close() error {
	s.CancelRead(quic.StreamErrorCode(transport.CodeNormal))
	return s.Stream.Close()
}
