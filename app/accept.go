package app

import (
	"context"
	"errors"
	"time"

	"capnproto.org/go/capnp/v3"
	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/node/noderpc"
	"github.com/quicprochat/qpc/transport"
)

// acceptLoop hands each new connection to federation or to serveConn,
// until ctx ends (it returns nil then) or the listener fails. The
// connections it starts serving live on after it returns: shutdown closes
// them.
func (n *Node) acceptLoop(ctx context.Context) error {
	for {
		conn, err := n.ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if conn.ConnectionState().TLS.NegotiatedProtocol == transport.ALPNFederation && n.fed != nil {
			n.fed.Accept(ctx, conn)
			continue
		}
		n.serving.Add(1)
		go n.serveConn(ctx, conn)
	}
}

func (n *Node) serveConn(ctx context.Context, conn *quic.Conn) {
	defer n.serving.Done()
	log := n.log.With("remote", conn.RemoteAddr().String())
	// The login deadline counts from the handshake: the wait for the RPC
	// stream is part of it.
	deadline := time.Now().Add(n.cfg.LoginTimeout)
	if n.svc.Draining() { // the admin's maintenance: no new clients
		conn.CloseWithError(transport.CodeShutdown, "node draining for maintenance")
		return
	}
	if err := n.tracker.admit(conn); err != nil {
		if errors.Is(err, errStopping) {
			conn.CloseWithError(transport.CodeShutdown, "node shutting down")
			return
		}
		n.metrics.refused.With(refusalReason(err)).Inc()
		n.tracker.refusals.log(log, err)
		conn.CloseWithError(transport.CodeBusy, err.Error())
		return
	}
	defer n.tracker.untrack(conn)
	n.metrics.connections.Inc()
	log.Debug("client connected")
	nc := n.svc.NewConn(conn.RemoteAddr().String())
	answers := new(transport.AnswerBudget) // chunk answers held for this client
	srv := noderpc.NewServer(n.svc, nc, noderpc.Options{
		Answers:  answers,
		Calls:    n.calls,
		Timeout:  n.cfg.RPCTimeout,
		Observer: n.metrics,
		Log:      log,
		Blobs:    n.blobs,
	})
	sctx, cancel := context.WithDeadline(ctx, deadline)
	rc, err := transport.ServeBoundedRPC(sctx, conn, capnp.Client(srv.Client()), log, transport.Limits{
		MaxFrame:  transport.FrameBound(n.cfg.MaxPayload),
		MaxCalls:  transport.MaxCallsInFlight,
		LoggedIn:  nc.Bound(),
		OnRefused: func(error) { n.metrics.framesRefused.Inc() },
		Answers:   answers,
	})
	cancel()
	if err != nil {
		log.Debug("closing connection", "err", err)
		conn.CloseWithError(transport.CodeProtocol, "no RPC stream")
		return
	}
	if !n.tracker.setRPC(conn, rc) {
		rc.Close()
		conn.CloseWithError(transport.CodeShutdown, "node shutting down")
		return
	}
	n.serving.Add(1)
	go func() {
		defer n.serving.Done()
		n.serveMsgStreams(conn.Context(), conn, srv)
	}()
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
			n.tracker.authenticated(conn)
		case <-nc.Revoked(): // its account was deleted elsewhere
			rc.Close()
			conn.CloseWithError(transport.CodeRefused, "account deleted")
			log.Debug("closed the connection of a deleted account")
			return
		case <-nc.SessionEnded(): // a logout everywhere, a password change
			rc.Close()
			conn.CloseWithError(transport.CodeRefused, "session ended (logged out, or the password changed): log in again")
			log.Debug("closed a connection whose session ended")
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
