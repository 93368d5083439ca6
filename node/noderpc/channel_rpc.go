package noderpc

import (
	"context"
	"errors"

	"github.com/quicprochat/qpc/schemas"
)

var errTODO = errors.New("channels: not wired yet")

func (s *Server) ChannelPost(ctx context.Context, call schemas.NodeService_channelPost) error {
	return errTODO
}
func (s *Server) ChannelFetch(ctx context.Context, call schemas.NodeService_channelFetch) error {
	return errTODO
}
func (s *Server) ChannelSubscribe(ctx context.Context, call schemas.NodeService_channelSubscribe) error {
	return errTODO
}
func (s *Server) ChannelState(ctx context.Context, call schemas.NodeService_channelState) error {
	return errTODO
}
