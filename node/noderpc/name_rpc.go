package noderpc

import (
	"context"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// NameAvailable implements NodeService.nameAvailable.
func (s *Server) NameAvailable(ctx context.Context, call schemas.NodeService_nameAvailable) error {
	call.Go() // waits out the lookup floor: let the next call start
	return s.do(ctx, "nameAvailable", func(ctx context.Context) error {
		user, err := call.Args().User()
		if err != nil {
			return protocol.BadRequest(err)
		}
		ok, err := s.conn.NameAvailable(user)
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		res.SetAvailable(ok)
		return nil
	})
}
