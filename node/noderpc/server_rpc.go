// Package noderpc serves a node.Service as the Cap'n Proto NodeService of
// schemas/node.capnp. It is the only place where the service meets
// generated wire types.
package noderpc

import (
	"context"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/schemas"
)

// Calls lets a server count the calls it is running, so that shutdown can
// wait for them. Begin returns the function that ends the call.
type Calls interface {
	Begin() (end func())
}

// Server implements schemas.NodeService_Server over a node.Service.
type Server struct {
	svc   *node.Service
	calls Calls
}

// NewServer returns a Server for svc that reports each call to calls.
func NewServer(svc *node.Service, calls Calls) *Server {
	return &Server{svc: svc, calls: calls}
}

// Client returns a new capability for s, to hand to a connection as its
// bootstrap.
func (s *Server) Client() schemas.NodeService {
	return schemas.NodeService_ServerToClient(s)
}

// Health implements NodeService.health.
func (s *Server) Health(ctx context.Context, call schemas.NodeService_health) error {
	defer s.calls.Begin()()
	h, err := s.svc.Health(ctx)
	if err != nil {
		return err
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	w, err := res.NewHealth()
	if err != nil {
		return err
	}
	return healthToWire(h, w)
}

func healthToWire(h node.Health, w schemas.Health) error {
	for _, set := range []struct {
		fn  func(string) error
		val string
	}{
		{w.SetVersion, h.Version},
		{w.SetCommit, h.Commit},
		{w.SetPlatform, h.Platform},
		{w.SetNodeId, h.NodeID},
		{w.SetDomain, h.Domain},
	} {
		if err := set.fn(set.val); err != nil {
			return err
		}
	}
	w.SetUptimeMillis(uint64(h.Uptime.Milliseconds()))
	return nil
}
