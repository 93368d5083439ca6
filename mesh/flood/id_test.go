package flood

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/protocol"
)

// idOf computes the documented id independently of ID.
func idOf(channel protocol.ChannelID, body []byte) protocol.PostID {
	b := append([]byte("qpc channel post id v1\x00"), channel[:]...)
	return sha256.Sum256(append(b, body...))
}

func TestIDIsSHA256OfTheChannelAndTheBody(t *testing.T) {
	for _, n := range []int{Quantum, 1024, MaxBody} {
		p := sample(t, n)
		if got, want := p.ID(), idOf(testChannel, p.Body); got != want {
			t.Errorf("body of %d bytes: ID = %x, want %x", n, got, want)
		}
	}
}

func TestIDNamesTheBodyInItsChannelWhoeverWrapsIt(t *testing.T) {
	p := sample(t, Quantum)
	// Another node wraps the same body again, later, with other limits: a
	// replay, so the same post.
	replay, err := Sign(signedtest.OtherKey, "n2.example.mesh", testChannel, p.Body, created.Add(time.Hour), time.Hour, 2)
	if err != nil {
		t.Fatal(err)
	}
	if replay.OriginID() == p.OriginID() {
		t.Fatal("the test's two origins are one")
	}
	if replay.ID() != p.ID() {
		t.Error("the same channel and body from another origin have another id")
	}
	otherBody := signedtest.Filler(Quantum)
	otherBody[Quantum-1]++
	different, err := Sign(signedtest.OriginKey, signedtest.Origin, testChannel, otherBody, created, signedtest.TTL, signedtest.MaxHops)
	if err != nil {
		t.Fatal(err)
	}
	if different.ID() == p.ID() {
		t.Error("another body has the same id")
	}
	elsewhere, err := Sign(signedtest.OriginKey, signedtest.Origin, otherChannel, p.Body, created, signedtest.TTL, signedtest.MaxHops)
	if err != nil {
		t.Fatal(err)
	}
	if elsewhere.ID() == p.ID() {
		t.Error("the same body in another channel has the same id")
	}
}
