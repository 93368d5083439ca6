package federation

import (
	"context"
	"errors"

	"github.com/quicprochat/qpc/schemas"
)

// KtGossip implements FederationService.ktGossip (issue 23: not yet).
func (s *server) KtGossip(ctx context.Context, call schemas.FederationService_ktGossip) error {
	return errors.New("key transparency gossip not implemented by this node yet")
}

// KtConsistency implements FederationService.ktConsistency (issue 23: not yet).
func (s *server) KtConsistency(ctx context.Context, call schemas.FederationService_ktConsistency) error {
	return errors.New("key transparency not implemented by this node yet")
}
