package protocol

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

// newRoot makes a one-segment message and its root struct with mk.
func newRoot[T any](t testing.TB, mk func(*capnp.Segment) (T, error)) T {
	t.Helper()
	_, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	w, err := mk(seg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// reread marshals the message of s and reads it back, as the other end of
// a connection would.
func reread[T any](t testing.TB, s interface{ Message() *capnp.Message }, read func(*capnp.Message) (T, error)) T {
	t.Helper()
	b, err := s.Message().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := capnp.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	w, err := read(msg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func meshID(b byte) MeshID {
	var id MeshID
	for i := range id {
		id[i] = b + byte(i)
	}
	return id
}

// at is a time as it comes back from the wire: whole milliseconds, local.
func at(ms int64) time.Time { return time.UnixMilli(ms) }

func sampleReport() MeshReport {
	return MeshReport{
		Routes: []MeshRoute{
			{Domain: "c.mesh", Via: "b.mesh", Hops: 2, Expires: at(1_800_000_090_000)},
			{Domain: "b.mesh", Via: "b.mesh", Hops: 1},
		},
		Store: MeshStoreStats{
			Envelopes: 3, Bytes: 4096, MaxBytes: 16 << 20, Oldest: at(1_800_000_000_123), Seen: 17,
			Domains: []MeshDomainStats{{Domain: "d.mesh", Envelopes: 2, Bytes: 3000}, {Domain: "e.mesh", Envelopes: 1, Bytes: 1096}},
		},
		Counters: map[string]uint64{"held": 5, "forwarded": 2, "dropped:expired": 1, "refused:full": 4},
	}
}

func TestMeshReportCrossesTheWireUnchanged(t *testing.T) {
	want := sampleReport()
	res := newRoot(t, schemas.NewRootNodeService_meshState_Results)
	if err := MeshReportToWire(want, res); err != nil {
		t.Fatal(err)
	}
	back := reread(t, res, schemas.ReadRootNodeService_meshState_Results)
	got, err := MeshReportFromWire(back)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
	st, _ := back.Store()
	list, _ := st.Counters()
	var names []string
	for i := range list.Len() {
		n, _ := list.At(i).Name()
		names = append(names, n)
	}
	if want := []string{"dropped:expired", "forwarded", "held", "refused:full"}; !reflect.DeepEqual(names, want) {
		t.Errorf("counters on the wire in order %q, want sorted %q", names, want)
	}
}

func TestAnEmptyMeshReportReadsBackEmpty(t *testing.T) {
	res := newRoot(t, schemas.NewRootNodeService_meshState_Results)
	if err := MeshReportToWire(MeshReport{}, res); err != nil {
		t.Fatal(err)
	}
	got, err := MeshReportFromWire(reread(t, res, schemas.ReadRootNodeService_meshState_Results))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Routes) != 0 || got.Store.Envelopes != 0 || !got.Store.Oldest.IsZero() || got.Counters != nil {
		t.Errorf("an empty report read back as %+v", got)
	}
}

func TestMessageStatusesCrossTheWireWithTheirReasons(t *testing.T) {
	want := []MessageStatus{
		{ID: meshID(1), State: MeshQueued, At: "a.mesh", Updated: at(1_800_000_000_000), Recipient: "bob@c.mesh", Expires: at(1_800_604_800_000)},
		{ID: meshID(2), State: MeshDropped, At: "b.mesh", Updated: at(1_800_000_001_000), Recipient: "eve@d.mesh", Reason: ErrHopLimit},
		{ID: meshID(3)},
	}
	res := newRoot(t, schemas.NewRootNodeService_messageStatus_Results)
	if err := MessageStatusesToWire(want, res.NewStatuses); err != nil {
		t.Fatal(err)
	}
	list, err := reread(t, res, schemas.ReadRootNodeService_messageStatus_Results).Statuses()
	if err != nil {
		t.Fatal(err)
	}
	got, err := MessageStatusesFromWire(list)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d statuses back, want %d", len(got), len(want))
	}
	for i := range want {
		if !errors.Is(got[i].Reason, want[i].Reason) || (got[i].Reason == nil) != (want[i].Reason == nil) {
			t.Errorf("status %d: reason %v, want %v", i, got[i].Reason, want[i].Reason)
		}
		got[i].Reason, want[i].Reason = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
}

func TestAStatusOfAStateFromANewerNodeReadsAsUnknown(t *testing.T) {
	res := newRoot(t, schemas.NewRootNodeService_messageStatus_Results)
	list, err := res.NewStatuses(1)
	if err != nil {
		t.Fatal(err)
	}
	id := meshID(9)
	list.At(0).SetId(id[:])
	list.At(0).SetState(schemas.MeshState(42))
	got, err := MessageStatusesFromWire(list)
	if err != nil || got[0].State != MeshUnknown {
		t.Errorf("state 42 read as %v (%v), want unknown", got[0].State, err)
	}
}

func TestMeshIDsMustBe32Bytes(t *testing.T) {
	ids := []MeshID{meshID(1), meshID(2)}
	p := newRoot(t, schemas.NewRootNodeService_messageStatus_Params)
	if err := MeshIDsToWire(ids, p.NewIds); err != nil {
		t.Fatal(err)
	}
	got, err := MeshIDsFromWire(p.Ids())
	if err != nil || !reflect.DeepEqual(got, ids) {
		t.Fatalf("ids read back as %x (%v), want %x", got, err, ids)
	}
	for _, n := range []int{0, 31, 33} {
		list, _ := p.NewIds(2)
		list.Set(0, ids[0][:])
		list.Set(1, make([]byte, n))
		if _, err := MeshIDsFromWire(p.Ids()); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "id 1") {
			t.Errorf("an id of %d bytes: %v, want a bad request naming id 1", n, err)
		}
	}
	if _, err := MeshIDsFromWire(capnp.DataList{}, errors.New("bad pointer")); !errors.Is(err, ErrBadRequest) {
		t.Errorf("an unreadable list: %v, want a bad request", err)
	}
}

func TestReceiptsCarryTheirMeshIDAndNode(t *testing.T) {
	now := at(1_800_000_000_000)
	for _, want := range []Receipt{
		{Seq: 7},
		{MeshID: meshID(5), QueuedAt: "a.mesh"},
		{Err: ErrMeshFull},
	} {
		w := newRoot(t, schemas.NewRootReceipt)
		if err := ReceiptToWire(want, now, w); err != nil {
			t.Fatal(err)
		}
		back := reread(t, w, schemas.ReadRootReceipt)
		got := ReceiptFromWire(back)
		if !errors.Is(got.Err, want.Err) || (got.Err == nil) != (want.Err == nil) {
			t.Errorf("%+v: error read back as %v", want, got.Err)
		}
		got.Err, want.Err = nil, nil
		if got != want || back.ServerTimeMillis() != now.UnixMilli() {
			t.Errorf("read back %+v at %d, want %+v at %d", got, back.ServerTimeMillis(), want, now.UnixMilli())
		}
		if want.MeshID == (MeshID{}) && back.HasMeshId() {
			t.Errorf("%+v: a receipt without a mesh id has one on the wire", want)
		}
	}
}

func TestAReceiptWithAShortMeshIDIsMalformed(t *testing.T) {
	w := newRoot(t, schemas.NewRootReceipt)
	w.SetSeq(3)
	w.SetMeshId([]byte("short"))
	if r := ReceiptFromWire(w); !errors.Is(r.Err, ErrMalformedAnswer) || r.Seq != 0 || r.MeshID != (MeshID{}) {
		t.Errorf("read as %+v, want only an error wrapping ErrMalformedAnswer", r)
	}
}

func TestEnvelopesCarryMaxHops(t *testing.T) {
	want := Outgoing{Recipient: "bob@c.mesh", Payload: []byte("sealed"), TTL: time.Hour, MaxHops: 5}
	w := newRoot(t, schemas.NewRootEnvelope)
	if err := EnvelopeToWire(want, w); err != nil {
		t.Fatal(err)
	}
	got, err := EnvelopeFromWire(reread(t, w, schemas.ReadRootEnvelope))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("read back %+v (%v), want %+v", got, err, want)
	}
}

// fuzzRoot adds the encodings of seeds to f and runs decode on the root
// struct of every input that reads as a capnp message: decode may fail but
// must not panic. The read limit keeps a tiny input from claiming lists of
// millions of empty elements, which an RPC connection bounds by its own
// limit.
func fuzzRoot(f *testing.F, seeds []capnp.Struct, decode func(t *testing.T, root capnp.Struct)) {
	for _, s := range seeds {
		b, err := s.Message().Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A header claiming thousands of segments only tests the capnp
		// library's allocation of its segment table.
		if len(data) >= 4 && binary.LittleEndian.Uint32(data) > 16 {
			return
		}
		msg, err := capnp.Unmarshal(data)
		if err != nil {
			return
		}
		msg.ResetReadLimit(uint64(len(data)) * 8)
		root, err := msg.Root()
		if err != nil {
			return
		}
		decode(t, root.Struct())
	})
}

