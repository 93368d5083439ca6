package noderpc

import (
	"context"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// KtConsistency implements NodeService.ktConsistency.
func (s *Server) KtConsistency(ctx context.Context, call schemas.NodeService_ktConsistency) error {
	return s.do(ctx, "ktConsistency", func(ctx context.Context) error {
		proof, head, err := s.conn.KTConsistency(call.Args().First(), call.Args().Second())
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		if err := protocol.DataListToWire(proof, res.NewProof); err != nil {
			return err
		}
		return res.SetHead(head)
	})
}

// KtEntries implements NodeService.ktEntries.
func (s *Server) KtEntries(ctx context.Context, call schemas.NodeService_ktEntries) error {
	call.Go() // reads up to a MiB from disk
	return s.do(ctx, "ktEntries", func(ctx context.Context) error {
		entries, err := s.conn.KTEntries(call.Args().Start(), call.Args().Count())
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		return protocol.DataListToWire(entries, res.NewEntries)
	})
}

// KtGossip implements NodeService.ktGossip.
func (s *Server) KtGossip(ctx context.Context, call schemas.NodeService_ktGossip) error {
	call.Go() // may ask another node for a consistency proof
	return s.do(ctx, "ktGossip", func(ctx context.Context) error {
		list, err := call.Args().Heads()
		if err != nil {
			return protocol.BadRequest(err)
		}
		heads, err := protocol.DataListFromWire("head", list, protocol.MaxKTHeads, protocol.MaxKTHeadBytes)
		if err != nil {
			return err
		}
		ev, err := s.conn.KTGossip(ctx, heads)
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		return protocol.KTEvidenceToWire(ev, res.NewEvidence)
	})
}
