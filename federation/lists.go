package federation

import (
	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/protocol"
)

// The batch calls of the mesh (forward, flood, report) all carry one list
// of structs; these two helpers are their only list handling, on the
// calling side and on the serving side.

// listToWire allocates a list of len(items) with newList and writes each
// item into its element with toWire.
func listToWire[T any, W ~capnp.StructKind](newList func(int32) (capnp.StructList[W], error), items []T, toWire func(T, W) error) error {
	list, err := newList(int32(len(items)))
	if err != nil {
		return err
	}
	for i, it := range items {
		if err := toWire(it, list.At(i)); err != nil {
			return err
		}
	}
	return nil
}

// admitList takes the list argument of a batch call (list and err as the
// generated getter returned them), refuses a list of none or more than max
// items and charges the rest to the peer's inbound rate (server.admit),
// and decodes each element with fromWire. An element that does not decode
// stays nil, so that the engine rejects it on its own and the rest of the
// batch goes on.
func admitList[T any, W ~capnp.StructKind](s *server, list capnp.StructList[W], err error, max int, what string, fromWire func(W) (*T, error)) ([]*T, error) {
	if err != nil {
		return nil, protocol.BadRequest(err)
	}
	if err := s.admit(list.Len(), max, what); err != nil {
		return nil, err
	}
	out := make([]*T, list.Len())
	for i := range out {
		out[i], _ = fromWire(list.At(i))
	}
	return out, nil
}
