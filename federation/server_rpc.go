package federation

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// server implements schemas.FederationService_Server for one link, on
// behalf of the peer its certificate names.
type server struct {
	m      *Manager
	domain string
	in     Inbound
	log    *slog.Logger

	// nodeID is the peer's node id from its health answer, "" until the
	// link has it (the peer may call before this end has asked).
	nodeID atomic.Pointer[string]

	// kt bounds the peer's key transparency calls (ktGossip,
	// ktConsistency), apart from its message allowance.
	kt ktAllowance
}

// peerID returns the peer's node id, or "" while it is not known yet.
func (s *server) peerID() string {
	if id := s.nodeID.Load(); id != nil {
		return *id
	}
	return ""
}

// do runs one call: it counts it for shutdown, bounds it, and turns its
// error into a qpc exception.
func (s *server) do(ctx context.Context, method string, fn func(context.Context) error) error {
	defer s.m.cfg.Calls.Begin()()
	ctx, cancel := context.WithTimeout(ctx, s.m.cfg.CallTimeout)
	defer cancel()
	err := fn(ctx)
	if err == nil {
		return nil
	}
	if protocol.CodeOf(err) == schemas.ErrorCode_internal {
		s.log.Error("federation call failed", "method", method, "err", err)
	}
	return protocol.Exception(err)
}

// admit checks that a batch of n items (1 to max) may come in now: within
// the batch bound and the peer's inbound rate.
func (s *server) admit(n, max int, what string) error {
	if n == 0 || n > max {
		return fmt.Errorf("%w: %d %s (1-%d)", protocol.ErrBadRequest, n, what, max)
	}
	return s.in.Allow(n)
}

// Health implements FederationService.health.
func (s *server) Health(ctx context.Context, call schemas.FederationService_health) error {
	return s.do(ctx, "health", func(context.Context) error {
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		w, err := res.NewHealth()
		if err != nil {
			return err
		}
		if err := w.SetDomain(s.m.cfg.Domain); err != nil {
			return err
		}
		if err := w.SetNodeId(s.m.cfg.NodeID); err != nil {
			return err
		}
		return w.SetVersion(s.m.cfg.Version)
	})
}

// RelayEnqueue implements FederationService.relayEnqueue.
func (s *server) RelayEnqueue(ctx context.Context, call schemas.FederationService_relayEnqueue) error {
	call.Go() // waits on the disk: let the next call start
	return s.do(ctx, "relayEnqueue", func(ctx context.Context) error {
		msgs, err := protocol.EnvelopesFromWire(call.Args().Envelopes())
		if err != nil {
			return err
		}
		receipts, now, err := s.in.Deliver(ctx, msgs)
		if err != nil {
			s.m.count(s.domain, 0, 0, err)
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		if err := protocol.ReceiptsToWire(receipts, now, res.NewReceipts); err != nil {
			return err
		}
		s.m.count(s.domain, 0, stored(receipts), nil)
		return nil
	})
}

// stored counts the receipts without an error.
func stored(receipts []protocol.Receipt) int {
	n := 0
	for _, r := range receipts {
		if r.Err == nil {
			n++
		}
	}
	return n
}

// ResolveUser implements FederationService.resolveUser.
func (s *server) ResolveUser(ctx context.Context, call schemas.FederationService_resolveUser) error {
	call.Go() // waits on the disk and a timer
	return s.do(ctx, "resolveUser", func(ctx context.Context) error {
		user, err := call.Args().User()
		if err != nil {
			return protocol.BadRequest(err)
		}
		k, err := s.in.ResolveUser(withHops(ctx, call.Args().Hops()), user, call.Args().KnownSize())
		if err != nil {
			return err
		}
		if domainOf(user) == s.m.cfg.Domain {
			// One of this node's users: this node vouches for the keys.
			// Answers passed on were checked by ResolveUser and keep the
			// signature of their own node.
			if k, err = s.m.signAnswer(user, k); err != nil {
				return err
			}
		}
		return protocol.SetKeys(call.AllocResults, k)
	})
}

// FetchKeyPackage implements FederationService.fetchKeyPackage.
func (s *server) FetchKeyPackage(ctx context.Context, call schemas.FederationService_fetchKeyPackage) error {
	call.Go() // waits on the disk
	return s.do(ctx, "fetchKeyPackage", func(ctx context.Context) error {
		user, err := call.Args().User()
		if err != nil {
			return protocol.BadRequest(err)
		}
		pkg, last, err := s.in.FetchKeyPackage(withHops(ctx, call.Args().Hops()), user, call.Args().Suite())
		if err != nil {
			return err
		}
		return protocol.SetKeyPackage(call.AllocResults, pkg, last)
	})
}

// OrderCommit implements FederationService.orderCommit.
func (s *server) OrderCommit(ctx context.Context, call schemas.FederationService_orderCommit) error {
	call.Go() // waits on the disk or another peer
	return s.do(ctx, "orderCommit", func(ctx context.Context) error {
		c, err := protocol.CommitClaimFromWire(call.Args())
		if err != nil {
			return err
		}
		o, err := s.in.OrderCommit(withHops(ctx, call.Args().Hops()), c.Home, c.CommitClaim)
		if err != nil {
			return err
		}
		return protocol.SetCommitOrder(call.AllocResults, o)
	})
}
