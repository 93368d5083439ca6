package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/quicprochat/qpc/node"
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
	// Connected is called with each new, logged-in connection before its
	// subscription starts (to point an Account at it, say). May be nil.
	Connected func(c *Client)
	// Handler receives the pushed messages; it runs on the connection's
	// goroutine. It returns the sequence number up to which messages are
	// handled, which Follow acknowledges.
	Handler func(c *Client, msgs []node.Message) (handled uint64)
	// Disconnected is told why a connection ended and how long Follow
	// waits before it dials again. May be nil.
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
	if o.MinBackoff <= 0 {
		o.MinBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	backoff := o.MinBackoff
	for {
		err := followOnce(ctx, &o)
		if ctx.Err() != nil {
			return nil
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return fatal.err
		}
		if err == nil {
			backoff = o.MinBackoff // a connection that worked resets the wait
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

// fatalError ends Follow.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// followOnce runs one connection; it returns nil when the connection ended
// after it was set up, and an error when setting it up failed.
func followOnce(ctx context.Context, o *FollowOptions) error {
	c, err := o.Dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Resume(ctx, o.Token); err != nil {
		if !errors.Is(err, node.ErrSessionExpired) && !errors.Is(err, node.ErrInvalidToken) {
			return err
		}
		if o.Login == nil {
			return &fatalError{err}
		}
		s, err := o.Login(ctx, c)
		if err != nil {
			return &fatalError{err}
		}
		o.Token = s.Token
	}
	if o.Connected != nil {
		o.Connected(c)
	}
	acks := make(chan uint64, 1)
	sub, err := c.Subscribe(ctx, 0, func(msgs []node.Message) {
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
	done := c.Done()
	for {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			sub.Cancel(cctx)
			cancel()
			return nil
		case <-done:
			return nil
		case upto := <-acks:
			if _, err := c.Ack(ctx, upto); err != nil {
				return err
			}
		}
	}
}
