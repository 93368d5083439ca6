package federation

import (
	"crypto/tls"
	"testing"
	"time"
)

// TestLinksNegotiateX25519MLKEM768 checks that a federation link, dialed
// and accepted with the configurations nodes use (mutual TLS 1.3 over
// QUIC), agrees on the hybrid post-quantum key exchange X25519MLKEM768 at
// both ends, so that a recording of node-to-node traffic cannot be
// decrypted later with a quantum computer. Go offers it by default; this
// holds it should a configuration ever pin classic curves.
func TestLinksNegotiateX25519MLKEM768(t *testing.T) {
	a := newCA(t)
	e1 := newEndpoint(t, a, "n1.example.mesh")
	e2 := newEndpoint(t, a, "n2.example.mesh", e1.addr())
	e1.run(t)
	e2.run(t)
	waitUp(t, e1.m, "n2.example.mesh")
	waitUp(t, e2.m, "n1.example.mesh")
	deadline := time.Now().Add(10 * time.Second)
	for _, end := range []struct {
		m    *Manager
		peer string
	}{{e1.m, "n2.example.mesh"}, {e2.m, "n1.example.mesh"}} {
		var l *link
		for l = end.m.link(end.peer); l == nil; l = end.m.link(end.peer) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no link to %s", end.m.cfg.Domain, end.peer)
			}
			time.Sleep(10 * time.Millisecond)
		}
		st := l.conn.ConnectionState().TLS
		if st.Version != tls.VersionTLS13 || st.CurveID != tls.X25519MLKEM768 {
			t.Errorf("%s's link to %s (outgoing %v): TLS version 0x%04x, key exchange %v; want TLS 1.3 with X25519MLKEM768",
				end.m.cfg.Domain, end.peer, l.outgoing, st.Version, st.CurveID)
		}
	}
}
