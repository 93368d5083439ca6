package federation

import (
	"context"
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/mesh/flood"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// Channels is the broadcast channel relay the links serve; flood.Engine
// implements it. Without one, the channel calls of a peer are ignored.
type Channels interface {
	LinkUp(domain string)
	LinkDown(domain string)
	Receive(ctx context.Context, from, fromID string, posts []*flood.Post) error
	Wanted(ids []protocol.PostID) ([]int, error)
}

// maxFlood bounds the posts of one flood call.
const maxFlood = 256

// Flood implements flood.Links.
func (m *Manager) Flood(ctx context.Context, neighbour string, posts []*flood.Post) error {
	l, err := m.neighbour(neighbour)
	if err != nil {
		return err
	}
	fut, release := l.peer.Flood(ctx, func(p schemas.FederationService_flood_Params) error {
		return listToWire(p.NewPosts, posts, flood.ToWire)
	})
	defer release()
	if _, err := fut.Struct(); err != nil {
		return l.callErr(err)
	}
	return nil
}

// Inventory implements flood.Links.
func (m *Manager) Inventory(ctx context.Context, neighbour string, ids []protocol.PostID) ([]int, error) {
	l, err := m.neighbour(neighbour)
	if err != nil {
		return nil, err
	}
	fut, release := l.peer.Inventory(ctx, func(p schemas.FederationService_inventory_Params) error {
		list, err := p.NewIds(int32(len(ids)))
		if err != nil {
			return err
		}
		for i, id := range ids {
			if err := list.Set(i, id[:]); err != nil {
				return err
			}
		}
		return nil
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, l.callErr(err)
	}
	list, err := res.Wanted()
	if err != nil {
		return nil, l.callErr(err)
	}
	if list.Len() > len(ids) {
		return nil, fmt.Errorf("%w: %s wants %d of %d posts", protocol.ErrMalformedAnswer, neighbour, list.Len(), len(ids))
	}
	out := make([]int, list.Len())
	for i := range out {
		out[i] = int(list.At(i))
	}
	return out, nil
}

// errNoChannels answers the channel calls of a node without a relay.
var errNoChannels = errors.New("this node relays no channels")

// Flood implements FederationService.flood.
func (s *server) Flood(ctx context.Context, call schemas.FederationService_flood) error {
	call.Go() // waits on the disk
	return s.do(ctx, "flood", func(ctx context.Context) error {
		ch := s.m.cfg.Channels
		if ch == nil {
			return fmt.Errorf("%w: %w", protocol.ErrBadRequest, errNoChannels)
		}
		list, err := call.Args().Posts()
		posts, err := admitList(s, list, err, maxFlood, "posts", flood.FromWire)
		if err != nil {
			return err
		}
		if err := ch.Receive(ctx, s.domain, s.peerID(), posts); err != nil {
			if errors.Is(err, flood.ErrNotReady) {
				// "Try again shortly": the caller retries the batch.
				return fmt.Errorf("%w: %w", protocol.ErrRateLimited, err)
			}
			return err
		}
		return nil
	})
}

// Inventory implements FederationService.inventory.
func (s *server) Inventory(ctx context.Context, call schemas.FederationService_inventory) error {
	call.Go() // reads the disk
	return s.do(ctx, "inventory", func(ctx context.Context) error {
		ch := s.m.cfg.Channels
		list, err := call.Args().Ids()
		if err != nil {
			return protocol.BadRequest(err)
		}
		if list.Len() > flood.MaxInventory {
			return fmt.Errorf("%w: %d ids (at most %d)", protocol.ErrBadRequest, list.Len(), flood.MaxInventory)
		}
		var want []int
		if ch != nil {
			ids := make([]protocol.PostID, list.Len())
			for i := range ids {
				b, err := list.At(i)
				if err != nil {
					return protocol.BadRequest(err)
				}
				if len(b) != len(ids[i]) {
					return fmt.Errorf("%w: post id %d of %d bytes", protocol.ErrBadRequest, i, len(b))
				}
				copy(ids[i][:], b)
			}
			if want, err = ch.Wanted(ids); err != nil {
				return err
			}
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		out, err := res.NewWanted(int32(len(want)))
		if err != nil {
			return err
		}
		for i, w := range want {
			out.Set(i, uint32(w))
		}
		return nil
	})
}
