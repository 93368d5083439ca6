package noderpc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
	"github.com/quicprochat/qpc/transport/msgstream"
)

// This file serves a connection's message stream (transport/msgstream):
// enqueue, ack and subscribe as frames instead of Cap'n Proto calls, on
// the same node.Conn, and so with the same session, device, rate limits,
// bounds and error codes as the calls in server_rpc.go.

// Stream is a bidirectional stream the message stream is served on.
// Close ends it both ways (a QUIC stream's Close ends only the sending
// side: the caller's adapter also cancels reading).
type Stream interface {
	io.ReadWriter
	Close() error
}

// DefaultStreamHeaderTimeout is how long the node waits for a new message
// stream's header (a stream that implements SetReadDeadline, as a QUIC
// stream does) before it closes the stream, when StreamLimits does not say.
const DefaultStreamHeaderTimeout = 10 * time.Second

// StreamLimits bound one message stream; the node announces them in HELLO.
type StreamLimits struct {
	// MaxFrame bounds every frame, both ways.
	MaxFrame int
	// HeaderTimeout bounds the wait for the stream's header (0: the
	// default).
	HeaderTimeout time.Duration
	// EnqueueWindow is how many ENQUEUEs may wait for their receipts.
	EnqueueWindow int
	// DeliverWindow is how many DELIVER frames may wait for CREDIT.
	DeliverWindow int
}

// Defaults of StreamLimits beside MaxFrame.
const (
	// DefaultEnqueueWindow matches transport.MaxCallsInFlight's role on
	// the RPC stream: what one client may have the node work on.
	DefaultEnqueueWindow = 256
	// DefaultDeliverWindow is twice the push window (node pushWindow),
	// so that a delivery split in two frames never waits for credit.
	DefaultDeliverWindow = 8
	// maxControl bounds ACKs, SUBSCRIBEs and UNSUBSCRIBEs not yet answered.
	maxControl = msgstream.MaxControl
)

// StreamFrameBound is the MaxFrame of a node whose largest message is
// maxPayload bytes: one ENQUEUE of such a message with the longest
// recipient, or one DELIVER of it.
func StreamFrameBound(maxPayload int) int {
	return max(msgstream.MinFrame, maxPayload+1+2+0xffff+64)
}

// errStreamEnded ends the reader's loop when the peer closed the stream.
var errStreamEnded = errors.New("message stream ended")

// msgStream is one served stream.
type msgStream struct {
	s   *Server
	st  Stream
	lim StreamLimits

	ctx    context.Context
	cancel context.CancelFunc

	wmu sync.Mutex // one Write per frame or group of frames

	// The ENQUEUEs read and not yet answered; the enqueuer takes them in
	// order, all that wait at once, as one batch.
	emu      sync.Mutex
	pending  []msgstream.Enqueue
	inFlight int // read and not yet answered, pending or in the batch
	ekick    chan struct{}

	control chan func() // ACK, SUBSCRIBE, UNSUBSCRIBE in order

	// The DELIVER frames sent and not yet credited, oldest first.
	cmu      sync.Mutex
	credits  []*streamDelivery
	uncredit int
	room     chan struct{} // woken when credit comes

	sub *node.Subscription // the control goroutine's
}

// streamDelivery is one Send of the listener: frames of it not credited.
type streamDelivery struct {
	frames int
	done   chan struct{}
}