// FuzzMeshReportFromWire decodes arbitrary meshState answers, as a
// hostile node could send them to `qpc mesh route` and `store`.
func FuzzMeshReportFromWire(f *testing.F) {
	full := newRoot(f, schemas.NewRootNodeService_meshState_Results)
	if err := MeshReportToWire(sampleReport(), full); err != nil {
		f.Fatal(err)
	}
	empty := newRoot(f, schemas.NewRootNodeService_meshState_Results)
	fuzzRoot(f, []capnp.Struct{capnp.Struct(full), capnp.Struct(empty)}, func(t *testing.T, root capnp.Struct) {
		r, err := MeshReportFromWire(schemas.NodeService_meshState_Results(root))
		if err != nil {
			return
		}
		if r.Store.Envelopes < 0 || r.Store.Bytes < 0 || r.Store.MaxBytes < 0 || r.Store.Seen < 0 {
			t.Errorf("negative counts: %+v", r.Store)
		}
		for _, d := range r.Store.Domains {
			if d.Envelopes < 0 || d.Bytes < 0 {
				t.Errorf("negative counts of %q: %+v", d.Domain, d)
			}
		}
	})
}

// FuzzMessageStatusesFromWire decodes arbitrary messageStatus answers.
func FuzzMessageStatusesFromWire(f *testing.F) {
	res := newRoot(f, schemas.NewRootNodeService_messageStatus_Results)
	sts := []MessageStatus{{ID: meshID(1), State: MeshExpired, At: "b.mesh", Reason: ErrExpired}, {ID: meshID(2)}}
	if err := MessageStatusesToWire(sts, res.NewStatuses); err != nil {
		f.Fatal(err)
	}
	fuzzRoot(f, []capnp.Struct{capnp.Struct(res)}, func(t *testing.T, root capnp.Struct) {
		list, err := schemas.NodeService_messageStatus_Results(root).Statuses()
		if err != nil {
			return
		}
		got, err := MessageStatusesFromWire(list)
		if err != nil {
			return
		}
		for _, st := range got {
			if st.State > MeshDropped {
				t.Errorf("state %d out of range", st.State)
			}
		}
	})
}

