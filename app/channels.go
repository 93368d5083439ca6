package app

import (
	"context"
	"strings"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/mesh/flood"
	"github.com/quicprochat/qpc/metrics"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
)

// newChannels builds the broadcast channel relay on the node's store. It
// runs on every node: without federation it serves the node's own users.
func (n *Node) newChannels(cfg config.Node, st *store.Store) (*flood.Engine, error) {
	return flood.New(flood.Config{
		Domain:         strings.ToLower(cfg.Domain),
		Key:            n.key.Private,
		Store:          st,
		Notify:         func(ch protocol.ChannelID) { n.svc.NotifyChannel(ch) },
		Retention:      cfg.ChannelRetention,
		MaxHops:        cfg.MeshMaxHops,
		OriginRate:     cfg.ChannelOriginRate,
		UserRate:       cfg.ChannelUserRate,
		NeighbourRate:  cfg.ChannelNeighbourRate,
		RelayRetention: cfg.ChannelRelayRetention,
		Log:            n.log.With("component", "channels"),
		Observer:       n.metrics.channels(),
	})
}

// tapChannelLinks, when set, wraps the links the relay floods over; tests
// record what leaves a node with it.
var tapChannelLinks func(domain string, l flood.Links) flood.Links

// runChannels runs the relay until ctx ends; it relays over the
// federation links when there are any.
func (n *Node) runChannels(ctx context.Context) error {
	var links flood.Links
	if n.fed != nil {
		links = n.fed
		if tapChannelLinks != nil {
			links = tapChannelLinks(n.cfg.Domain, links)
		}
	}
	return n.channels.Run(ctx, links)
}

// channelMetrics implements flood.Observer.
type channelMetrics struct {
	events, rejected, refused, dropped *metrics.CounterVec
	channels, posts, bytes             *metrics.Gauge
}

func (m *nodeMetrics) channels() *channelMetrics {
	r := m.reg
	return &channelMetrics{
		events: r.MustCounterVec("qpc_channel_posts_total",
			"Broadcast channel posts by event: published (by a user here), received (new, from a neighbour), relayed (sent to a neighbour), duplicate, evicted (from the kept posts), expired, hop-limit (kept, not relayed further).", "event"),
		rejected: r.MustCounterVec("qpc_channel_rejected_total",
			"Channel posts from neighbours rejected, by reason (bad-signature, malformed, origin, expired, future, body, version, ...).", "reason"),
		refused: r.MustCounterVec("qpc_channel_refused_total",
			"Channel posts refused, by reason (neighbour-rate, origin-table, origin-rate, neighbour-seen, user-rate, seen-full).", "reason"),
		dropped: r.MustCounterVec("qpc_channel_dropped_total",
			"Channel posts not relayed to a neighbour, by reason (queue-full, link).", "reason"),
		channels: r.MustGauge("qpc_channel_store_channels", "Channels with kept posts."),
		posts:    r.MustGauge("qpc_channel_store_posts", "Channel posts kept for late joiners."),
		bytes:    r.MustGauge("qpc_channel_store_bytes", "Bytes of the channel posts kept."),
	}
}

func (c *channelMetrics) Event(event string, n int) { c.events.With(event).AddUint64(uint64(n)) }
func (c *channelMetrics) Rejected(reason string, n int) {
	c.rejected.With(reason).AddUint64(uint64(n))
}
func (c *channelMetrics) Refused(reason string, n int) { c.refused.With(reason).AddUint64(uint64(n)) }
func (c *channelMetrics) Dropped(reason string, n int) { c.dropped.With(reason).AddUint64(uint64(n)) }
func (c *channelMetrics) Store(channels, posts int, bytes int64) {
	c.channels.Set(float64(channels))
	c.posts.Set(float64(posts))
	c.bytes.Set(float64(bytes))
}