// ServeMsgStream serves the message stream st until it ends or ctx does,
// and closes it. The stream must start with msgstream.Header.
func (s *Server) ServeMsgStream(ctx context.Context, st Stream, lim StreamLimits) error {
	lim.EnqueueWindow = cmp.Or(lim.EnqueueWindow, DefaultEnqueueWindow)
	lim.DeliverWindow = cmp.Or(lim.DeliverWindow, DefaultDeliverWindow)
	lim.MaxFrame = max(lim.MaxFrame, msgstream.MinFrame)
	m := &msgStream{s: s, st: st, lim: lim, ekick: make(chan struct{}, 1), control: make(chan func(), maxControl), room: make(chan struct{}, 1)}
	m.ctx, m.cancel = context.WithCancel(ctx)
	defer m.cancel()
	defer st.Close()
	// A stream opened and left silent would hold its goroutine and the
	// connection's second stream for as long as the connection lives.
	dl, canDeadline := st.(interface{ SetReadDeadline(time.Time) error })
	if canDeadline {
		dl.SetReadDeadline(time.Now().Add(cmp.Or(lim.HeaderTimeout, DefaultStreamHeaderTimeout)))
	}
	if err := msgstream.ReadHeader(st); err != nil {
		m.fail(err)
		return err
	}
	if canDeadline {
		dl.SetReadDeadline(time.Time{})
	}
	hello := msgstream.AppendHello(nil, msgstream.Hello{Version: msgstream.Version, MaxFrame: uint32(lim.MaxFrame), EnqueueWindow: uint32(lim.EnqueueWindow), DeliverWindow: uint16(min(lim.DeliverWindow, 0xffff))})
	if err := m.write(hello); err != nil {
		return err
	}
	var workers sync.WaitGroup
	workers.Add(2)
	go func() { defer workers.Done(); m.enqueuer() }()
	go func() { defer workers.Done(); m.controller() }()
	err := m.read()
	m.cancel()
	close(m.control)
	workers.Wait()
	if errors.Is(err, errStreamEnded) {
		return nil
	}
	if err != nil {
		m.fail(err)
	}
	return err
}

// fail tells the client why the stream closes, in an ERROR frame.
func (m *msgStream) fail(err error) {
	code := schemas.ErrorCode_badRequest
	if errors.Is(err, msgstream.ErrTooManyInFlight) {
		code = schemas.ErrorCode_rateLimited
	}
	m.s.opts.Log.Debug("message stream closed", "user", m.s.conn.User(), "err", err)
	m.write(msgstream.AppendError(nil, msgstream.Error{Code: uint16(code), Reason: err.Error()}))
}

// write writes frames, whole. The node's frames come in groups already
// (a batch's receipts, a commit's push), so it does not gather them as
// the client does (msgstream.NewGatheringWriter): the router build is
// the smaller for it.
func (m *msgStream) write(b []byte) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	_, err := m.st.Write(b)
	return err
}

// read reads frames until the stream ends or breaks the protocol.
func (m *msgStream) read() error {
	r := msgstream.NewReader(m.st, m.lim.MaxFrame)
	for {
		t, body, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || m.ctx.Err() != nil {
				return errStreamEnded
			}
			if errors.Is(err, msgstream.ErrFrameTooLarge) || errors.Is(err, msgstream.ErrMalformed) {
				return err
			}
			return errStreamEnded // reset by the peer, or the connection is gone
		}
		switch t {
		case msgstream.TypeEnqueue:
			e, err := msgstream.DecodeEnqueue(body)
			if err != nil {
				return err
			}
			if err := m.queueEnqueue(e); err != nil {
				return err
			}
		case msgstream.TypeAck:
			a, err := msgstream.DecodeAck(body)
			if err != nil {
				return err
			}
			if err := m.queueControl(func() { m.ack(a) }); err != nil {
				return err
			}
		case msgstream.TypeSubscribe:
			sr, err := msgstream.DecodeSubscribe(body)
			if err != nil {
				return err
			}
			if err := m.queueControl(func() { m.subscribe(sr) }); err != nil {
				return err
			}
		case msgstream.TypeUnsubscribe:
			if err := msgstream.DecodeUnsubscribe(body); err != nil {
				return err
			}
			if err := m.queueControl(m.unsubscribe); err != nil {
				return err
			}
		case msgstream.TypeCredit:
			n, err := msgstream.DecodeCredit(body)
			if err != nil {
				return err
			}
			if err := m.credit(int(n)); err != nil {
				return err
			}
		default:
			return msgstream.ErrUnknownFrame
		}
	}
}

// queueEnqueue hands e to the enqueuer. It is woken at once: while it
// waits on the disk, what comes meanwhile gathers into the next batch.
func (m *msgStream) queueEnqueue(e msgstream.Enqueue) error {
	m.emu.Lock()
	if m.inFlight >= m.lim.EnqueueWindow {
		m.emu.Unlock()
		return msgstream.ErrTooManyInFlight
	}
	m.inFlight++
	m.pending = append(m.pending, e)
	m.emu.Unlock()
	select {
	case m.ekick <- struct{}{}:
	default:
	}
	return nil
}

