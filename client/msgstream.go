package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
	"github.com/quicprochat/qpc/transport"
	"github.com/quicprochat/qpc/transport/msgstream"
)

// The message stream (transport/msgstream) carries Enqueue, EnqueueBatch,
// Ack and Subscribe once the connection has a session, when the node
// offers it: the client opens it after a login or resumed session and
// uses it once the node answered HELLO. Until then, with a node that has
// no message stream, and for what does not fit it, the RPC calls do.

// helloWait bounds the wait for a node's HELLO. A node that predates the
// stream refuses to open it at once (one stream per connection); this is
// for one that lets it open and never reads it.
const helloWait = 2 * time.Second

// errStreamGone means the message stream ended before the request was
// written: the caller sends it over RPC instead.
var errStreamGone = errors.New("message stream gone")

// UseRPCOnly makes the client send and receive messages with RPC calls
// only, never the message stream: `qpc bench --rpc` compares the two.
// Call it before logging in.
func (c *Client) UseRPCOnly() {
	c.ms.mu.Lock()
	c.ms.rpcOnly = true
	c.ms.mu.Unlock()
}

// UsesMsgStream reports whether the client carries messages on the
// message stream now (waiting for the node's HELLO first, if asked).
func (c *Client) UsesMsgStream(ctx context.Context) bool {
	return c.msgStream(ctx) != nil
}

// msgState is a client's message stream: being opened, open, or not to be
// used.
type msgState struct {
	mu      sync.Mutex
	rpcOnly bool
	ready   chan struct{} // closed when the probe is over; nil: none started
	conn    *msgConn      // set when the node said HELLO
}

// startMsgStream opens the message stream, once per connection, in the
// background: called when a session is bound.
func (c *Client) startMsgStream() {
	if c.qc == nil || c.offline {
		return
	}
	s := &c.ms
	s.mu.Lock()
	if s.rpcOnly || s.ready != nil {
		s.mu.Unlock()
		return
	}
	ready := make(chan struct{})
	s.ready = ready
	s.mu.Unlock()
	go func() {
		defer close(ready)
		mc, err := openMsgConn(c)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conn = mc
		s.mu.Unlock()
	}()
}

// msgStream returns the open message stream, waiting for the probe if one
// runs, or nil: then the caller uses RPC.
func (c *Client) msgStream(ctx context.Context) *msgConn {
	s := &c.ms
	s.mu.Lock()
	ready := s.ready
	s.mu.Unlock()
	if ready == nil {
		return nil
	}
	select {
	case <-ready:
	case <-ctx.Done():
		return nil
	}
	s.mu.Lock()
	mc := s.conn
	s.mu.Unlock()
	if mc == nil || mc.failed() {
		return nil
	}
	return mc
}

// msgConn is an open message stream.
type msgConn struct {
	c     *Client
	st    *quic.Stream
	hello msgstream.Hello

	w *msgstream.Writer

	window  chan struct{} // a slot per ENQUEUE unanswered
	control chan struct{} // a slot per ACK/SUBSCRIBE/UNSUBSCRIBE unanswered

	mu       sync.Mutex
	next     uint64
	receipts map[uint64]chan msgstream.Receipt
	acks     map[uint64]chan msgstream.Acked
	subAns   map[uint64]chan uint16
	unsub    []chan struct{} // UNSUBSCRIBEs waiting for ENDED, in order
	handler  Handler         // the subscription's; nil: none
	subbed   bool            // a subscription is active (handler set)
	queue    [][]protocol.Message
	hkick    chan struct{}
	dead     chan struct{}
	err      error
}

// openMsgConn opens the stream on c's connection and waits for HELLO.
func openMsgConn(c *Client) (*msgConn, error) {
	st, err := c.qc.OpenStream()
	if err != nil {
		return nil, err // a node that allows no second stream
	}
	fail := func(err error) (*msgConn, error) {
		st.CancelRead(quic.StreamErrorCode(transport.CodeNormal))
		st.CancelWrite(quic.StreamErrorCode(transport.CodeNormal))
		return nil, err
	}
	if _, err := st.Write([]byte(msgstream.Header)); err != nil {
		return fail(err)
	}
	st.SetReadDeadline(time.Now().Add(helloWait))
	r := msgstream.NewReader(st, 64)
	t, body, err := r.Next()
	if err != nil {
		return fail(err)
	}
	if t != msgstream.TypeHello {
		return fail(fmt.Errorf("%w: 0x%02x before HELLO", msgstream.ErrUnknownFrame, uint8(t)))
	}
	h, err := msgstream.DecodeHello(body)
	if err != nil {
		return fail(err)
	}
	st.SetReadDeadline(time.Time{})
	r.SetMax(int(h.MaxFrame))
	mc := &msgConn{
		c: c, st: st, hello: h, w: msgstream.NewGatheringWriter(st),
		window:   make(chan struct{}, min(h.EnqueueWindow, 1<<16)),
		control:  make(chan struct{}, msgstream.MaxControl),
		receipts: map[uint64]chan msgstream.Receipt{},
		acks:     map[uint64]chan msgstream.Acked{},
		subAns:   map[uint64]chan uint16{},
		hkick:    make(chan struct{}, 1),
		dead:     make(chan struct{}),
	}
	go mc.read(r)
	go mc.handle()
	return mc, nil
}

