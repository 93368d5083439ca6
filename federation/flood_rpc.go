package federation

import (
	"context"
	"errors"

	"github.com/quicprochat/qpc/schemas"
)

var errTODO = errors.New("channels: not wired yet")

func (s *server) Flood(ctx context.Context, call schemas.FederationService_flood) error {
	return errTODO
}
func (s *server) Inventory(ctx context.Context, call schemas.FederationService_inventory) error {
	return errTODO
}