// maxEnqueueCalls is how many calls of the node's enqueue one stream
// keeps running: two, so that what arrives while one batch waits on the
// disk goes into the next group commit, not the one after it.
const maxEnqueueCalls = 2

// enqueuer stores what the client sent, in batches of what waits when a
// call is free, so a busy stream makes few, large calls of the node's
// enqueue, and the receipts of a batch go out in one write. A batch
// whose first message is to follow the previous one (FlagAfter) waits
// until the batch holding that one is stored.
func (m *msgStream) enqueuer() {
	maxBatch := m.s.svc.Limits().MaxBatch
	finished := make(chan struct{}, maxEnqueueCalls)
	running := 0
	var last chan struct{} // closed when the latest batch is stored
	var calls sync.WaitGroup
	defer calls.Wait()
	for {
		m.emu.Lock()
		n := 0
		if running < maxEnqueueCalls && len(m.pending) > 0 {
			n = min(len(m.pending), maxBatch)
			if m.pending[0].After && last != nil {
				select {
				case <-last:
				default:
					n = 0 // wait for the batch it follows
				}
			}
		}
		batch := m.pending[:n:n]
		m.pending = m.pending[n:]
		if len(m.pending) == 0 {
			m.pending = nil
		}
		m.emu.Unlock()
		if n == 0 {
			select {
			case <-m.ekick:
			case <-finished:
				running--
			case <-m.ctx.Done():
				return
			}
			continue
		}
		running++
		done := make(chan struct{})
		last = done
		calls.Add(1)
		go func() {
			defer calls.Done()
			m.store(batch)
			close(done)
			finished <- struct{}{}
		}()
	}
}

// store runs one batch through the node's enqueue and answers each
// message with its receipt.
func (m *msgStream) store(batch []msgstream.Enqueue) {
	msgs := make([]protocol.Outgoing, len(batch))
	for i, e := range batch {
		msgs[i] = e.Msg
	}
	var receipts []protocol.Receipt
	var now time.Time
	// The stream's context does not bound the call: the client's
	// messages are stored, as an RPC call's are, once they were read.
	err := m.s.run(context.WithoutCancel(m.ctx), "enqueue", func(ctx context.Context) error {
		var err error
		receipts, now, err = m.s.conn.Enqueue(ctx, msgs)
		return err
	})
	out := make([]byte, 0, len(batch)*40)
	for i, e := range batch {
		r := msgstream.Receipt{Req: e.Req, ServerTime: now}
		if err != nil {
			r.Code = uint16(protocol.CodeOf(err))
		} else {
			rc := receipts[i]
			r.Seq, r.Code = rc.Seq, uint16(protocol.CodeOf(rc.Err))
			if rc.MeshID != (protocol.MeshID{}) {
				r.Mesh, r.MeshID, r.QueuedAt = true, rc.MeshID, rc.QueuedAt
			}
		}
		out = msgstream.AppendReceipt(out, r)
	}
	werr := m.write(out)
	m.emu.Lock()
	m.inFlight -= len(batch)
	m.emu.Unlock()
	if werr != nil {
		m.cancel()
	}
}

// queueControl hands f to the controller, or fails when the client has
// too many control frames unanswered.
func (m *msgStream) queueControl(f func()) error {
	select {
	case m.control <- f:
		return nil
	default:
		return msgstream.ErrTooManyInFlight
	}
}

// controller runs ACKs and (un)subscriptions in order, off the reader, so
// that an ack waiting on the disk holds no ENQUEUE or CREDIT back.
func (m *msgStream) controller() {
	for f := range m.control {
		f()
	}
	if m.sub != nil {
		m.sub.Cancel()
	}
}

func (m *msgStream) ack(a msgstream.Ack) {
	var removed int
	err := m.s.run(m.ctx, "ack", func(context.Context) error {
		var err error
		removed, err = m.s.conn.Ack(a.Upto)
		return err
	})
	m.write(msgstream.AppendAcked(nil, msgstream.Acked{Req: a.Req, Removed: uint32(removed), Code: uint16(protocol.CodeOf(err))}))
}

