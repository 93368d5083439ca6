// Package node is the client-facing service of a qpc node. It holds the
// service's logic and knows nothing of QUIC, Cap'n Proto or bbolt: package
// noderpc adapts it to the wire, and app wires it to the rest.
package node

import (
	"context"
	"time"
)

// Identity is what a node says about itself.
type Identity struct {
	Version  string // release, e.g. "0.1.0" or "dev"
	Commit   string // source revision or "unknown"
	Platform string // "goos/goarch"
	NodeID   string // see crypto/identity.NodeID
	Domain   string // users of this node are name@Domain
}

// Health is a node's answer to a health check.
type Health struct {
	Identity
	Uptime time.Duration
}

// Service is the node's client-facing service.
type Service struct {
	id      Identity
	started time.Time
	now     func() time.Time
}

// New returns a Service for a node with identity id. Its uptime counts from
// now.
func New(id Identity) *Service {
	return &Service{id: id, started: time.Now(), now: time.Now}
}

// Health reports the node's identity and uptime.
func (s *Service) Health(ctx context.Context) (Health, error) {
	return Health{Identity: s.id, Uptime: s.now().Sub(s.started)}, nil
}
