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

// seenCode is the byte a seen record stores for state; 0 for a state that
// has no code (which decodeSeen refuses).
func seenCode(state protocol.SeenState) byte {
	switch state {
	case protocol.SeenHeld:
		return 1
	case protocol.SeenForwarded:
		return 2
	case protocol.SeenDelivered:
		return 3
	case protocol.SeenDropped:
		return 4
	}
	return 0
}

// seenStateOf is the state of a seen record's code, or ErrCorrupt.
func seenStateOf(code byte) (protocol.SeenState, error) {
	switch code {
	case 1:
		return protocol.SeenHeld, nil
	case 2:
		return protocol.SeenForwarded, nil
	case 3:
		return protocol.SeenDelivered, nil
	case 4:
		return protocol.SeenDropped, nil
	}
	return 0, fmt.Errorf("%w: seen state %d", ErrCorrupt, code)
}

// meshCode is the byte a status record stores for state; 0 for
// MeshUnknown and any state without a code (which decodeStatus refuses).
func meshCode(state protocol.MeshState) byte {
	switch state {
	case protocol.MeshQueued:
		return 1
	case protocol.MeshForwarded:
		return 2
	case protocol.MeshDelivered:
		return 3
	case protocol.MeshExpired:
		return 4
	case protocol.MeshDropped:
		return 5
	}
	return 0
}

// meshStateOf is the state of a status record's code, or ErrCorrupt.
func meshStateOf(code byte) (protocol.MeshState, error) {
	switch code {
	case 1:
		return protocol.MeshQueued, nil
	case 2:
		return protocol.MeshForwarded, nil
	case 3:
		return protocol.MeshDelivered, nil
	case 4:
		return protocol.MeshExpired, nil
	case 5:
		return protocol.MeshDropped, nil
	}
	return 0, fmt.Errorf("%w: status state %d", ErrCorrupt, code)
}
