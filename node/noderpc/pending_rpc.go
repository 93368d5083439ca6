package noderpc

import (
	"context"
	"errors"

	"github.com/quicprochat/qpc/schemas"
)

// errNotYet answers the methods of issues 27 and 30 whose node side is
// being built this round; each moves to its own file when it lands.
var errNotYet = errors.New("not implemented by this node yet")

// PasswordStart implements NodeService.passwordStart.
func (s *Server) PasswordStart(ctx context.Context, call schemas.NodeService_passwordStart) error {
	return s.do(ctx, "passwordStart", func(context.Context) error { return errNotYet })
}

// PasswordFinish implements NodeService.passwordFinish.
func (s *Server) PasswordFinish(ctx context.Context, call schemas.NodeService_passwordFinish) error {
	return s.do(ctx, "passwordFinish", func(context.Context) error { return errNotYet })
}

// Logout implements NodeService.logout.
func (s *Server) Logout(ctx context.Context, call schemas.NodeService_logout) error {
	return s.do(ctx, "logout", func(context.Context) error { return errNotYet })
}

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
