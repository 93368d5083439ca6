package noderpc

import (
	"context"
	"errors"

	"github.com/quicprochat/qpc/schemas"
)

// errNotYet answers the calls whose schema landed before their code
// (issue 23: key transparency).
var errNotYet = errors.New("not implemented by this node yet")

// KtConsistency implements NodeService.ktConsistency.
func (s *Server) KtConsistency(ctx context.Context, call schemas.NodeService_ktConsistency) error {
	return errNotYet
}

// KtEntries implements NodeService.ktEntries.
func (s *Server) KtEntries(ctx context.Context, call schemas.NodeService_ktEntries) error {
	return errNotYet
}

// KtGossip implements NodeService.ktGossip.
func (s *Server) KtGossip(ctx context.Context, call schemas.NodeService_ktGossip) error {
	return errNotYet
}
