package admin

import (
	"context"

	"github.com/quicprochat/qpc/schemas"
)

// Reports implements AdminService.reports. The reports users send to the
// admin (NodeService.report) and the key that opens them belong to the
// block-and-report part (issue 30), which replaces this file.
func (s *Server) Reports(ctx context.Context, call schemas.AdminService_reports) error {
	return reply(call.AllocResults, func() (any, error) { return nil, ErrNotImplemented })
}
