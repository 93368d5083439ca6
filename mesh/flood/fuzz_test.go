package flood

import (
	"bytes"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// FuzzUnmarshal feeds arbitrary bytes to Unmarshal, as the suite of
// package signedtest says (signedtest.FuzzUnmarshal).
func FuzzUnmarshal(f *testing.F) { signedtest.Fuzz(f, format, &Post{}) }

// multiSegment encodes p as a writer that grows its message in segments
// does.
func multiSegment(t testing.TB, p *Post) []byte {
	return signedtest.Encode(t, signedtest.Written(t, capnp.MultiSegment(nil), schemas.NewRootChannelPost, ToWire, p).Message())
}

// FuzzSignedBytes checks that the signed layout reads back to the fields it
// was made of, whatever they hold, so that no two posts share signed bytes.
func FuzzSignedBytes(f *testing.F) {
	p := sample(f, Quantum)
	f.Add(p.Version, []byte(p.OriginKey), p.OriginDomain, p.Channel[:], p.Created.UnixMilli(), uint32(p.TTL/time.Second), p.MaxHops, p.Body)
	f.Add(uint8(0), []byte(nil), "", []byte(nil), int64(-1), uint32(0), uint8(255), []byte(nil))
	f.Add(uint8(1), []byte("short"), "\x00\x00\x00\x20", []byte{0, 0, 0, 4}, int64(1<<62), ^uint32(0), uint8(1), []byte{0, 0, 0, 4})

	f.Fuzz(func(t *testing.T, version uint8, key []byte, origin string, channel []byte, ms int64, ttl uint32, maxHops uint8, body []byte) {
		var ch protocol.ChannelID
		copy(ch[:], channel)
		p := &Post{Header: signedtest.HeaderOf(version, key, origin, ms, ttl, maxHops), Channel: ch, Body: body}
		if got := parseSigned(t, p.SignedBytes()); !signedtest.SameSigned(&got.Header, &p.Header) || got.Channel != ch || !bytes.Equal(got.Body, body) {
			t.Fatalf("SignedBytes read back as %+v, want %+v", got, p)
		}
		if p.ID() != idOf(ch, body) {
			t.Fatal("ID is not SHA-256 of the id prefix, the channel and the body")
		}
	})
}
