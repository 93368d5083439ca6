package client

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// This file holds the broadcast channel calls of NodeService. The bodies
// they carry are sealed and opened by package crypto/channel (see
// Account.PostToChannel and Account.ReadPost); the node sees only the
// channel id and ciphertext.

// ChannelPost publishes body, a post sealed with crypto/channel, to
// channel ch and returns the post's id once the node has it on disk. A ttl
// or maxHops of 0 takes the node's default; more than the node allows is
// capped by the node.
func (c *Client) ChannelPost(ctx context.Context, ch protocol.ChannelID, body []byte, ttl time.Duration, maxHops uint8) (protocol.PostID, error) {
	fut, release := c.node.ChannelPost(ctx, func(p schemas.NodeService_channelPost_Params) error {
		if err := p.SetChannel(ch[:]); err != nil {
			return err
		}
		p.SetTtlSeconds(ttlSeconds(ttl))
		p.SetMaxHops(maxHops)
		return p.SetBody(body)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return protocol.PostID{}, c.callErr("channel post", err)
	}
	b, err := res.Id()
	if err != nil {
		return protocol.PostID{}, fmt.Errorf("channel post: %w", err)
	}
	var id protocol.PostID
	if len(b) != len(id) {
		return id, fmt.Errorf("channel post: %w: a post id of %d bytes", protocol.ErrMalformedAnswer, len(b))
	}
	copy(id[:], b)
	return id, nil
}

// ttlSeconds is ttl in whole seconds for the wire: a positive TTL under a
// second is one second, not the node's default, and one beyond the wire's
// 32 bits is the most it can say.
func ttlSeconds(ttl time.Duration) uint32 {
	if ttl <= 0 {
		return 0
	}
	secs := ttl / time.Second
	if ttl%time.Second != 0 {
		secs++
	}
	return uint32(min(secs, math.MaxUint32))
}

// ChannelFetch returns up to limit posts the node keeps of channel ch with
// a seq above afterSeq, oldest first (limit 0: as many as the node hands
// out at once). Posts of another channel, or not above afterSeq in
// increasing order, are a malformed answer.
func (c *Client) ChannelFetch(ctx context.Context, ch protocol.ChannelID, afterSeq uint64, limit int) ([]protocol.ChannelMessage, error) {
	fut, release := c.node.ChannelFetch(ctx, func(p schemas.NodeService_channelFetch_Params) error {
		p.SetAfterSeq(afterSeq)
		if limit > 0 {
			p.SetLimit(uint32(min(uint64(limit), math.MaxUint32)))
		}
		return p.SetChannel(ch[:])
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("channel fetch", err)
	}
	list, err := res.Posts()
	if err != nil {
		return nil, fmt.Errorf("channel fetch: %w", err)
	}
	posts, err := protocol.ChannelMessagesFromWire(list)
	if err != nil {
		return nil, fmt.Errorf("channel fetch: %w", err)
	}
	if limit > 0 && len(posts) > limit {
		return nil, fmt.Errorf("channel fetch: %w: %d posts for a limit of %d", protocol.ErrMalformedAnswer, len(posts), limit)
	}
	last := afterSeq
	for i, m := range posts {
		switch {
		case m.Channel != ch:
			return nil, fmt.Errorf("channel fetch: %w: post %d is of another channel", protocol.ErrMalformedAnswer, i)
		case m.Seq <= last:
			return nil, fmt.Errorf("channel fetch: %w: post %d has seq %d after %d", protocol.ErrMalformedAnswer, i, m.Seq, last)
		}
		last = m.Seq
	}
	return posts, nil
}

// ChannelSubscribe asks the node to push the posts of each cursor's
// channel after its AfterSeq to h: those it keeps now, then each new one
// as it arrives, each channel's in seq order. h runs on the connection's
// goroutine; the node sends the next batch only after it returns, and an
// error from h ends the subscription. Cancel the returned subscription to
// stop.
func (c *Client) ChannelSubscribe(ctx context.Context, cursors []protocol.ChannelCursor, h func(context.Context, []protocol.ChannelMessage) error) (*Subscription, error) {
	l := schemas.ChannelListener_ServerToClient(postHandler{h})
	defer l.Release() // the call's message holds its own reference, if built (see Subscribe)
	fut, release := c.node.ChannelSubscribe(ctx, func(p schemas.NodeService_channelSubscribe_Params) error {
		list, err := p.NewChannels(int32(min(len(cursors), math.MaxInt32)))
		if err != nil {
			return err
		}
		if err := protocol.ChannelCursorsToWire(cursors, list); err != nil {
			return err
		}
		return p.SetListener(l.AddRef())
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("channel subscribe", err)
	}
	return &Subscription{sub: res.Subscription().AddRef()}, nil
}

// postHandler receives the posts the node pushes for a ChannelSubscribe.
type postHandler struct {
	h func(context.Context, []protocol.ChannelMessage) error
}

func (l postHandler) Deliver(ctx context.Context, call schemas.ChannelListener_deliver) error {
	list, err := call.Args().Posts()
	if err != nil {
		return err
	}
	posts, err := protocol.ChannelMessagesFromWire(list)
	if err != nil {
		return err
	}
	return l.h(ctx, posts)
}

// ChannelState asks the node for the state of its channel relay: what it
// keeps and its counters. It needs no login.
func (c *Client) ChannelState(ctx context.Context) (protocol.ChannelReport, error) {
	fut, release := c.node.ChannelState(ctx, nil)
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return protocol.ChannelReport{}, c.callErr("channel state", err)
	}
	w, err := res.State()
	if err != nil {
		return protocol.ChannelReport{}, fmt.Errorf("channel state: %w", err)
	}
	r, err := protocol.ChannelReportFromWire(w)
	if err != nil {
		return protocol.ChannelReport{}, fmt.Errorf("channel state: %w", err)
	}
	return r, nil
}
