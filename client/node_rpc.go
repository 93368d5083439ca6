package client

import (
	"fmt"
	"time"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

func healthFromWire(w schemas.Health) (protocol.Health, error) {
	var h protocol.Health
	for _, get := range []struct {
		name string
		fn   func() (string, error)
		dst  *string
	}{
		{"version", w.Version, &h.Version},
		{"commit", w.Commit, &h.Commit},
		{"platform", w.Platform, &h.Platform},
		{"nodeId", w.NodeId, &h.NodeID},
		{"domain", w.Domain, &h.Domain},
	} {
		v, err := get.fn()
		if err != nil {
			return protocol.Health{}, fmt.Errorf("health.%s: %w", get.name, err)
		}
		*get.dst = v
	}
	h.Uptime = time.Duration(w.UptimeMillis()) * time.Millisecond
	if w.HasFederationCa() {
		list, err := w.FederationCa()
		if err != nil {
			return protocol.Health{}, fmt.Errorf("health.federationCa: %w", err)
		}
		for i := 0; i < list.Len(); i++ {
			der, err := list.At(i)
			if err != nil {
				return protocol.Health{}, fmt.Errorf("health.federationCa: %w", err)
			}
			h.FederationCA = append(h.FederationCA, append([]byte(nil), der...))
		}
	}
	if w.HasLinks() {
		list, err := w.Links()
		if err != nil {
			return protocol.Health{}, fmt.Errorf("health.links: %w", err)
		}
		if h.Links, err = protocol.LinksFromWire(list); err != nil {
			return protocol.Health{}, fmt.Errorf("health.links: %w", err)
		}
	}
	return h, nil
}
