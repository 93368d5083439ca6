package federation

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// allowance is the part of Inbound that admitList uses: the peer's rate.
type allowance struct {
	Inbound // nil: admitList calls nothing else
	taken   int
	err     error
}

func (a *allowance) Allow(n int) error {
	a.taken += n
	return a.err
}

// forwardArgs builds the argument list of a forward call from envs, as
// the calling side does.
func forwardArgs(t *testing.T, envs []*envelope.Envelope) schemas.MeshEnvelope_List {
	t.Helper()
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(msg.Release)
	p, err := schemas.NewRootFederationService_forward_Params(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := listToWire(p.NewEnvelopes, envs, envelope.ToWire); err != nil {
		t.Fatal(err)
	}
	list, err := p.Envelopes()
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func testEnvelope(t *testing.T, payload string) *envelope.Envelope {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	e, err := envelope.Sign(key, "n1.example.mesh", "carol@n2.example.mesh", []byte(payload), time.Now(), time.Hour, 4)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAListOfEnvelopesCrossesTheCallAsItWas(t *testing.T) {
	envs := []*envelope.Envelope{testEnvelope(t, "one"), testEnvelope(t, "two"), testEnvelope(t, "three")}
	in := &allowance{}
	got, err := admitList(&server{in: in}, forwardArgs(t, envs), nil, 3, "envelopes", envelope.FromWire)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, envs) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, envs)
	}
	if in.taken != 3 {
		t.Errorf("charged %d to the peer's rate, want 3", in.taken)
	}
}

func TestAnUndecodableElementStaysNilAndTheRestGoOn(t *testing.T) {
	list := forwardArgs(t, []*envelope.Envelope{testEnvelope(t, "one"), testEnvelope(t, "two")})
	// A signature longer than any envelope's cannot be read.
	if err := list.At(0).SetSignature(make([]byte, 65)); err != nil {
		t.Fatal(err)
	}
	got, err := admitList(&server{in: &allowance{}}, list, nil, 2, "envelopes", envelope.FromWire)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != nil || got[1] == nil || string(got[1].Payload) != "two" {
		t.Errorf("decoded %+v, want nil and the second envelope", got)
	}
}

func TestABatchCallIsRefusedBeforeAnythingIsDecoded(t *testing.T) {
	two := forwardArgs(t, []*envelope.Envelope{testEnvelope(t, "one"), testEnvelope(t, "two")})
	cases := []struct {
		name string
		list schemas.MeshEnvelope_List
		max  int
		rate error
		want error
	}{
		{"an empty list is a bad request", forwardArgs(t, nil), 2, nil, protocol.ErrBadRequest},
		{"more than max is a bad request", two, 1, nil, protocol.ErrBadRequest},
		{"a peer over its rate is rate limited", two, 2, protocol.ErrRateLimited, protocol.ErrRateLimited},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := admitList(&server{in: &allowance{err: c.rate}}, c.list, nil, c.max, "envelopes", envelope.FromWire)
			if !errors.Is(err, c.want) || got != nil {
				t.Errorf("admitList = %v, %v; want %v", got, err, c.want)
			}
		})
	}
	t.Run("an unreadable list is a bad request", func(t *testing.T) {
		got, err := admitList(&server{in: &allowance{}}, two, errors.New("bad pointer"), 2, "envelopes", envelope.FromWire)
		if !errors.Is(err, protocol.ErrBadRequest) || got != nil || !strings.Contains(err.Error(), "bad pointer") {
			t.Errorf("admitList = %v, %v; want a bad request saying why", got, err)
		}
	})
}
