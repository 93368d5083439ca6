package protocol

import (
	"fmt"
	"math"
	"slices"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

// This file converts the store-and-forward parts of NodeService
// (messageStatus, meshState) between the node's types and the wire.

// meshIDFromWire reads a mesh id, which must be exactly 32 bytes.
func meshIDFromWire(b []byte, err error) (MeshID, error) {
	var id MeshID
	if err != nil {
		return id, err
	}
	if len(b) != len(id) {
		return id, fmt.Errorf("mesh id of %d bytes, want %d", len(b), len(id))
	}
	copy(id[:], b)
	return id, nil
}

// MeshIDsToWire writes ids into a new list made by alloc (a Params'
// NewIds).
func MeshIDsToWire(ids []MeshID, alloc func(int32) (capnp.DataList, error)) error {
	list, err := alloc(int32(len(ids)))
	if err != nil {
		return err
	}
	for i, id := range ids {
		if err := list.Set(i, id[:]); err != nil {
			return err
		}
	}
	return nil
}

// MeshIDsFromWire reads a list of mesh ids; an id that is not 32 bytes is a
// bad request.
func MeshIDsFromWire(list capnp.DataList, err error) ([]MeshID, error) {
	if err != nil {
		return nil, BadRequest(err)
	}
	ids := make([]MeshID, list.Len())
	for i := range ids {
		if ids[i], err = meshIDFromWire(list.At(i)); err != nil {
			return nil, BadRequest(fmt.Errorf("id %d: %w", i, err))
		}
	}
	return ids, nil
}

// millisToWire returns t in Unix milliseconds, 0 for the zero time (the
// schema's "none").
func millisToWire(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// millisFromWire is millisToWire's inverse.
func millisFromWire(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// meshStates is what each mesh state is called on the wire.
var meshStates = Pairs[MeshState, schemas.MeshState]{
	{A: MeshUnknown, B: schemas.MeshState_unknown},
	{A: MeshQueued, B: schemas.MeshState_queued},
	{A: MeshForwarded, B: schemas.MeshState_forwarded},
	{A: MeshDelivered, B: schemas.MeshState_delivered},
	{A: MeshExpired, B: schemas.MeshState_expired},
	{A: MeshDropped, B: schemas.MeshState_dropped},
}

// MeshStateToWire maps a mesh state to the wire; a state the schema does
// not have goes as unknown.
func MeshStateToWire(s MeshState) schemas.MeshState {
	w, _ := meshStates.To(s) // the zero value is unknown
	return w
}

// MeshStateFromWire maps a wire mesh state to a MeshState; ok is false
// for a state this build does not know (from a newer node), which reads
// as MeshUnknown.
func MeshStateFromWire(s schemas.MeshState) (state MeshState, ok bool) {
	return meshStates.From(s)
}

// MessageStatusesToWire writes sts into a new list made by alloc (a
// Results' NewStatuses). A status's Reason goes as its wire code.
func MessageStatusesToWire(sts []MessageStatus, alloc func(int32) (schemas.MessageStatus_List, error)) error {
	list, err := alloc(int32(len(sts)))
	if err != nil {
		return err
	}
	for i, st := range sts {
		w := list.At(i)
		if err := w.SetId(st.ID[:]); err != nil {
			return err
		}
		w.SetState(MeshStateToWire(st.State))
		if err := w.SetAt(st.At); err != nil {
			return err
		}
		w.SetUpdatedMillis(millisToWire(st.Updated))
		if err := w.SetRecipient(st.Recipient); err != nil {
			return err
		}
		w.SetExpiresMillis(millisToWire(st.Expires))
		w.SetReason(CodeOf(st.Reason))
	}
	return nil
}

// MessageStatusesFromWire reads a list of statuses; a Reason is a
// *RemoteError. An id that is not 32 bytes fails with ErrMalformedAnswer.
func MessageStatusesFromWire(list schemas.MessageStatus_List) ([]MessageStatus, error) {
	out := make([]MessageStatus, list.Len())
	for i := range out {
		w := list.At(i)
		st := &out[i]
		var err error
		if st.ID, err = meshIDFromWire(w.Id()); err != nil {
			return nil, fmt.Errorf("%w: status %d: %v", ErrMalformedAnswer, i, err)
		}
		if st.At, err = w.At(); err != nil {
			return nil, fmt.Errorf("status %d: at: %w", i, err)
		}
		if st.Recipient, err = w.Recipient(); err != nil {
			return nil, fmt.Errorf("status %d: recipient: %w", i, err)
		}
		st.State, _ = MeshStateFromWire(w.State())
		st.Updated = millisFromWire(w.UpdatedMillis())
		st.Expires = millisFromWire(w.ExpiresMillis())
		st.Reason = remoteError(w.Reason())
	}
	return out, nil
}

// MeshReportToWire writes r into the results of a meshState call; the
// counters go sorted by name, so that equal reports are equal on the wire.
func MeshReportToWire(r MeshReport, res schemas.NodeService_meshState_Results) error {
	routes, err := res.NewRoutes(int32(len(r.Routes)))
	if err != nil {
		return err
	}
	for i, rt := range r.Routes {
		w := routes.At(i)
		if err := w.SetDomain(rt.Domain); err != nil {
			return err
		}
		if err := w.SetVia(rt.Via); err != nil {
			return err
		}
		w.SetHops(rt.Hops)
		w.SetExpiresMillis(millisToWire(rt.Expires))
	}
	st, err := res.NewStore()
	if err != nil {
		return err
	}
	s := r.Store
	st.SetEnvelopes(uint64(max(s.Envelopes, 0)))
	st.SetBytes(uint64(max(s.Bytes, 0)))
	st.SetMaxBytes(uint64(max(s.MaxBytes, 0)))
	st.SetOldestMillis(millisToWire(s.Oldest))
	st.SetSeen(uint64(max(s.Seen, 0)))
	domains, err := st.NewDomains(int32(len(s.Domains)))
	if err != nil {
		return err
	}
	for i, d := range s.Domains {
		w := domains.At(i)
		if err := w.SetDomain(d.Domain); err != nil {
			return err
		}
		w.SetEnvelopes(uint64(max(d.Envelopes, 0)))
		w.SetBytes(uint64(max(d.Bytes, 0)))
	}
	names := make([]string, 0, len(r.Counters))
	for name := range r.Counters {
		names = append(names, name)
	}
	slices.Sort(names)
	counters, err := st.NewCounters(int32(len(names)))
	if err != nil {
		return err
	}
	for i, name := range names {
		w := counters.At(i)
		if err := w.SetName(name); err != nil {
			return err
		}
		w.SetValue(r.Counters[name])
	}
	return nil
}

// MeshReportFromWire reads the results of a meshState call, in the node's
// order; a counter named twice keeps its last value.
func MeshReportFromWire(res schemas.NodeService_meshState_Results) (MeshReport, error) {
	var r MeshReport
	routes, err := res.Routes()
	if err != nil {
		return r, fmt.Errorf("routes: %w", err)
	}
	r.Routes = make([]MeshRoute, routes.Len())
	for i := range r.Routes {
		w := routes.At(i)
		rt := &r.Routes[i]
		if rt.Domain, err = w.Domain(); err != nil {
			return r, fmt.Errorf("route %d: domain: %w", i, err)
		}
		if rt.Via, err = w.Via(); err != nil {
			return r, fmt.Errorf("route %d: via: %w", i, err)
		}
		rt.Hops = w.Hops()
		rt.Expires = millisFromWire(w.ExpiresMillis())
	}
	st, err := res.Store()
	if err != nil {
		return r, fmt.Errorf("store: %w", err)
	}
	r.Store = MeshStoreStats{
		Envelopes: toInt(st.Envelopes()),
		Bytes:     toInt64(st.Bytes()),
		MaxBytes:  toInt64(st.MaxBytes()),
		Oldest:    millisFromWire(st.OldestMillis()),
		Seen:      toInt(st.Seen()),
	}
	domains, err := st.Domains()
	if err != nil {
		return r, fmt.Errorf("store domains: %w", err)
	}
	r.Store.Domains = make([]MeshDomainStats, domains.Len())
	for i := range r.Store.Domains {
		w := domains.At(i)
		d := &r.Store.Domains[i]
		if d.Domain, err = w.Domain(); err != nil {
			return r, fmt.Errorf("store domain %d: %w", i, err)
		}
		d.Envelopes, d.Bytes = toInt(w.Envelopes()), toInt64(w.Bytes())
	}
	counters, err := st.Counters()
	if err != nil {
		return r, fmt.Errorf("store counters: %w", err)
	}
	if counters.Len() > 0 {
		r.Counters = make(map[string]uint64, counters.Len())
	}
	for i := range counters.Len() {
		w := counters.At(i)
		name, err := w.Name()
		if err != nil {
			return r, fmt.Errorf("counter %d: %w", i, err)
		}
		r.Counters[name] = w.Value()
	}
	return r, nil
}

// toInt and toInt64 convert a wire count, which a node may set to
// anything, without turning it negative (int is 32 bits on mips).
func toInt(v uint64) int { return int(min(v, math.MaxInt)) }

func toInt64(v uint64) int64 { return int64(min(v, math.MaxInt64)) }
