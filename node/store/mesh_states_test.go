package store

import (
	"errors"
	"testing"

	"github.com/quicprochat/qpc/protocol"
)

// TestStateCodesAreTheOnesOnDisk pins the codes records hold: nodes
// upgraded in place read the records older builds wrote, so a code may
// never change its meaning.
func TestStateCodesAreTheOnesOnDisk(t *testing.T) {
	seen := map[byte]protocol.SeenState{
		1: protocol.SeenHeld, 2: protocol.SeenForwarded, 3: protocol.SeenDelivered, 4: protocol.SeenDropped,
	}
	mesh := map[byte]protocol.MeshState{
		1: protocol.MeshQueued, 2: protocol.MeshForwarded, 3: protocol.MeshDelivered, 4: protocol.MeshExpired, 5: protocol.MeshDropped,
	}
	for c := range 256 {
		code := byte(c)
		got, err := seenStateOf(code)
		if want, ok := seen[code]; ok {
			if err != nil || got != want || seenCode(want) != code {
				t.Errorf("seen code %d reads as %v, %v and %v writes %d; want %v", code, got, err, want, seenCode(want), want)
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Errorf("seen code %d reads as %v, %v; want ErrCorrupt", code, got, err)
		}
		gotMesh, err := meshStateOf(code)
		if want, ok := mesh[code]; ok {
			if err != nil || gotMesh != want || meshCode(want) != code {
				t.Errorf("status code %d reads as %v, %v and %v writes %d; want %v", code, gotMesh, err, want, meshCode(want), want)
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Errorf("status code %d reads as %v, %v; want ErrCorrupt", code, gotMesh, err)
		}
	}
	// States without a code are written as 0, which no record reads.
	for _, s := range []protocol.SeenState{0, protocol.SeenDropped + 1} {
		if c := seenCode(s); c != 0 {
			t.Errorf("seen state %d has code %d, want 0", s, c)
		}
	}
	for _, s := range []protocol.MeshState{protocol.MeshUnknown, protocol.MeshDropped + 1} {
		if c := meshCode(s); c != 0 {
			t.Errorf("mesh state %d has code %d, want 0", s, c)
		}
	}
}
