package app

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/quicprochat/qpc/config"
	"github.com/quicprochat/qpc/mesh/discovery"
)

// newDiscovery builds the node's mDNS announcer and browser (DESIGN §7):
// it announces the port the listener really got and the fingerprint of the
// certificate clients will see.
func newDiscovery(cfg config.Node, nodeID, fingerprint string, listen net.Addr, log *slog.Logger) (*discovery.Service, error) {
	ua, ok := listen.(*net.UDPAddr)
	if !ok {
		return nil, fmt.Errorf("mDNS: listener address %v is not UDP", listen)
	}
	if ua.IP.IsLoopback() {
		log.Warn("announcing with mDNS a node that listens on loopback only; other hosts cannot reach it", "listen", ua.String())
	}
	d, err := discovery.New(discovery.Config{
		Interfaces: cfg.MDNSIfaces,
		Self: discovery.Announcement{
			ID:          nodeID,
			Domain:      cfg.Domain,
			Port:        uint16(ua.Port),
			Fingerprint: fingerprint,
		},
	}, log.With("component", "mdns"))
	if err != nil {
		return nil, &config.FlagError{Flag: "mdns", Err: err}
	}
	return d, nil
}

// MeshPeers returns the table of nodes discovered with mDNS, or nil
// without --mdns. Federation will dial from it.
func (n *Node) MeshPeers() *discovery.Table {
	if n.mdns == nil {
		return nil
	}
	return n.mdns.Table()
}

// registerDiscoveryMetrics exposes the peer table's size and discovery's
// counters at --metrics-listen.
func (n *Node) registerDiscoveryMetrics() {
	r, d := n.metrics.reg, n.mdns
	r.MustGaugeFunc("qpc_mesh_peers", "Nodes in the mDNS peer table.", func() float64 { return float64(len(d.Peers())) })
	for _, c := range []struct {
		name, help string
		get        func(discovery.Stats) uint64
	}{
		{"qpc_mdns_packets_total", "mDNS packets read on the discovery interfaces.", func(s discovery.Stats) uint64 { return s.Packets }},
		{"qpc_mdns_malformed_total", "mDNS packets dropped because they could not be decoded or were too large.", func(s discovery.Stats) uint64 { return s.Malformed }},
		{"qpc_mdns_bad_announcements_total", "qpc announcements ignored for a missing or bad TXT key or an oversized TXT record.", func(s discovery.Stats) uint64 { return s.BadAnnouncements }},
		{"qpc_mdns_unknown_version_total", "qpc announcements ignored for a ver= this node does not speak.", func(s discovery.Stats) uint64 { return s.UnknownVersion }},
		{"qpc_mdns_off_link_total", "mDNS packets ignored because their source is not on the local link.", func(s discovery.Stats) uint64 { return s.OffLink }},
		{"qpc_mdns_table_full_total", "New peers dropped because the peer table was full.", func(s discovery.Stats) uint64 { return s.TableFull }},
		{"qpc_mdns_answered_total", "mDNS queries answered.", func(s discovery.Stats) uint64 { return s.Answered }},
		{"qpc_mdns_rate_limited_total", "mDNS answers deferred or dropped by the per-interface rate limit.", func(s discovery.Stats) uint64 { return s.RateLimited }},
		{"qpc_mdns_send_errors_total", "mDNS packets that could not be sent.", func(s discovery.Stats) uint64 { return s.SendErrors }},
		{"qpc_mdns_conflicts_total", "Times another responder on the link claimed this node's mDNS instance name.", func(s discovery.Stats) uint64 { return s.Conflicts }},
		{"qpc_mdns_renames_total", "Times this node took a new mDNS instance name after a conflict.", func(s discovery.Stats) uint64 { return s.Renames }},
	} {
		get := c.get
		r.MustCounterFunc(c.name, c.help, func() float64 { return float64(get(d.Stats())) })
	}
}
