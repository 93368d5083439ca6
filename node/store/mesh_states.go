package store

import (
	"fmt"

	"github.com/quicprochat/qpc/protocol"
)

// The states that seen and status records keep are written as codes of
// this file, not as protocol's numbers: a code once given keeps its
// meaning on disk whatever protocol renumbers, and a byte that is no code
// is a corrupt record, not a state nobody knows. Code 0 is never a state,
// so a zeroed record does not read as one.

// seenCodes and meshCodes are the codes of the states.
var (
	seenCodes = protocol.Pairs[protocol.SeenState, byte]{
		{A: protocol.SeenHeld, B: 1},
		{A: protocol.SeenForwarded, B: 2},
		{A: protocol.SeenDelivered, B: 3},
		{A: protocol.SeenDropped, B: 4},
	}
	meshCodes = protocol.Pairs[protocol.MeshState, byte]{
		{A: protocol.MeshQueued, B: 1},
		{A: protocol.MeshForwarded, B: 2},
		{A: protocol.MeshDelivered, B: 3},
		{A: protocol.MeshExpired, B: 4},
		{A: protocol.MeshDropped, B: 5},
	}
)

// seenCode is the byte a seen record stores for state; 0 for a state that
// has no code (which decodeSeen refuses).
func seenCode(state protocol.SeenState) byte {
	c, _ := seenCodes.To(state)
	return c
}

// seenStateOf is the state of a seen record's code, or ErrCorrupt.
func seenStateOf(code byte) (protocol.SeenState, error) {
	if s, ok := seenCodes.From(code); ok {
		return s, nil
	}
	return 0, fmt.Errorf("%w: seen state %d", ErrCorrupt, code)
}

// meshCode is the byte a status record stores for state; 0 for
// MeshUnknown and any state without a code (which decodeStatus refuses).
func meshCode(state protocol.MeshState) byte {
	c, _ := meshCodes.To(state)
	return c
}

// meshStateOf is the state of a status record's code, or ErrCorrupt.
func meshStateOf(code byte) (protocol.MeshState, error) {
	if s, ok := meshCodes.From(code); ok {
		return s, nil
	}
	return 0, fmt.Errorf("%w: status state %d", ErrCorrupt, code)
}
