package protocol

import (
	"fmt"
	"time"
)

// ErrNeighbourShare means the channel seen-set remembers as many post ids
// as it takes from the neighbour that relayed a post
// (ChannelQuota.NeighbourSeen). It wraps ErrChannelFull; it is apart so
// that metrics and logs can name the flooding neighbour's refusals.
var ErrNeighbourShare = fmt.Errorf("%w: neighbour share", ErrChannelFull)

// ChannelID is a channel's id: derived from the channel secret by the
// clients (crypto/channel), opaque to nodes.
type ChannelID [32]byte

// PostID is a channel post's id: SHA-256 over the channel id and the
// encrypted body (mesh/flood).
type PostID [32]byte

// StoredPost is a post in the node's channel store.
type StoredPost struct {
	ID      PostID
	Channel ChannelID
	// Expires is when the post leaves the store and its id the seen-set:
	// its creation plus the lesser of its TTL and the node's retention.
	Expires time.Time
	// Data is the post as mesh/flood.Marshal encodes it, with the hop
	// count it arrived with.
	Data []byte
	// From is the federation neighbour (its domain, from the link's
	// certificate) that relayed the post here, or "" for a post of this
	// node's users. The seen-set counts ids per neighbour against
	// ChannelQuota.NeighbourSeen, and relayed posts never take the part
	// of it kept for local posts.
	From string
	// Seq is the post's place in its channel, set by AddPosts: increasing,
	// never reused.
	Seq uint64
}

// ChannelQuota bounds the channel store. Kept posts are a cache for late
// joiners, so the bounds on them evict (the oldest posts of a channel, the
// posts that expire first, the channel with the oldest newest post); the
// seen-set, which stops posts from circulating, refuses instead
// (ErrChannelFull).
type ChannelQuota struct {
	// Retain is how many posts are kept per channel.
	Retain int
	// MaxChannels bounds the channels with kept posts.
	MaxChannels int
	// MaxBytes bounds the Data bytes of all kept posts.
	MaxBytes int64
	// MaxSeen bounds the post ids remembered in the seen-set. Relayed
	// posts may fill it only to nine tenths: the rest is kept for the
	// posts of this node's users, so that they can post during a flood.
	MaxSeen int
	// NeighbourSeen bounds the ids that the posts relayed by one
	// neighbour (StoredPost.From) hold in the seen-set, until they expire.
	NeighbourSeen int
}

// ChannelStoreStats describes the channel store.
type ChannelStoreStats struct {
	Channels int
	Posts    int
	Bytes    int64
	// MaxBytes is ChannelQuota.MaxBytes.
	MaxBytes int64
	Seen     int
}

// ChannelMessage is a kept post as the service hands it to clients.
type ChannelMessage struct {
	Channel ChannelID
	Seq     uint64
	ID      PostID
	// Body is the encrypted post (crypto/channel), for the client.
	Body    []byte
	Created time.Time
	// OriginDomain is the domain of the node that made the post.
	OriginDomain string
}

// ChannelCursor names a channel and the last Seq a client has of it.
type ChannelCursor struct {
	Channel  ChannelID
	AfterSeq uint64
}

// ChannelOutgoing is a post a local user publishes.
type ChannelOutgoing struct {
	Sender  string // the local user, for the per-user rate limit
	Channel ChannelID
	Body    []byte
	// TTL and MaxHops are what the sender asked for; 0 means the node's
	// default, and more than the node's is capped at it.
	TTL     time.Duration
	MaxHops uint8
}

// ChannelReport is what channelState answers.
type ChannelReport struct {
	Store ChannelStoreStats
	// Counters are the relay's counters since start, by name ("relayed",
	// "duplicate", "rejected:bad-signature", ...).
	Counters map[string]uint64
}

// MaxChannelCursors is the most channels one channel subscription follows.
const MaxChannelCursors = 64
