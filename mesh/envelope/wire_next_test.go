package envelope

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/mesh/signed/signedtest"
	"github.com/quicprochat/qpc/schemas"
)

// nextInList copies n into the first element of a new list, as a forward
// call's arguments hold it, and reads it back.
func nextInList(t testing.TB, n Next) (*Envelope, error) {
	t.Helper()
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Release()
	list, err := schemas.NewMeshEnvelope_List(seg, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.ToWire(list.At(0)); err != nil {
		t.Fatal(err)
	}
	return FromWire(list.At(0))
}

func TestNextHopSendsTheStoredEnvelopeOneHopFurther(t *testing.T) {
	for _, size := range []int{1, 1024, MaxPayload} {
		e := sample(t, size)
		e.Hops = 2
		n, err := NextHop(signedtest.Marshal(t, format, e))
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		want, err := e.Forwarded()
		if err != nil {
			t.Fatal(err)
		}
		if n.Hops() != 3 {
			t.Errorf("%d bytes: Hops = %d, want 3", size, n.Hops())
		}
		got, err := nextInList(t, n)
		if err != nil {
			t.Fatalf("%d bytes: FromWire: %v", size, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%d bytes: the next hop reads\n%+v\nwant\n%+v", size, got, want)
		}
		if err := got.Verify(now); err != nil {
			t.Errorf("%d bytes: Verify at the next hop: %v", size, err)
		}
		// A second copy (a retried call) reads every field again.
		if again, err := n.Decode(); err != nil || !reflect.DeepEqual(again, want) {
			t.Errorf("%d bytes: a second copy reads %+v, %v", size, again, err)
		}
	}
}

func TestNextHopRefusesWhatCannotGoOn(t *testing.T) {
	e := sample(t, 64)
	e.Hops = e.MaxHops
	if _, err := NextHop(signedtest.Marshal(t, format, e)); !errors.Is(err, signed.ErrHopLimit) {
		t.Errorf("an envelope at max hops: error %v, want ErrHopLimit", err)
	}
	b := signedtest.Marshal(t, format, sample(t, 64))
	for n := range len(b) {
		if _, err := NextHop(b[:n]); !errors.Is(err, signed.ErrMalformed) {
			t.Fatalf("the first %d of %d bytes: error %v, want ErrMalformed", n, len(b), err)
		}
	}
}

// FuzzNextHop feeds arbitrary bytes to NextHop: it fails only with
// ErrMalformed or ErrHopLimit and never panics, and what it takes crosses
// to the next hop as Unmarshal reads it, one hop further.
func FuzzNextHop(f *testing.F) {
	for _, b := range signedtest.Seeds(f, format, &Envelope{}) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := NextHop(b)
		if err != nil {
			if !errors.Is(err, signed.ErrMalformed) && !errors.Is(err, signed.ErrHopLimit) {
				t.Fatalf("NextHop failed with %v", err)
			}
			return
		}
		got, err := nextInList(t, n)
		want, werr := Unmarshal(b)
		if (err == nil) != (werr == nil) {
			t.Fatalf("the next hop reads %v, Unmarshal %v", err, werr)
		}
		if err != nil {
			return
		}
		want.Hops++
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("the next hop reads\n%+v\nwant\n%+v", got, want)
		}
	})
}

func TestNextOfSendsAnEnvelopeAsItIs(t *testing.T) {
	for _, hops := range []uint8{0, 1, signedtest.MaxHops} {
		e := sample(t, 64)
		e.Hops = hops
		n, err := NextOf(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := nextInList(t, n)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("hop count %d: the next hop reads\n%+v\nwant\n%+v", hops, got, e)
		}
	}
	e := sample(t, 64)
	e.TTL = 1500 * time.Millisecond
	if _, err := NextOf(e); !errors.Is(err, signed.ErrMalformed) {
		t.Errorf("a TTL the wire cannot carry: error %v, want ErrMalformed", err)
	}
}
