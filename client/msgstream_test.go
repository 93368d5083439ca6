package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/app/apptest"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
	"github.com/quicprochat/qpc/transport"
	"github.com/quicprochat/qpc/transport/msgstream"
)

// streamAccount registers user on n and logs in on a new connection; with
// rpcOnly the client never opens the message stream (a test then opens
// its own, raw).
func streamAccount(t *testing.T, ctx context.Context, n *apptest.Node, domain, user string, rpcOnly bool) *Client {
	t.Helper()
	fast := opaque.Config{KSF: opaque.Identity{}}
	c, err := Dial(ctx, n.Addr, transport.Trust{Pin: n.Fingerprint}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if rpcOnly {
		c.UseRPCOnly()
	}
	if _, err := c.Register(ctx, fast, domain, user, []byte(user)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Login(ctx, fast, domain, user, []byte(user)); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMessagesTravelTheStreamInOrderAndAreAckedThere sends a batch and
// concurrent single messages over the message stream of a real node, and
// receives and acks them over the recipient's: receipts in order, pushes
// in sequence order with the payloads sent, refusals in their receipts,
// and no RPC enqueue made.
func TestMessagesTravelTheStreamInOrderAndAreAckedThere(t *testing.T) {
	t.Parallel()
	const domain = "stream.example.mesh"
	n := apptest.Run(t, domain)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, bob := streamAccount(t, ctx, n, domain, "alice", false), streamAccount(t, ctx, n, domain, "bob", false)
	if !alice.UsesMsgStream(ctx) || !bob.UsesMsgStream(ctx) {
		t.Fatal("the clients of a node with the message stream do not use it")
	}

	var mu sync.Mutex
	var got []protocol.Message
	arrived := make(chan struct{}, 1)
	sub, err := bob.Subscribe(ctx, 0, func(msgs []protocol.Message) {
		mu.Lock()
		got = append(got, msgs...)
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if sub.ms == nil {
		t.Fatal("the subscription went over RPC")
	}

	const batch, single = 300, 40
	msgs := make([]Outgoing, batch)
	for i := range msgs {
		msgs[i] = Outgoing{Recipient: "bob", Payload: binary.BigEndian.AppendUint32(nil, uint32(i))}
	}
	msgs[7].Recipient = "nobody"
	rs, err := alice.EnqueueBatch(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i, r := range rs {
		if i == 7 {
			if !errors.Is(r.Err, protocol.ErrUnknownUser) || r.Seq != 0 {
				t.Errorf("the message to nobody: seq %d, %v; want ErrUnknownUser", r.Seq, r.Err)
			}
			continue
		}
		if r.Err != nil || r.Seq != last+1 {
			t.Fatalf("receipt %d: seq %d, %v; want seq %d: the batch was not stored in order", i, r.Seq, r.Err, last+1)
		}
		last = r.Seq
	}
	var wg sync.WaitGroup
	for i := range single {
		wg.Go(func() {
			if _, err := alice.Enqueue(ctx, Outgoing{Recipient: "bob", Payload: binary.BigEndian.AppendUint32(nil, uint32(batch+i))}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := alice.Enqueue(ctx, Outgoing{Recipient: "nobody", Payload: []byte{1}}); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("a single message to nobody: %v, want ErrUnknownUser", err)
	}
	alice.sends.mu.Lock()
	calls := alice.sends.calls
	alice.sends.mu.Unlock()
	if calls != 0 {
		t.Errorf("%d enqueue calls went over RPC", calls)
	}

	want := batch - 1 + single
	deadline := time.After(30 * time.Second)
	for {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k >= want {
			break
		}
		select {
		case <-arrived:
		case <-deadline:
			t.Fatalf("bob got %d of %d messages", k, want)
		}
	}
	mu.Lock()
	for i, m := range got {
		if m.Seq != uint64(i+1) {
			t.Fatalf("push %d has seq %d: not in sequence order", i, m.Seq)
		}
		if i < batch-1 {
			k := i
			if i >= 7 {
				k = i + 1
			}
			if binary.BigEndian.Uint32(m.Payload) != uint32(k) {
				t.Fatalf("push %d carries message %d, want %d", i, binary.BigEndian.Uint32(m.Payload), k)
			}
		}
	}
	top := got[len(got)-1].Seq
	mu.Unlock()

	removed, err := bob.Ack(ctx, top)
	if err != nil || removed != want {
		t.Fatalf("ack up to %d: removed %d, %v; want %d", top, removed, err, want)
	}
	if left, err := bob.Fetch(ctx, 0, 10); err != nil || len(left) != 0 {
		t.Errorf("after the ack bob holds %d messages (%v)", len(left), err)
	}

	// A cancelled subscription pushes nothing more; a new one starts
	// after the seq it is given.
	if err := sub.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got = nil
	mu.Unlock()
	if _, err := alice.Enqueue(ctx, Outgoing{Recipient: "bob", Payload: []byte("after cancel")}); err != nil {
		t.Fatal(err)
	}
	again := make(chan []protocol.Message, 4)
	sub2, err := bob.Subscribe(ctx, top, func(m []protocol.Message) { again <- m })
	if err != nil || sub2.ms == nil {
		t.Fatalf("second subscription: %v (on the stream: %v)", err, err == nil && sub2.ms != nil)
	}
	select {
	case m := <-again:
		if len(m) != 1 || string(m[0].Payload) != "after cancel" || m[0].Seq != top+1 {
			t.Errorf("second subscription got %d messages, first %q seq %d", len(m), m[0].Payload, m[0].Seq)
		}
	case <-deadline:
		t.Fatal("the second subscription got nothing")
	}
	mu.Lock()
	if len(got) != 0 {
		t.Errorf("the cancelled subscription's handler got %d messages", len(got))
	}
	mu.Unlock()
}

// rawStream opens a message stream by hand on c's connection.
func rawStream(t *testing.T, ctx context.Context, c *Client) *quic.Stream {
	t.Helper()
	st, err := c.qc.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.CancelRead(0)
		st.Close()
	})
	return st
}

// hello reads the node's HELLO from a raw stream.
func hello(t *testing.T, st *quic.Stream) (*msgstream.Reader, msgstream.Hello) {
	t.Helper()
	r := msgstream.NewReader(st, 1<<20)
	st.SetReadDeadline(time.Now().Add(20 * time.Second))
	typ, body, err := r.Next()
	if err != nil || typ != msgstream.TypeHello {
		t.Fatalf("first frame: 0x%02x, %v; want HELLO", typ, err)
	}
	h, err := msgstream.DecodeHello(body)
	if err != nil {
		t.Fatal(err)
	}
	return r, h
}

// refusal reads frames until the node's ERROR, then the end of the
// stream, and returns the ERROR.
func refusal(t *testing.T, r *msgstream.Reader) msgstream.Error {
	t.Helper()
	for {
		typ, body, err := r.Next()
		if err != nil {
			t.Fatalf("the stream ended without an ERROR: %v", err)
		}
		if typ != msgstream.TypeError {
			continue // receipts of what came before
		}
		e, err := msgstream.DecodeError(body)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("after ERROR: %v, want the end of the stream", err)
		}
		return e
	}
}

// TestAStreamThatBreaksTheRulesIsClosedAndTheConnectionLivesOn opens raw
// message streams that break the protocol: each gets an ERROR with a
// code and the reason, and the stream closes; the connection's RPC and a
// new stream go on working.
func TestAStreamThatBreaksTheRulesIsClosedAndTheConnectionLivesOn(t *testing.T) {
	t.Parallel()
	const domain = "rules.example.mesh"
	n := apptest.Run(t, domain)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := streamAccount(t, ctx, n, domain, "mallory", true)
	enq := func(req uint64) []byte {
		return msgstream.AppendEnqueue(nil, msgstream.Enqueue{Req: req, Msg: protocol.Outgoing{Recipient: "mallory", Payload: []byte("x")}})
	}
	cases := []struct {
		name string
		send func(h msgstream.Hello) []byte
		code schemas.ErrorCode
		says string
	}{
		{"an unknown frame type", func(msgstream.Hello) []byte { return []byte{0, 0, 0, 1, 0x7e} }, schemas.ErrorCode_badRequest, "unknown frame type"},
		{"a frame over the bound", func(h msgstream.Hello) []byte {
			return binary.BigEndian.AppendUint32(nil, h.MaxFrame+1)
		}, schemas.ErrorCode_badRequest, "frame length"},
		{"a frame that goes the other way", func(h msgstream.Hello) []byte { return msgstream.AppendHello(nil, h) }, schemas.ErrorCode_badRequest, "unknown frame type"},
		{"a malformed ENQUEUE", func(msgstream.Hello) []byte { return []byte{0, 0, 0, 3, byte(msgstream.TypeEnqueue), 1, 2} }, schemas.ErrorCode_badRequest, "malformed"},
		{"credit for nothing sent", func(msgstream.Hello) []byte { return msgstream.AppendCredit(nil, 1) }, schemas.ErrorCode_badRequest, "malformed"},
		{"more ENQUEUEs than the window", func(h msgstream.Hello) []byte {
			var b []byte
			for i := range 8 * h.EnqueueWindow {
				b = append(b, enq(uint64(i+1))...)
			}
			return b
		}, schemas.ErrorCode_rateLimited, "in flight"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := rawStream(t, ctx, c)
			if _, err := st.Write([]byte(msgstream.Header)); err != nil {
				t.Fatal(err)
			}
			r, h := hello(t, st)
			if _, err := st.Write(tc.send(h)); err != nil {
				t.Fatal(err)
			}
			e := refusal(t, r)
			if schemas.ErrorCode(e.Code) != tc.code || !strings.Contains(e.Reason, tc.says) {
				t.Errorf("ERROR %d %q, want code %d saying %q", e.Code, e.Reason, tc.code, tc.says)
			}
			if _, err := c.Health(ctx); err != nil {
				t.Errorf("the connection's RPC after the refusal: %v", err)
			}
		})
	}
	t.Run("a bad header", func(t *testing.T) {
		st := rawStream(t, ctx, c)
		st.Write([]byte("HTTP/"))
		r := msgstream.NewReader(st, 1<<20)
		st.SetReadDeadline(time.Now().Add(20 * time.Second))
		e := refusal(t, r)
		if !strings.Contains(e.Reason, "header") {
			t.Errorf("ERROR %q, want one about the header", e.Reason)
		}
	})
	t.Run("a good stream after the bad ones", func(t *testing.T) {
		st := rawStream(t, ctx, c)
		st.Write([]byte(msgstream.Header))
		r, _ := hello(t, st)
		st.Write(enq(42))
		typ, body, err := r.Next()
		if err != nil || typ != msgstream.TypeReceipt {
			t.Fatalf("0x%02x, %v; want RECEIPT", typ, err)
		}
		rc, err := msgstream.DecodeReceipt(body)
		if err != nil || rc.Req != 42 || rc.Code != 0 || rc.Seq == 0 {
			t.Fatalf("receipt %+v, %v", rc, err)
		}
		// Stored: the RPC fetch sees it.
		msgs, err := c.Fetch(ctx, rc.Seq-1, 1)
		if err != nil || len(msgs) != 1 || !bytes.Equal(msgs[0].Payload, []byte("x")) {
			t.Fatalf("fetch of seq %d: %d messages, %v", rc.Seq, len(msgs), err)
		}
	})
}

// TestTheNodeWaitsForCreditBeforePushingMore subscribes on a raw stream
// that gives no credit while another client sends messages one by one:
// the node stops after its window of DELIVER frames, and goes on when
// credit comes, until every message arrived in order.
func TestTheNodeWaitsForCreditBeforePushingMore(t *testing.T) {
	t.Parallel()
	const domain = "credit.example.mesh"
	n := apptest.Run(t, domain)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	slow := streamAccount(t, ctx, n, domain, "slow", true)
	sender := streamAccount(t, ctx, n, domain, "sender", false)
	st := rawStream(t, ctx, slow)
	st.Write([]byte(msgstream.Header))
	r, h := hello(t, st)
	st.Write(msgstream.AppendSubscribe(nil, msgstream.Subscribe{Req: 1}))
	typ, body, err := r.Next()
	if err != nil || typ != msgstream.TypeSubscribed {
		t.Fatalf("0x%02x, %v; want SUBSCRIBED", typ, err)
	}
	if s, err := msgstream.DecodeSubscribed(body); err != nil || s.Code != 0 || s.Req != 1 {
		t.Fatalf("SUBSCRIBED %+v, %v", s, err)
	}
	const total = 40
	for i := range total {
		// One at a time: each its own commit, and its own push.
		if _, err := sender.Enqueue(ctx, Outgoing{Recipient: "slow", Payload: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	// Without credit the node sends no more than its window; the wait
	// for more to (not) come is the one fixed wait of this test.
	frames, seq := 0, uint64(0)
	take := func(body []byte) {
		msgs, err := msgstream.DecodeDeliver(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Seq != seq+1 || string(m.Payload) != fmt.Sprint(seq) {
				t.Fatalf("message seq %d %q after seq %d", m.Seq, m.Payload, seq)
			}
			seq = m.Seq
		}
		frames++
	}
	for {
		st.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		typ, body, err := r.Next()
		var nerr interface{ Timeout() bool }
		if errors.As(err, &nerr) && nerr.Timeout() {
			break
		}
		if err != nil || typ != msgstream.TypeDeliver {
			t.Fatalf("0x%02x, %v; want DELIVER", typ, err)
		}
		take(body)
	}
	if frames == 0 || frames > int(h.DeliverWindow) || seq == total {
		t.Fatalf("without credit the node sent %d DELIVER frames (window %d) with %d of %d messages", frames, h.DeliverWindow, seq, total)
	}
	// Credit for what came: the rest follows, credited as it comes.
	st.SetReadDeadline(time.Now().Add(20 * time.Second))
	st.Write(msgstream.AppendCredit(nil, uint16(frames)))
	for seq < total {
		typ, body, err := r.Next()
		if err != nil || typ != msgstream.TypeDeliver {
			t.Fatalf("0x%02x, %v; want DELIVER", typ, err)
		}
		take(body)
		st.Write(msgstream.AppendCredit(nil, 1))
	}
}

// TestAMessageStreamWithoutAHeaderIsClosed opens a message stream and
// sends the start of a header only (a stream with no bytes at all is
// never seen by the node: QUIC opens it with its first frame): the node
// closes it after its header timeout (10 s), with
// an ERROR frame, instead of holding the stream and its goroutine for the
// connection's life; the connection goes on.
func TestAMessageStreamWithoutAHeaderIsClosed(t *testing.T) {
	t.Parallel()
	const domain = "silent.example.mesh"
	n := apptest.Run(t, domain)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := streamAccount(t, ctx, n, domain, "quiet", true)
	st := rawStream(t, ctx, c)
	if _, err := st.Write([]byte(msgstream.Header)[:2]); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st.SetReadDeadline(time.Now().Add(40 * time.Second))
	e := refusal(t, msgstream.NewReader(st, 1<<20))
	if waited := time.Since(start); waited < 5*time.Second {
		t.Errorf("closed after %v, before the header timeout", waited)
	}
	if !strings.Contains(e.Reason, "deadline") && !strings.Contains(e.Reason, "header") {
		t.Errorf("ERROR %q, want one about the missing header", e.Reason)
	}
	if _, err := c.Health(ctx); err != nil {
		t.Errorf("the connection's RPC after the stream closed: %v", err)
	}
}
