package protocol

import (
	"reflect"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

func sampleHealth() Health {
	return Health{
		Identity: Identity{Version: "0.1.0", Commit: "abc", Platform: "linux/mips", NodeID: "n1", Domain: "a.mesh"},
		Uptime:   90 * time.Second,
		Links: []Link{
			{Domain: "b.mesh", Address: "10.0.0.2:7000", State: LinkUp, Since: at(1000), RelayedOut: 3, RelayedIn: 4, Errors: 1, LastError: "timeout"},
			{Address: "10.0.0.3:7000", State: LinkConnecting},
			{Address: "10.0.0.4:7000", State: LinkDown},
		},
		FederationCA: [][]byte{{1, 2, 3}},
		MDNSInstance: "a.mesh (2)",
	}
}

func TestHealthCrossesTheWireUnchanged(t *testing.T) {
	w := newRoot(t, schemas.NewRootHealth)
	if err := HealthToWire(sampleHealth(), w); err != nil {
		t.Fatal(err)
	}
	got, err := HealthFromWire(reread(t, w, schemas.ReadRootHealth))
	if err != nil {
		t.Fatal(err)
	}
	if want := sampleHealth(); !reflect.DeepEqual(got, want) {
		t.Errorf("health came back as\n%+v\nwant\n%+v", got, want)
	}
}

// The wire's enums are mapped by name: a change of numbering on either
// side must show here, not as a state read as another.
func TestEveryMeshStateCrossesTheWireAsItself(t *testing.T) {
	for _, c := range []struct {
		state MeshState
		wire  schemas.MeshState
	}{
		{MeshUnknown, schemas.MeshState_unknown},
		{MeshQueued, schemas.MeshState_queued},
		{MeshForwarded, schemas.MeshState_forwarded},
		{MeshDelivered, schemas.MeshState_delivered},
		{MeshExpired, schemas.MeshState_expired},
		{MeshDropped, schemas.MeshState_dropped},
	} {
		if got := MeshStateToWire(c.state); got != c.wire {
			t.Errorf("%v goes as %v, want %v", c.state, got, c.wire)
		}
		if got, ok := MeshStateFromWire(c.wire); !ok || got != c.state {
			t.Errorf("%v reads as %v (%v), want %v", c.wire, got, ok, c.state)
		}
	}
	if got, ok := MeshStateFromWire(schemas.MeshState_dropped + 1); ok || got != MeshUnknown {
		t.Errorf("a state from a newer node reads as %v (%v), want unknown and not ok", got, ok)
	}
	if got := MeshStateToWire(MeshDropped + 1); got != schemas.MeshState_unknown {
		t.Errorf("a state the schema lacks goes as %v, want unknown", got)
	}
}

// FuzzHealthFromWire decodes arbitrary health answers, as a hostile node
// could send them to `qpc status`.
func FuzzHealthFromWire(f *testing.F) {
	full := newRoot(f, schemas.NewRootHealth)
	if err := HealthToWire(sampleHealth(), full); err != nil {
		f.Fatal(err)
	}
	fuzzRoot(f, []capnp.Struct{capnp.Struct(full)}, func(t *testing.T, root capnp.Struct) {
		h, err := HealthFromWire(schemas.Health(root))
		if err != nil {
			return
		}
		for _, l := range h.Links {
			if l.State != LinkDown && l.State != LinkUp && l.State != LinkConnecting {
				t.Errorf("link state %d is none of the known", l.State)
			}
		}
	})
}
