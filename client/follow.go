package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// FollowOptions configure Follow.
type FollowOptions struct {
	// Dial connects to the node.
	Dial func(ctx context.Context) (*Client, error)
	// Token is the session to resume on each new connection.
	Token []byte
	// Login is called on a connection whose session the node refused
	// (expired or unknown); it returns the new session. Nil gives up.
	Login func(ctx context.Context, c *Client) (Session, error)
	// Ready is called on each new connection once its session is resumed
	// or logged in, before Connected (to bind it to a device's queue,
	// say). An error from it drops the connection; one that is
	// protocol.ErrDeviceRevoked ends Follow with it. May be nil.
	Ready func(ctx context.Context, c *Client) error
	// Connected is called with each new, logged-in connection before its
	// subscription starts (to point an Account at it, say). May be nil.
	Connected func(c *Client)
	// Handler receives the pushed messages; it runs on the connection's
	// goroutine. It returns the sequence number up to which messages are
	// handled, which Follow acknowledges.
	Handler func(c *Client, msgs []protocol.Message) (handled uint64)
	// Disconnected is told why a connection ended (ErrConnectionEnded
	// when it closed after it worked) and how long Follow waits before
	// it dials again. May be nil.
	Disconnected func(err error, retryIn time.Duration)
	// MinBackoff and MaxBackoff bound the wait between attempts (defaults
	// 200 ms and 30 s); it doubles after each failure, with jitter.
	MinBackoff, MaxBackoff time.Duration
}

// Follow keeps a push subscription alive until ctx ends: it dials, resumes
// the session (logging in again when the node refuses it), subscribes, and
// when the connection breaks dials again with exponential backoff. Messages
// the handler has handled are acknowledged, so after a reconnect only the
// rest arrive again. It returns nil when ctx ends, or the error that makes
// going on pointless (a login that fails).
func Follow(ctx context.Context, o FollowOptions) error {
	return keepFollowing(ctx, &o, func(ctx context.Context) error { return followOnce(ctx, &o) })
}

// keepFollowing runs once until ctx ends, waiting between runs with
// exponential backoff as o says. once returns nil when a connection ended
// after it was set up, an error when setting it up failed, and a
// *fatalError to end keepFollowing with its error.
func keepFollowing(ctx context.Context, o *FollowOptions, once func(ctx context.Context) error) error {
	if o.MinBackoff <= 0 {
		o.MinBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	backoff := o.MinBackoff
	for {
		err := once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if err == nil || errors.Is(err, ErrConnectionEnded) {
			backoff = o.MinBackoff // a connection that worked resets the wait
		}
		if err == nil {
			err = ErrConnectionEnded
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		if o.Disconnected != nil {
			o.Disconnected(err, wait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, o.MaxBackoff)
	}
}

// ErrConnectionEnded is why a followed connection ended when it closed
// after it worked, without an error of its own; wrapped with the node's
// reason (*ClosedByNodeError) when the node said why it closed it (the
// session ended elsewhere, say).
var ErrConnectionEnded = errors.New("connection closed")

// fatalError ends Follow.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// followOnce runs one connection; it returns nil when the connection ended
// after it was set up, and an error when setting it up failed.
func followOnce(ctx context.Context, o *FollowOptions) error {
	c, err := o.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	acks := make(chan uint64, 1)
	sub, err := c.Subscribe(ctx, 0, func(msgs []protocol.Message) {
		if upto := o.Handler(c, msgs); upto > 0 {
			select {
			case <-acks: // a newer ack replaces one not yet sent
			default:
			}
			acks <- upto
		}
	})
	if err != nil {
		return err
	}
	// A connection that ends takes the subscription with it, but the
	// reference to it is this side's to drop (Cancel drops it too).
	defer sub.release()
	done := c.Done()
	for {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			sub.Cancel(cctx)
			cancel()
			return nil
		case <-done:
			if closed := c.closedByNode(); closed != nil && closed.Reason != "" {
				return fmt.Errorf("%w: %w", ErrConnectionEnded, closed)
			}
			return nil
		case upto := <-acks:
			if _, err := c.Ack(ctx, upto); err != nil {
				return err
			}
		}
	}
}

// connect dials, resumes the session (logging in again when the node
// refuses it) and tells o.Connected. A login that fails is fatal.
func (o *FollowOptions) connect(ctx context.Context) (*Client, error) {
	c, err := o.Dial(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.Resume(ctx, o.Token); err != nil {
		if !errors.Is(err, protocol.ErrSessionExpired) && !errors.Is(err, protocol.ErrInvalidToken) {
			c.Close()
			return nil, err
		}
		if o.Login == nil {
			c.Close()
			return nil, &fatalError{err}
		}
		s, err := o.Login(ctx, c)
		if err != nil {
			c.Close()
			return nil, &fatalError{err}
		}
		o.Token = s.Token
	}
	if o.Ready != nil {
		if err := o.Ready(ctx, c); err != nil {
			c.Close()
			if errors.Is(err, protocol.ErrDeviceRevoked) {
				return nil, &fatalError{err}
			}
			return nil, err
		}
	}
	if o.Connected != nil {
		o.Connected(c)
	}
	return c, nil
}

// ChannelFollowOptions configure FollowChannels.
type ChannelFollowOptions struct {
	// Connection says how to connect, log in and back off, as for Follow;
	// its Handler is not used.
	Connection FollowOptions
	// Cursors are the channels to follow, each with the last seq already
	// handled (0: everything the node keeps).
	Cursors []protocol.ChannelCursor
	// Handler receives the pushed posts, each channel's in seq order; it
	// runs on the connection's goroutine. An error from it ends
	// FollowChannels with that error.
	Handler func(ctx context.Context, c *Client, posts []protocol.ChannelMessage) error
}

// FollowChannels keeps a channel subscription alive until ctx ends, as
// Follow keeps a mailbox subscription: when the connection breaks it dials
// again with backoff and subscribes from the last post handled of each
// channel. Seqs are the node's own, so Dial must reach the same node. It
// returns nil when ctx ends, or the error that makes going on pointless (a
// login that fails, an error from the handler).
func FollowChannels(ctx context.Context, o ChannelFollowOptions) error {
	var mu sync.Mutex
	after := make(map[protocol.ChannelID]uint64, len(o.Cursors))
	for _, c := range o.Cursors {
		after[c.Channel] = c.AfterSeq
	}
	return keepFollowing(ctx, &o.Connection, func(ctx context.Context) error {
		c, err := o.Connection.connect(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		cursors := make([]protocol.ChannelCursor, len(o.Cursors))
		mu.Lock()
		for i, cur := range o.Cursors {
			cursors[i] = protocol.ChannelCursor{Channel: cur.Channel, AfterSeq: after[cur.Channel]}
		}
		mu.Unlock()
		failed := make(chan error, 1)
		sub, err := c.ChannelSubscribe(ctx, cursors, func(hctx context.Context, posts []protocol.ChannelMessage) error {
			if err := o.Handler(hctx, c, posts); err != nil {
				select {
				case failed <- err:
				default:
				}
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, p := range posts {
				if last, ok := after[p.Channel]; ok && p.Seq > last {
					after[p.Channel] = p.Seq
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			sub.Cancel(cctx)
			cancel()
			return nil
		case <-c.Done():
			return nil
		case err := <-failed:
			return &fatalError{err}
		}
	})
}
