package noderpc

import (
	"context"
	"time"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// ChannelPost implements NodeService.channelPost.
func (s *Server) ChannelPost(ctx context.Context, call schemas.NodeService_channelPost) error {
	call.Go() // may wait on the disk: let the next call start
	return s.do(ctx, "channelPost", func(ctx context.Context) error {
		a := call.Args()
		data, err := a.Channel()
		if err != nil {
			return protocol.BadRequest(err)
		}
		ch, err := protocol.ChannelIDFromWire(data)
		if err != nil {
			return protocol.BadRequest(err)
		}
		body, err := a.Body()
		if err != nil {
			return protocol.BadRequest(err)
		}
		id, err := s.conn.ChannelPost(ctx, protocol.ChannelOutgoing{
			Channel: ch,
			Body:    append([]byte(nil), body...),
			TTL:     time.Duration(a.TtlSeconds()) * time.Second,
			MaxHops: a.MaxHops(),
		})
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		return res.SetId(id[:])
	})
}

// ChannelFetch implements NodeService.channelFetch.
func (s *Server) ChannelFetch(ctx context.Context, call schemas.NodeService_channelFetch) error {
	call.Go() // may wait on the disk: let the next call start
	return s.do(ctx, "channelFetch", func(ctx context.Context) error {
		a := call.Args()
		data, err := a.Channel()
		if err != nil {
			return protocol.BadRequest(err)
		}
		ch, err := protocol.ChannelIDFromWire(data)
		if err != nil {
			return protocol.BadRequest(err)
		}
		posts, err := s.conn.ChannelFetch(ch, a.AfterSeq(), int(a.Limit()))
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		list, err := res.NewPosts(int32(len(posts)))
		if err != nil {
			return err
		}
		return protocol.ChannelMessagesToWire(posts, list)
	})
}

// ChannelSubscribe implements NodeService.channelSubscribe.
func (s *Server) ChannelSubscribe(ctx context.Context, call schemas.NodeService_channelSubscribe) error {
	return s.do(ctx, "channelSubscribe", func(ctx context.Context) error {
		list, err := call.Args().Channels()
		if err != nil {
			return protocol.BadRequest(err)
		}
		cursors, err := protocol.ChannelCursorsFromWire(list)
		if err != nil {
			return protocol.BadRequest(err)
		}
		l := postListener{call.Args().Listener().AddRef()}
		sub, err := s.conn.ChannelSubscribe(cursors, l)
		return answerSubscription(sub, err, l.c.Release, func(c schemas.Subscription) error {
			res, err := call.AllocResults()
			if err != nil {
				return err
			}
			return res.SetSubscription(c)
		})
	})
}

// ChannelState implements NodeService.channelState.
func (s *Server) ChannelState(ctx context.Context, call schemas.NodeService_channelState) error {
	return s.do(ctx, "channelState", func(ctx context.Context) error {
		r, err := s.svc.ChannelState()
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		w, err := res.NewState()
		if err != nil {
			return err
		}
		return protocol.ChannelReportToWire(r, w)
	})
}

// postListener delivers pushed posts to a client's ChannelListener.
type postListener struct{ c schemas.ChannelListener }

func (l postListener) DeliverPosts(ctx context.Context, posts []protocol.ChannelMessage) error {
	fut, release := l.c.Deliver(ctx, func(p schemas.ChannelListener_deliver_Params) error {
		out, err := p.NewPosts(int32(len(posts)))
		if err != nil {
			return err
		}
		return protocol.ChannelMessagesToWire(posts, out)
	})
	defer release()
	_, err := fut.Struct()
	return err
}
