package transport

import (
	"context"
	"net"
	"sync"
	"testing"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc"
	rpctransport "capnproto.org/go/capnp/v3/rpc/transport"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"

	"github.com/quicprochat/qpc/schemas"
)

func TestFinishEarlyNamesTheBlobMethodsOfTheSchemas(t *testing.T) {
	names := map[Method]string{}
	for _, m := range schemas.NodeService_Methods(nil, nil) {
		names[Method{m.InterfaceID, m.MethodID}] = m.InterfaceName + "." + m.MethodName
	}
	for _, m := range schemas.FederationService_Methods(nil, nil) {
		names[Method{m.InterfaceID, m.MethodID}] = m.InterfaceName + "." + m.MethodName
	}
	want := map[string]bool{
		"node.capnp:NodeService.blobCreate": true, "node.capnp:NodeService.blobPut": true,
		"node.capnp:NodeService.blobGet": true, "node.capnp:NodeService.blobStat": true,
		"federation.capnp:FederationService.blobGet": true, "federation.capnp:FederationService.blobStat": true,
	}
	got := map[string]bool{}
	for _, m := range FinishEarly {
		got[names[m]] = true
	}
	for n := range want {
		if !got[n] {
			t.Errorf("FinishEarly lacks %s", n)
		}
	}
	for n := range got {
		if !want[n] {
			t.Errorf("FinishEarly names %q, not a blob method", n)
		}
	}
}

// recording is a server's transport that notes what it reads.
type recording struct {
	rpctransport.Transport
	mu    sync.Mutex
	seen  []string
	calls map[uint32]bool // blobGet questions
}

func (r *recording) RecvMessage() (rpctransport.IncomingMessage, error) {
	in, err := r.Transport.RecvMessage()
	if err == nil {
		m := in.Message()
		r.mu.Lock()
		switch m.Which() {
		case rpccp.Message_Which_call:
			c, _ := m.Call()
			if c.MethodId() == 33 {
				r.seen = append(r.seen, "call")
				r.calls[c.QuestionId()] = true
			}
		case rpccp.Message_Which_finish:
			// The bootstrap's Finish comes when capnp-go sends it.
			if f, _ := m.Finish(); r.calls[f.QuestionId()] {
				r.seen = append(r.seen, "finish")
			}
		}
		r.mu.Unlock()
	}
	return in, err
}

// chunkServer answers blobGet with a chunk; no other method is called.
type chunkServer struct {
	schemas.NodeService_Server
}

func (chunkServer) BlobGet(ctx context.Context, call schemas.NodeService_blobGet) error {
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	return res.SetData(make([]byte, 128<<10))
}

// TestAChunkAnswerIsFinishedBeforeTheNextCall runs two Cap'n Proto
// connections over a pipe, the caller's with the early Finish: the node
// reads the Finish of a chunk's answer before the call the caller makes
// after reading it, so it drops the chunk then, not 250 ms later (when
// capnp-go's own Finish would come, after the next call).
func TestAChunkAnswerIsFinishedBeforeTheNextCall(t *testing.T) {
	a, b := net.Pipe()
	rec := &recording{Transport: rpc.NewStreamTransport(a), calls: map[uint32]bool{}}
	srv := rpc.NewConn(rec, &rpc.Options{BootstrapClient: capnp.Client(schemas.NodeService_ServerToClient(chunkServer{}))})
	defer srv.Close()
	cli := rpc.NewConn(newEarlyFinisher(rpc.NewStreamTransport(b), FinishEarly), nil)
	defer cli.Close()
	ctx := context.Background()
	node := schemas.NodeService(cli.Bootstrap(ctx))
	defer node.Release()
	for i := 0; i < 3; i++ {
		fut, release := node.BlobGet(ctx, func(p schemas.NodeService_blobGet_Params) error { return nil })
		res, err := fut.Struct()
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := res.Data(); len(d) != 128<<10 {
			t.Fatalf("chunk of %d bytes", len(d))
		}
		release()
	}
	rec.mu.Lock()
	seen := append([]string(nil), rec.seen...)
	rec.mu.Unlock()
	// The third call's Finish may not have been read yet.
	want := []string{"call", "finish", "call", "finish", "call"}
	if len(seen) < len(want) {
		t.Fatalf("the node read %v, want %v first", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("the node read %v, want %v first", seen, want)
		}
	}
}

