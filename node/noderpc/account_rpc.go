package noderpc

import (
	"context"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// PasswordStart implements NodeService.passwordStart.
func (s *Server) PasswordStart(ctx context.Context, call schemas.NodeService_passwordStart) error {
	return s.do(ctx, "passwordStart", func(ctx context.Context) error {
		req, err := call.Args().Request()
		if err != nil {
			return protocol.BadRequest(err)
		}
		resp, err := s.conn.PasswordStart(req)
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		return res.SetResponse(resp)
	})
}

// PasswordFinish implements NodeService.passwordFinish.
func (s *Server) PasswordFinish(ctx context.Context, call schemas.NodeService_passwordFinish) error {
	return s.do(ctx, "passwordFinish", func(ctx context.Context) error {
		record, err := call.Args().Record()
		if err != nil {
			return protocol.BadRequest(err)
		}
		_, err = s.conn.PasswordFinish(record)
		return err
	})
}

// Logout implements NodeService.logout.
func (s *Server) Logout(ctx context.Context, call schemas.NodeService_logout) error {
	return s.do(ctx, "logout", func(ctx context.Context) error {
		ended, err := s.conn.Logout(call.Args().Everywhere())
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		res.SetEnded(uint32(ended))
		return nil
	})
}
