package flood

import (
	"context"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// ChannelStore is what the engine keeps on disk: kept posts and the
// seen-set of post ids. node/store implements it on bbolt, node/memstore
// in memory for tests; node/storetest holds both to the semantics below.
// Every change is durable when the method returns.
type ChannelStore interface {
	// AddPosts adds posts in one transaction. For each: a post whose id
	// is in the seen-set gets an error wrapping ErrPostSeen, and one that
	// would pass ChannelQuota.MaxSeen (nine tenths of it for a relayed
	// post) or its neighbour's NeighbourSeen one wrapping ErrChannelFull;
	// neither is stored. Any other is recorded in the seen-set until its Expires
	// and kept in its channel with the next Seq (set in posts); then the
	// channel is trimmed to Retain posts (lowest Seq first), the store to
	// MaxBytes (earliest Expires first) and to MaxChannels (all posts of
	// the channel whose newest post is oldest). evicted counts the posts
	// removed by that trimming; their ids stay in the seen-set. The error
	// return is for failures of the store itself; then nothing changed.
	AddPosts(ctx context.Context, posts []protocol.StoredPost) (errs []error, evicted int, err error)
	// Posts returns up to limit kept posts of channel with Seq above
	// afterSeq, in order.
	Posts(channel protocol.ChannelID, afterSeq uint64, limit int) ([]protocol.StoredPost, error)
	// ChannelIDs returns the channels with kept posts.
	ChannelIDs() ([]protocol.ChannelID, error)
	// PostSeen reports whether id is in the seen-set.
	PostSeen(id protocol.PostID) (bool, error)
	// ExpireChannels removes kept posts and seen ids whose Expires is not
	// after now, and returns how many kept posts it removed.
	ExpireChannels(now time.Time) (int, error)
	// ChannelStats describes the store.
	ChannelStats() (protocol.ChannelStoreStats, error)
}