// fakeTransport hands out the messages of in and records what is sent;
// a send waits while gate is held.
type fakeTransport struct {
	in   chan *capnp.Message
	gate sync.Mutex
	mu   sync.Mutex
	sent []string
}

func (f *fakeTransport) NewMessage() (rpctransport.OutgoingMessage, error) {
	_, seg := capnp.NewMultiSegmentMessage(nil)
	m, err := rpccp.NewRootMessage(seg)
	if err != nil {
		return nil, err
	}
	return &fakeOut{m: m, f: f}, nil
}

func (f *fakeTransport) RecvMessage() (rpctransport.IncomingMessage, error) {
	msg := <-f.in
	m, err := rpccp.ReadRootMessage(msg)
	if err != nil {
		return nil, err
	}
	return fakeIn{m}, nil
}

func (f *fakeTransport) Close() error { return nil }

type fakeOut struct {
	m rpccp.Message
	f *fakeTransport
}

func (o *fakeOut) Message() rpccp.Message { return o.m }
func (o *fakeOut) Release()               {}
func (o *fakeOut) Send() error {
	o.f.gate.Lock()
	defer o.f.gate.Unlock()
	var s string
	switch o.m.Which() {
	case rpccp.Message_Which_call:
		c, _ := o.m.Call()
		s = "call " + string(rune('0'+c.QuestionId()))
	case rpccp.Message_Which_finish:
		fin, _ := o.m.Finish()
		s = "finish " + string(rune('0'+fin.QuestionId()))
	}
	o.f.mu.Lock()
	o.f.sent = append(o.f.sent, s)
	o.f.mu.Unlock()
	return nil
}

type fakeIn struct{ m rpccp.Message }

func (i fakeIn) Message() rpccp.Message { return i.m }
func (i fakeIn) Release()               {}

func returnMsg(t *testing.T, id uint32) *capnp.Message {
	t.Helper()
	msg, seg, _ := capnp.NewMessage(capnp.MultiSegment(nil))
	m, _ := rpccp.NewRootMessage(seg)
	r, err := m.NewReturn()
	if err != nil {
		t.Fatal(err)
	}
	r.SetAnswerId(id)
	return msg
}

// send has e send what the RPC library would: a call of method on
// question id, or its Finish.
func send(t *testing.T, e *earlyFinisher, id uint32, call bool, method Method) {
	t.Helper()
	out, err := e.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	if call {
		c, _ := out.Message().NewCall()
		c.SetQuestionId(id)
		c.SetInterfaceId(method.InterfaceID)
		c.SetMethodId(method.MethodID)
	} else {
		f, _ := out.Message().NewFinish()
		f.SetQuestionId(id)
	}
	if err := out.Send(); err != nil {
		t.Fatal(err)
	}
}

func TestTheEarlyFinishIsWrittenOnceAndNeverHoldsUpReading(t *testing.T) {
	f := &fakeTransport{in: make(chan *capnp.Message, 4)}
	e := newEarlyFinisher(f, FinishEarly)
	blobGet, other := FinishEarly[2], Method{FinishEarly[2].InterfaceID, 1}
	send(t, e, 1, true, blobGet)
	send(t, e, 2, true, other)

	// With writing stalled, reading the answers still goes on.
	f.gate.Lock()
	f.in <- returnMsg(t, 1)
	f.in <- returnMsg(t, 2)
	for i := 0; i < 2; i++ {
		in, err := e.RecvMessage()
		if err != nil {
			t.Fatal(err)
		}
		in.Release()
	}
	f.gate.Unlock()

	// The next call goes after the early Finish; the library's own
	// Finishes come later, and only the other method's is written.
	send(t, e, 3, true, blobGet)
	send(t, e, 1, false, blobGet)
	send(t, e, 2, false, other)
	f.mu.Lock()
	got := append([]string(nil), f.sent...)
	f.mu.Unlock()
	want := []string{"call 1", "call 2", "finish 1", "call 3", "finish 2"}
	if len(got) != len(want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sent %v, want %v", got, want)
		}
	}
}
