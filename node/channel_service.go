package node

import (
	"context"
	"errors"
	"sync"

	"github.com/quicprochat/qpc/protocol"
)

// ChannelListener receives pushed channel posts.
type ChannelListener interface {
	DeliverPosts(ctx context.Context, posts []protocol.ChannelMessage) error
}

// ChannelPost publishes a post of the logged-in user to a channel and
// returns its id once the node has it on disk.
func (c *Conn) ChannelPost(ctx context.Context, p protocol.ChannelOutgoing) (protocol.PostID, error) {
	user, err := c.user()
	if err != nil {
		return protocol.PostID{}, err
	}
	if c.svc.channels == nil {
		return protocol.PostID{}, errorf(protocol.ErrBadRequest, "this node relays no channels")
	}
	p.Sender = user
	return c.svc.channels.Publish(ctx, p)
}

// ChannelFetch returns up to limit kept posts of channel after afterSeq
// (at most Limits.MaxFetch).
func (c *Conn) ChannelFetch(channel protocol.ChannelID, afterSeq uint64, limit int) ([]protocol.ChannelMessage, error) {
	if _, err := c.user(); err != nil {
		return nil, err
	}
	if c.svc.channels == nil {
		return nil, nil
	}
	if limit <= 0 || limit > c.svc.limits.MaxFetch {
		limit = c.svc.limits.MaxFetch
	}
	return c.svc.channels.Fetch(channel, afterSeq, limit)
}

// ChannelSubscribe pushes the posts of each cursor's channel after its
// AfterSeq to l: those kept now, then each new one as it arrives.
func (c *Conn) ChannelSubscribe(cursors []protocol.ChannelCursor, l ChannelListener) (*Subscription, error) {
	if _, err := c.user(); err != nil {
		return nil, err
	}
	if len(cursors) == 0 || len(cursors) > protocol.MaxChannelCursors {
		return nil, errorf(protocol.ErrBadRequest, "%d channels (1-%d)", len(cursors), protocol.MaxChannelCursors)
	}
	if c.svc.channels == nil {
		return nil, errorf(protocol.ErrBadRequest, "this node relays no channels")
	}
	sub := newSubscription()
	sub.posts = l
	sub.cursors = make(map[protocol.ChannelID]uint64, len(cursors))
	for _, cur := range cursors {
		sub.cursors[cur.Channel] = cur.AfterSeq
	}
	return sub, c.start(sub, c.svc.chanHub, c.svc.pushPosts)
}

// pushPosts delivers sub's posts until it is cancelled or delivery fails.
func (s *Service) pushPosts(sub *Subscription) error {
	for {
		sent := false
		for ch, after := range sub.cursors {
			posts, err := s.channels.Fetch(ch, after, s.limits.MaxFetch)
			if err != nil {
				if errors.Is(err, protocol.ErrStoreClosed) {
					return protocol.ErrShuttingDown
				}
				return err
			}
			if len(posts) == 0 {
				continue
			}
			if err := sub.posts.DeliverPosts(sub.ctx, posts); err != nil {
				if sub.ctx.Err() != nil {
					return nil
				}
				return err
			}
			sub.cursors[ch] = posts[len(posts)-1].Seq
			sent = true
		}
		if !sent && !sub.wait() {
			return nil
		}
	}
}

// NotifyChannel wakes the subscriptions that follow channel: it has new
// posts. The channel relay calls it.
func (s *Service) NotifyChannel(channel protocol.ChannelID) { s.chanHub.notify(channel) }

// ChannelState describes the node's channel relay; empty without one.
func (s *Service) ChannelState() (protocol.ChannelReport, error) {
	if s.channels == nil {
		return protocol.ChannelReport{}, nil
	}
	return s.channels.State()
}

// chanHub finds the subscriptions that follow a channel.
type chanHub struct {
	mu   sync.Mutex
	subs map[protocol.ChannelID]map[*Subscription]struct{}
}

func newChanHub() *chanHub {
	return &chanHub{subs: map[protocol.ChannelID]map[*Subscription]struct{}{}}
}

func (h *chanHub) add(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range s.cursors {
		m := h.subs[ch]
		if m == nil {
			m = map[*Subscription]struct{}{}
			h.subs[ch] = m
		}
		m[s] = struct{}{}
	}
}

func (h *chanHub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range s.cursors {
		delete(h.subs[ch], s)
		if len(h.subs[ch]) == 0 {
			delete(h.subs, ch)
		}
	}
}

func (h *chanHub) notify(ch protocol.ChannelID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[ch] {
		s.wake()
	}
}
