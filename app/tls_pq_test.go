package app

import (
	"crypto/tls"
	"testing"

	"github.com/quicprochat/qpc/transport"
)

// TestClientConnectionsNegotiateX25519MLKEM768 checks that a client
// dialing a real node with the TLS configuration clients use
// (transport.ClientTLS, as client.Dial does) agrees with the node's
// listener (transport.ServerTLS, as app builds it) on the hybrid
// post-quantum key exchange X25519MLKEM768 in TLS 1.3, so that recorded
// client-to-node traffic (logins, sealed envelopes, MLS messages) cannot be
// decrypted later with a quantum computer. Node-to-node links are held to
// the same in federation.TestLinksNegotiateX25519MLKEM768.
func TestClientConnectionsNegotiateX25519MLKEM768(t *testing.T) {
	n := start(t, testConfig(t))
	conf, err := transport.ClientTLS("localhost", transport.Trust{TOFU: func(string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := transport.Dial(ctxT(t), n.Addr().String(), conf)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	st := conn.ConnectionState().TLS
	if st.Version != tls.VersionTLS13 || st.CurveID != tls.X25519MLKEM768 {
		t.Errorf("client to node: TLS version 0x%04x, key exchange %v; want TLS 1.3 with X25519MLKEM768", st.Version, st.CurveID)
	}
	// The check can tell: a client that offers only X25519 gets X25519.
	classic := conf.Clone()
	classic.CurvePreferences = []tls.CurveID{tls.X25519}
	c2, err := transport.Dial(ctxT(t), n.Addr().String(), classic)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseWithError(0, "")
	if got := c2.ConnectionState().TLS.CurveID; got != tls.X25519 {
		t.Errorf("a client offering X25519 only: key exchange %v", got)
	}
}