// FuzzMeshIDsFromWire decodes arbitrary messageStatus requests, as any
// client could send them to a node.
func FuzzMeshIDsFromWire(f *testing.F) {
	p := newRoot(f, schemas.NewRootNodeService_messageStatus_Params)
	if err := MeshIDsToWire([]MeshID{meshID(1), meshID(2)}, p.NewIds); err != nil {
		f.Fatal(err)
	}
	fuzzRoot(f, []capnp.Struct{capnp.Struct(p)}, func(t *testing.T, root capnp.Struct) {
		if _, err := MeshIDsFromWire(schemas.NodeService_messageStatus_Params(root).Ids()); err != nil && !errors.Is(err, ErrBadRequest) {
			t.Errorf("failed with %v, not a bad request", err)
		}
	})
}

// FuzzReceiptFromWire decodes arbitrary receipts, as a client or a
// relaying node reads them.
func FuzzReceiptFromWire(f *testing.F) {
	var seeds []capnp.Struct
	for _, r := range []Receipt{{Seq: 1}, {MeshID: meshID(3), QueuedAt: "a.mesh"}, {Err: ErrMeshFull}} {
		w := newRoot(f, schemas.NewRootReceipt)
		if err := ReceiptToWire(r, time.UnixMilli(1), w); err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, capnp.Struct(w))
	}
	fuzzRoot(f, seeds, func(t *testing.T, root capnp.Struct) {
		r := ReceiptFromWire(schemas.Receipt(root))
		if r.MeshID != (MeshID{}) && r.Err != nil && errors.Is(r.Err, ErrMalformedAnswer) {
			t.Errorf("a malformed receipt kept its mesh id: %+v", r)
		}
	})
}
