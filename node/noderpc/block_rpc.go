package noderpc

import (
	"context"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// BlockSender implements NodeService.blockSender.
func (s *Server) BlockSender(ctx context.Context, call schemas.NodeService_blockSender) error {
	return s.do(ctx, "blockSender", func(context.Context) error {
		addr, err := call.Args().Address()
		if err != nil {
			return protocol.BadRequest(err)
		}
		return s.conn.BlockSender(addr, call.Args().Blocked())
	})
}

// BlockedSenders implements NodeService.blockedSenders.
func (s *Server) BlockedSenders(ctx context.Context, call schemas.NodeService_blockedSenders) error {
	return s.do(ctx, "blockedSenders", func(context.Context) error {
		list, err := s.conn.BlockedSenders()
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		out, err := res.NewAddresses(int32(len(list)))
		if err != nil {
			return err
		}
		for i, a := range list {
			if err := out.Set(i, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// Report implements NodeService.report.
func (s *Server) Report(ctx context.Context, call schemas.NodeService_report) error {
	return s.do(ctx, "report", func(context.Context) error {
		sealed, err := call.Args().Sealed()
		if err != nil {
			return protocol.BadRequest(err)
		}
		return s.conn.Report(sealed)
	})
}
