package noderpc

import (
	"context"
	"errors"

	"github.com/quicprochat/qpc/schemas"
)

// errNotYet answers the methods of issues 27 and 30 whose node side is
// being built this round; each moves to its own file when it lands.
var errNotYet = errors.New("not implemented by this node yet")

// BlockSender implements NodeService.blockSender.
func (s *Server) BlockSender(ctx context.Context, call schemas.NodeService_blockSender) error {
	return s.do(ctx, "blockSender", func(context.Context) error { return errNotYet })
}

// BlockedSenders implements NodeService.blockedSenders.
func (s *Server) BlockedSenders(ctx context.Context, call schemas.NodeService_blockedSenders) error {
	return s.do(ctx, "blockedSenders", func(context.Context) error { return errNotYet })
}

// Report implements NodeService.report.
func (s *Server) Report(ctx context.Context, call schemas.NodeService_report) error {
	return s.do(ctx, "report", func(context.Context) error { return errNotYet })
}
