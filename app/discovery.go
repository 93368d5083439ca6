package app

import (
	"context"
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

// startDiscovery runs mDNS beside the listener until stopDiscovery.
func (n *Node) startDiscovery() {
	ctx, cancel := context.WithCancel(context.Background())
	n.mdnsStop, n.mdnsDone = cancel, make(chan struct{})
	go func() {
		defer close(n.mdnsDone)
		if err := n.mdns.Run(ctx); err != nil {
			n.log.Error("mDNS discovery stopped", "err", err)
		}
	}()
}

// stopDiscovery says goodbye on the mesh and waits until it was sent.
func (n *Node) stopDiscovery() {
	if n.mdnsStop == nil {
		return
	}
	n.mdnsStop()
	<-n.mdnsDone
}

// MeshPeers returns the table of nodes discovered with mDNS, or nil
// without --mdns. Federation will dial from it.
func (n *Node) MeshPeers() *discovery.Table {
	if n.mdns == nil {
		return nil
	}
	return n.mdns.Table()
}