func (mc *msgConn) failed() bool {
	select {
	case <-mc.dead:
		return true
	default:
		return false
	}
}

// die ends the stream with err: what waits for an answer gets err. A
// subscription on it would go silent while the connection lives on, so
// the connection is closed too, and its owner reconnects as after any
// lost connection.
func (mc *msgConn) die(err error) {
	mc.mu.Lock()
	if mc.err != nil {
		mc.mu.Unlock()
		return
	}
	mc.err = err
	subbed := mc.subbed
	close(mc.dead)
	mc.mu.Unlock()
	mc.st.CancelRead(quic.StreamErrorCode(transport.CodeProtocol))
	mc.st.CancelWrite(quic.StreamErrorCode(transport.CodeProtocol))
	if subbed && !mc.c.ended() {
		mc.c.qc.CloseWithError(transport.CodeProtocol, "message stream failed")
	}
}

// streamErr is what a request in flight gets when the stream ended: why
// the node closed the connection, if it did.
func (mc *msgConn) streamErr() error {
	if mc.c.ended() {
		if closed := mc.c.closedByNode(); closed != nil {
			return closed
		}
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return fmt.Errorf("%w: %v", msgstream.ErrClosed, mc.err)
}

func (mc *msgConn) write(b []byte) error {
	err := mc.w.Write(b)
	if err != nil {
		go mc.die(err)
	}
	return err
}

// read reads the node's frames until the stream ends.
func (mc *msgConn) read(r *msgstream.Reader) {
	for {
		t, body, err := r.Next()
		if err == nil {
			err = mc.frame(t, body)
		}
		if err != nil {
			mc.die(err)
			return
		}
	}
}

// frame takes one frame from the node.
func (mc *msgConn) frame(t msgstream.Type, body []byte) error {
	switch t {
	case msgstream.TypeReceipt:
		rc, err := msgstream.DecodeReceipt(body)
		if err != nil {
			return err
		}
		mc.mu.Lock()
		ch, ok := mc.receipts[rc.Req]
		delete(mc.receipts, rc.Req)
		mc.mu.Unlock()
		if !ok {
			return fmt.Errorf("%w: RECEIPT of request %d, which is not waiting", msgstream.ErrMalformed, rc.Req)
		}
		ch <- rc
		<-mc.window
	case msgstream.TypeAcked:
		a, err := msgstream.DecodeAcked(body)
		if err != nil {
			return err
		}
		mc.mu.Lock()
		ch, ok := mc.acks[a.Req]
		delete(mc.acks, a.Req)
		mc.mu.Unlock()
		if !ok {
			return fmt.Errorf("%w: ACKED of request %d, which is not waiting", msgstream.ErrMalformed, a.Req)
		}
		ch <- a
		<-mc.control
	case msgstream.TypeSubscribed:
		s, err := msgstream.DecodeSubscribed(body)
		if err != nil {
			return err
		}
		mc.mu.Lock()
		ch, ok := mc.subAns[s.Req]
		delete(mc.subAns, s.Req)
		mc.mu.Unlock()
		if !ok {
			return fmt.Errorf("%w: SUBSCRIBED of request %d, which is not waiting", msgstream.ErrMalformed, s.Req)
		}
		ch <- s.Code
		<-mc.control
	case msgstream.TypeDeliver:
		msgs, err := msgstream.DecodeDeliver(body)
		if err != nil {
			return err
		}
		mc.mu.Lock()
		if len(mc.queue) >= int(mc.hello.DeliverWindow) {
			mc.mu.Unlock()
			return fmt.Errorf("%w: more than %d DELIVER frames without credit", msgstream.ErrTooManyInFlight, mc.hello.DeliverWindow)
		}
		mc.queue = append(mc.queue, msgs)
		mc.mu.Unlock()
		select {
		case mc.hkick <- struct{}{}:
		default:
		}
	case msgstream.TypeEnded:
		code, err := msgstream.DecodeEnded(body)
		if err != nil {
			return err
		}
		mc.mu.Lock()
		if code != 0 {
			// The subscription ended on its own.
			mc.handler, mc.subbed = nil, false
			mc.mu.Unlock()
			return nil
		}
		if len(mc.unsub) == 0 {
			mc.mu.Unlock()
			return fmt.Errorf("%w: ENDED without UNSUBSCRIBE", msgstream.ErrMalformed)
		}
		ch := mc.unsub[0]
		mc.unsub = mc.unsub[1:]
		mc.handler, mc.subbed = nil, false
		mc.mu.Unlock()
		close(ch)
		<-mc.control
	case msgstream.TypeError:
		e, err := msgstream.DecodeError(body)
		if err != nil {
			return err
		}
		return fmt.Errorf("node closed the message stream: %w", &protocol.RemoteError{Code: schemas.ErrorCode(e.Code), Message: e.Reason})
	default:
		return fmt.Errorf("%w: 0x%02x", msgstream.ErrUnknownFrame, uint8(t))
	}
	return nil
}

// handle runs the subscription's handler on each DELIVER frame in order,
// off the reader (so that a handler may send or ack, which needs the
// reader), and gives the node credit for the frames it has taken: at
// once when nothing more waits, else every half window.
func (mc *msgConn) handle() {
	taken := 0
	for {
		mc.mu.Lock()
		var msgs []protocol.Message
		if len(mc.queue) > 0 {
			msgs = mc.queue[0]
			mc.queue[0] = nil
			mc.queue = mc.queue[1:]
		}
		h := mc.handler
		more := len(mc.queue) > 0
		mc.mu.Unlock()
		if msgs == nil {
			select {
			case <-mc.hkick:
				continue
			case <-mc.dead:
				return
			}
		}
		if h != nil {
			h(msgs)
		}
		taken++
		if !more || taken >= int(mc.hello.DeliverWindow)/2 {
			if mc.write(msgstream.AppendCredit(nil, uint16(taken))) != nil {
				return
			}
			taken = 0
		}
	}
}

// reqID returns a new request id; with mc.mu held.
func (mc *msgConn) reqID() uint64 {
	mc.next++
	return mc.next
}

// enqueue sends msgs and returns their receipts. errStreamGone means
// none was written (send them by RPC). A message the node refused has
// its error in its receipt, and the first such is returned too when
// msgs is one message, as Enqueue does.
func (mc *msgConn) enqueue(ctx context.Context, msgs []Outgoing) ([]Receipt, error) {
	chans := make([]chan msgstream.Receipt, len(msgs))
	var buf []byte
	sent := 0
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		err := mc.write(buf)
		buf = buf[:0]
		return err
	}
	for i, m := range msgs {
		select {
		case mc.window <- struct{}{}:
		default:
			// The window is full: what is gathered goes out first, or
			// its receipts, which free the window, never come.
			if err := flush(); err != nil {
				return nil, mc.lost(sent, err)
			}
			select {
			case mc.window <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-mc.dead:
				return nil, mc.lost(sent, errStreamGone)
			}
		}
		ch := make(chan msgstream.Receipt, 1)
		mc.mu.Lock()
		if mc.err != nil {
			mc.mu.Unlock()
			<-mc.window
			return nil, mc.lost(sent, errStreamGone)
		}
		id := mc.reqID()
		mc.receipts[id] = ch
		mc.mu.Unlock()
		chans[i] = ch
		// The rest of a batch is stored after its first message, in
		// order, as one batchEnqueue call would store it.
		buf = msgstream.AppendEnqueue(buf, msgstream.Enqueue{Req: id, After: i > 0, Msg: m})
		if i == 0 {
			// Sent before the rest is gathered: a lone message is not
			// held back, and a batch starts while it is built.
			if err := flush(); err != nil {
				return nil, mc.lost(0, errStreamGone)
			}
		}
		sent = i + 1
	}
	if err := flush(); err != nil {
		return nil, mc.lost(sent, err)
	}
	out := make([]Receipt, len(msgs))
	for i, ch := range chans {
		select {
		case rc := <-ch:
			out[i] = Receipt{Seq: rc.Seq, ServerTime: rc.ServerTime, MeshID: rc.MeshID, QueuedAt: rc.QueuedAt}
			if rc.Code != 0 {
				code := schemas.ErrorCode(rc.Code)
				out[i].Err = fmt.Errorf("send to %s: %w", msgs[i].Recipient, &protocol.RemoteError{Code: code, Message: protocol.ErrorOf(code).Error()})
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-mc.dead:
			return nil, fmt.Errorf("send to %s: %w", msgs[i].Recipient, mc.streamErr())
		}
	}
	return out, nil
}

// lost is the error of a send cut off after sent messages were written:
// with none written, errStreamGone lets the caller use RPC; otherwise
// some may be stored, and the caller learns that the stream failed.
func (mc *msgConn) lost(sent int, err error) error {
	if sent == 0 {
		return errStreamGone
	}
	return fmt.Errorf("send: %w", mc.streamErr())
}

// takeControl takes a slot for an ACK or (UN)SUBSCRIBE.
func (mc *msgConn) takeControl(ctx context.Context) error {
	select {
	case mc.control <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-mc.dead:
		return errStreamGone
	}
}

// ack removes messages up to upto; errStreamGone: use RPC.
func (mc *msgConn) ack(ctx context.Context, upto uint64) (int, error) {
	if err := mc.takeControl(ctx); err != nil {
		return 0, err
	}
	ch := make(chan msgstream.Acked, 1)
	mc.mu.Lock()
	id := mc.reqID()
	mc.acks[id] = ch
	mc.mu.Unlock()
	if err := mc.write(msgstream.AppendAck(nil, msgstream.Ack{Req: id, Upto: upto})); err != nil {
		return 0, errStreamGone
	}
	select {
	case a := <-ch:
		if a.Code != 0 {
			code := schemas.ErrorCode(a.Code)
			return 0, fmt.Errorf("ack: %w", &protocol.RemoteError{Code: code, Message: protocol.ErrorOf(code).Error()})
		}
		return int(a.Removed), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-mc.dead:
		return 0, fmt.Errorf("ack: %w", mc.streamErr())
	}
}

// subscribe starts the stream's subscription; errStreamGone (or a
// subscription already on it): use RPC.
func (mc *msgConn) subscribe(ctx context.Context, after uint64, h Handler) (*Subscription, error) {
	mc.mu.Lock()
	if mc.subbed {
		mc.mu.Unlock()
		return nil, errStreamGone
	}
	// Set before SUBSCRIBE goes: the node may push before it answers.
	mc.handler, mc.subbed = h, true
	mc.mu.Unlock()
	unset := func() {
		mc.mu.Lock()
		mc.handler, mc.subbed = nil, false
		mc.mu.Unlock()
	}
	if err := mc.takeControl(ctx); err != nil {
		unset()
		return nil, err
	}
	ch := make(chan uint16, 1)
	mc.mu.Lock()
	id := mc.reqID()
	mc.subAns[id] = ch
	mc.mu.Unlock()
	if err := mc.write(msgstream.AppendSubscribe(nil, msgstream.Subscribe{Req: id, After: after})); err != nil {
		unset()
		return nil, errStreamGone
	}
	select {
	case code := <-ch:
		if code != 0 {
			unset()
			c := schemas.ErrorCode(code)
			return nil, fmt.Errorf("subscribe: %w", &protocol.RemoteError{Code: c, Message: protocol.ErrorOf(c).Error()})
		}
		return &Subscription{ms: mc}, nil
	case <-ctx.Done():
		// The node may still subscribe: the stream's subscription is
		// ended with it, or by the next Subscribe's failure.
		return nil, ctx.Err()
	case <-mc.dead:
		return nil, fmt.Errorf("subscribe: %w", mc.streamErr())
	}
}

// unsubscribe ends the stream's subscription and waits until the node
// has pushed its last.
func (mc *msgConn) unsubscribe(ctx context.Context) error {
	if err := mc.takeControl(ctx); err != nil {
		if errors.Is(err, errStreamGone) {
			return nil // gone with the stream
		}
		return err
	}
	ch := make(chan struct{})
	mc.mu.Lock()
	mc.unsub = append(mc.unsub, ch)
	mc.mu.Unlock()
	if err := mc.write(msgstream.AppendUnsubscribe(nil)); err != nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cancel subscription: %w", ctx.Err())
	case <-mc.dead:
		return nil
	}
}

// fitsStream reports whether each of msgs fits a frame on mc; a message
// that does not goes by RPC, whose answer says what is wrong with it.
func fitsStream(msgs []Outgoing, mc *msgConn) bool {
	if len(msgs) == 0 {
		return false
	}
	for _, m := range msgs {
		if !msgstream.CheckEnqueue(m, int(mc.hello.MaxFrame)) {
			return false
		}
	}
	return true
}