func (m *msgStream) subscribe(sr msgstream.Subscribe) {
	err := m.s.run(m.ctx, "subscribe", func(context.Context) error {
		if m.sub != nil {
			select {
			case <-m.sub.Done():
			default:
				return fmt.Errorf("%w: this stream has a subscription already", protocol.ErrBadRequest)
			}
		}
		sub, err := m.s.conn.Subscribe(streamListener{m}, sr.After)
		if err != nil {
			return err
		}
		m.sub = sub
		return nil
	})
	m.write(msgstream.AppendSubscribed(nil, msgstream.Subscribed{Req: sr.Req, Code: uint16(protocol.CodeOf(err))}))
	if err == nil {
		go m.watch(m.sub)
	}
}

// watch tells the client when sub ends on its own (a revoked device, a
// failing store); ended by UNSUBSCRIBE or the stream, it says nothing.
func (m *msgStream) watch(sub *node.Subscription) {
	<-sub.Done()
	if err := sub.Err(); err != nil && m.ctx.Err() == nil {
		m.write(msgstream.AppendEnded(nil, uint16(protocol.CodeOf(err))))
	}
}

func (m *msgStream) unsubscribe() {
	if m.sub != nil {
		m.sub.Cancel()
		m.sub = nil
	}
	m.write(msgstream.AppendEnded(nil, 0))
}

// credit takes the client's CREDIT of n frames: the oldest deliveries are
// done as their frames are credited.
func (m *msgStream) credit(n int) error {
	m.cmu.Lock()
	if n > m.uncredit {
		m.cmu.Unlock()
		return msgstream.ErrMalformed
	}
	m.uncredit -= n
	for n > 0 {
		d := m.credits[0]
		k := min(n, d.frames)
		d.frames -= k
		n -= k
		if d.frames == 0 {
			close(d.done)
			m.credits[0] = nil
			m.credits = m.credits[1:]
		}
	}
	m.cmu.Unlock()
	select {
	case m.room <- struct{}{}:
	default:
	}
	return nil
}

// streamListener pushes a subscription's messages as DELIVER frames.
type streamListener struct{ m *msgStream }

// Deliver implements node.Listener.
func (l streamListener) Deliver(ctx context.Context, msgs []protocol.Message) error {
	_, wait := l.Send(ctx, msgs)
	return wait()
}

// Send implements node.PipelinedListener: msgs go out as DELIVER frames
// of at most MaxFrame bytes, each sent once the client has credit for it;
// done is closed when the client has credited them all (its handler has
// taken them), as a deliver call's answer would say.
func (l streamListener) Send(ctx context.Context, msgs []protocol.Message) (<-chan struct{}, func() error) {
	m := l.m
	d := &streamDelivery{done: make(chan struct{})}
	var buf []byte
	var sendErr error
	for len(msgs) > 0 && sendErr == nil {
		size, n := msgstream.DeliverFixed, 0
		for n < len(msgs) && n < 0xffff && (n == 0 || size+msgstream.DeliverSize(msgs[n]) <= m.lim.MaxFrame) {
			size += msgstream.DeliverSize(msgs[n])
			n++
		}
		if size > m.lim.MaxFrame {
			// A message stored under a larger --max-payload than the
			// node's now: RPC can push it, the stream's frames cannot.
			sendErr = protocol.ErrPayloadTooLarge
			break
		}
		if err := m.waitRoom(ctx); err != nil {
			sendErr = err
			break
		}
		m.cmu.Lock()
		if d.frames == 0 {
			m.credits = append(m.credits, d)
		}
		d.frames++
		m.uncredit++
		m.cmu.Unlock()
		buf = msgstream.AppendDeliver(buf[:0], msgs[:n])
		if err := m.write(buf); err != nil {
			sendErr = msgstream.ErrClosed
		}
		msgs = msgs[n:]
	}
	if sendErr != nil {
		ch := make(chan struct{})
		close(ch)
		return ch, func() error { return sendErr }
	}
	return d.done, func() error {
		select {
		case <-d.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-m.ctx.Done():
			return msgstream.ErrClosed
		}
	}
}

// waitRoom waits until fewer than DeliverWindow frames wait for credit.
func (m *msgStream) waitRoom(ctx context.Context) error {
	for {
		m.cmu.Lock()
		ok := m.uncredit < m.lim.DeliverWindow
		m.cmu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-m.room:
		case <-ctx.Done():
			return ctx.Err()
		case <-m.ctx.Done():
			return msgstream.ErrClosed
		}
	}
}
