package node

import (
	"context"

	"github.com/quicprochat/qpc/protocol"
)

// Broadcast channels (DESIGN §7): posts encrypted under a channel secret the
// node never holds, flooded across the mesh, kept for late joiners and
// pushed to the clients that follow the channel. Package mesh/flood does the
// flooding, on a store it declares itself (flood.ChannelStore), and
// implements Channels, which the service needs from it.

// Channels publishes, keeps and relays channel posts; package mesh/flood
// implements it.
type Channels interface {
	// Publish wraps the post in one signed by this node, keeps it, tells
	// the followers of its channel and floods it. Errors: ErrRateLimited
	// (the sender's allowance), ErrBadPost (body size), ErrChannelFull.
	Publish(ctx context.Context, p protocol.ChannelOutgoing) (protocol.PostID, error)
	// Fetch returns up to limit kept posts of channel after afterSeq.
	Fetch(channel protocol.ChannelID, afterSeq uint64, limit int) ([]protocol.ChannelMessage, error)
	// State describes the store and the counters.
	State() (protocol.ChannelReport, error)
}
