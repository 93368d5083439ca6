package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc/transport"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
)

// A Cap'n Proto stream frame starts with its segment table: a little-endian
// uint32 holding the segment count minus one, one uint32 per segment with
// its size in 8-byte words, and four bytes of padding when the count is
// even. The segments follow. Reading the table first tells the size of the
// whole frame before any of it is allocated.
const (
	// maxFrameSegments is the most segments a frame may have; the capnp
	// decoder refuses more, and so do we, before it allocates the table.
	maxFrameSegments = 512
	// FrameOverhead is what an RPC frame needs beyond its payloads: the
	// RPC message, call header, cap table and the other fields of a call.
	FrameOverhead = 64 << 10
	// FramePayloads is how many payloads of --max-payload one frame may
	// carry (a batch of sends, key packages).
	FramePayloads = 4
	// MinFramePayload is the payload room of a frame however small
	// --max-payload is, so that a client can size its batches without
	// knowing the node's setting (see client.MaxBatchBytes).
	MinFramePayload = 256 << 10
	// MaxCallsInFlight bounds the calls of one connection that the node
	// has read and not yet answered. It is above what a pipelining client
	// keeps in flight (qpc bench keeps a window of 32).
	MaxCallsInFlight = 64
	// The RPC library keeps an answer's Return until the peer sends Finish
	// for it. capnp-go clients send it 250 ms after the Return arrives, so
	// a busy client has a quarter second of answers unfinished at any time
	// (a client sending as fast as the node stores has a few thousand). A
	// peer is cut when more than MaxUnfinished answers are unfinished, or
	// more than staleUnfinished of which the oldest has waited staleAfter:
	// a client finishes within a second, a peer that never finishes is
	// found out within staleAfter.
	//
	// MaxUnfinished bounds the answers a logged-in connection leaves
	// unfinished.
	MaxUnfinished = 8192
	// MaxUnfinishedAnonymous bounds them before the connection logs in,
	// when a client makes a handful of calls (health, register, login).
	MaxUnfinishedAnonymous = 64
	staleUnfinished        = 256
	staleAfter             = 5 * time.Second

	// MaxUnfinishedChunkBytes bounds the bytes of a connection's answers
	// to the chunk methods (FinishEarly) that the node has written and the
	// peer has not finished: the node keeps each such answer, a chunk of
	// up to 128 KiB, until the Finish. Over it, AnswerBudget.Over reports
	// true and the blob handlers refuse further chunk calls
	// (rateLimited) until Finishes bring it down. 4 MiB is 32 chunks: our
	// client finishes each answer as it arrives and keeps four calls in
	// flight, so it holds at most a few; a stock capnp-go client (Finish
	// 250 ms late) is refused above 16 MB/s.
	MaxUnfinishedChunkBytes = 4 << 20
)

// ErrUnfinishedChunkBytes means a peer left more bytes of chunk answers
// unfinished than a connection may hold; the connection is closed.
var ErrUnfinishedChunkBytes = errors.New("too many bytes of chunk answers never finished")

// AnswerBudget tells the handlers of one connection whether it holds too
// many unfinished chunk answers (MaxUnfinishedChunkBytes). The zero value
// is ready; set Limits.Answers to have a bounded connection keep it.
type AnswerBudget struct {
	bytes atomic.Int64
	limit int64 // 0 means MaxUnfinishedChunkBytes; tests lower it

	mu sync.Mutex
	// room is closed, and replaced, when Finishes bring the bytes back
	// within the budget; nil until someone waits.
	room chan struct{}
}

// WaitRoom waits until the connection is within its budget, or ctx ends;
// it reports whether there is room. A handler waits rather than refusing
// at once so that a client finishing late (capnp-go: 250 ms) is slowed,
// not failed, and one finishing never gets a refusal a call at a time,
// not as fast as it can ask.
func (a *AnswerBudget) WaitRoom(ctx context.Context) bool {
	if a == nil {
		return true
	}
	for {
		a.mu.Lock()
		if !a.Over() {
			a.mu.Unlock()
			return true
		}
		if a.room == nil {
			a.room = make(chan struct{})
		}
		room := a.room
		a.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return !a.Over()
		}
	}
}

// add changes the bytes held and wakes the waiters once within budget.
func (a *AnswerBudget) add(n int64) int64 {
	held := a.bytes.Add(n)
	if n < 0 && held <= a.max() {
		a.mu.Lock()
		if a.room != nil {
			close(a.room)
			a.room = nil
		}
		a.mu.Unlock()
	}
	return held
}

// Over reports whether the connection holds more bytes of unfinished
// chunk answers than its budget: a new chunk call is to be refused.
func (a *AnswerBudget) Over() bool {
	if a == nil {
		return false
	}
	return a.bytes.Load() > a.max()
}

// Held returns the bytes of chunk answers written and not yet finished.
func (a *AnswerBudget) Held() int64 {
	if a == nil {
		return 0
	}
	return a.bytes.Load()
}

func (a *AnswerBudget) max() int64 {
	if a.limit > 0 {
		return a.limit
	}
	return MaxUnfinishedChunkBytes
}

// ErrFrameTooLarge means a peer announced an RPC frame larger than the
// connection allows; the connection is closed without reading it.
var ErrFrameTooLarge = errors.New("RPC frame too large")

// ErrUnfinishedCalls means a peer left more answers unfinished (it never
// sent the Finish that lets the node drop an answer) than a connection may
// keep; the connection is closed.
var ErrUnfinishedCalls = errors.New("too many answered calls never finished")

// ErrBadFrame means a peer sent an RPC frame whose segment table is
// malformed.
var ErrBadFrame = errors.New("malformed RPC frame")

// FrameBound returns the largest RPC frame a node with the given
// --max-payload reads from a client: room for FramePayloads payloads (at
// least MinFramePayload bytes of them) plus FrameOverhead.
func FrameBound(maxPayload int) int {
	room := FramePayloads * maxPayload
	if room < MinFramePayload {
		room = MinFramePayload
	}
	return room + FrameOverhead
}

// frameSize reads the segment table at the start of b. It returns the
// frame's total size in bytes (table included), or, when b is too short to
// tell, need > len(b): how many bytes the table takes.
func frameSize(b []byte) (size uint64, need int, err error) {
	if len(b) < 4 {
		return 0, 4, nil
	}
	segs := uint64(binary.LittleEndian.Uint32(b)) + 1
	if segs > maxFrameSegments {
		return 0, 0, fmt.Errorf("%w: %d segments (at most %d)", ErrBadFrame, segs, maxFrameSegments)
	}
	table := 4 + 4*int(segs)
	table += table % 8 // pad to a whole word
	if len(b) < table {
		return 0, table, nil
	}
	size = uint64(table)
	for i := 0; i < int(segs); i++ {
		size += 8 * uint64(binary.LittleEndian.Uint32(b[4+4*i:]))
	}
	return size, table, nil
}

// Limits bound what one RPC connection may make the node hold.
type Limits struct {
	// MaxFrame is the largest frame read, in bytes; 0 keeps the capnp
	// default (64 MiB).
	MaxFrame int
	// MaxCalls bounds the calls read and not yet answered; 0 means no
	// bound. Their frames together are also held under MaxFrame bytes
	// (one call is always let in). With MaxCalls set, a peer that leaves
	// too many answers unfinished is cut (ErrUnfinishedCalls, see
	// MaxUnfinished).
	MaxCalls int
	// LoggedIn, if not nil, is closed once the connection has logged in;
	// until then MaxUnfinishedAnonymous applies instead of MaxUnfinished.
	LoggedIn <-chan struct{}
	// OnRefused, if not nil, is told when the connection is cut: for a
	// frame over MaxFrame, a malformed one, or answers left unfinished.
	OnRefused func(err error)
	// Answers, if not nil, is kept up to date with the bytes of the chunk
	// answers (FinishEarly) written and not finished; with MaxCalls set,
	// a peer holding more than twice its budget is cut
	// (ErrUnfinishedChunkBytes).
	Answers *AnswerBudget
}

// bounded is the codec and the bookkeeping of a bounded RPC connection.
// Before it reads a frame it reads the frame's segment table, refuses a
// frame over the bound, and waits while the connection holds MaxCalls
// calls or MaxFrame bytes of them that have not been answered. While it
// waits it reads nothing, so QUIC flow control stops the peer once the
// stream's receive window is full: a client that pipelines calls and never
// reads the answers stalls itself, not the node.
type bounded struct {
	r    *bufio.Reader
	enc  frameWriter
	dec  *capnp.Decoder
	c    io.Closer
	lim  Limits
	log  *slog.Logger
	last uint64 // size of the frame Decode returned last; RecvMessage only
	// staleAfter is the package's staleAfter; tests shorten it.
	staleAfter time.Duration

	mu         sync.Mutex
	stale      *time.Timer // armed while more than staleUnfinished are unfinished
	cond       *sync.Cond
	closed     bool
	err        error                // why the connection was cut, if it was
	calls      map[uint32]*question // by question id, until returned and finished
	pending    int                  // calls not yet returned
	held       uint64               // frame bytes of pending calls
	unfinished int                  // calls returned and not finished
	chunks     map[Method]bool      // the methods whose answers Answers counts
	// returnOrder holds returned, unfinished calls in the order of their
	// Returns; entries finished since are skipped when they reach the
	// front, so its front is the oldest unfinished answer.
	returnOrder []*question
}

// question is a call of the peer that the node has read.
type question struct {
	size       uint64    // of its frame
	returned   bool      // the node's Return was written (or dropped)
	finished   bool      // the peer's Finish was read
	returnedAt time.Time // when returned
	chunk      bool      // a call of a FinishEarly method
	answer     int64     // bytes of its Return counted in Limits.Answers
}

func newBounded(rwc io.ReadWriteCloser, lim Limits, log *slog.Logger) *bounded {
	// The reader's buffer fits the largest segment table, so Peek can show
	// it whole.
	r := bufio.NewReaderSize(rwc, 4096)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &bounded{r: r, enc: frameWriter{w: rwc}, dec: capnp.NewDecoder(r), c: rwc,
		lim: lim, log: log, calls: map[uint32]*question{}, staleAfter: staleAfter, chunks: map[Method]bool{}}
	for _, m := range FinishEarly {
		b.chunks[m] = true
	}
	if lim.MaxFrame > 0 {
		b.dec.MaxMessageSize = uint64(lim.MaxFrame)
	}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// Encode implements transport.Codec.
func (b *bounded) Encode(m *capnp.Message) error { return b.enc.Encode(m) }

// Decode implements transport.Codec: it checks the next frame's size,
// waits for room, and decodes it. After the connection was cut for
// breaking a bound, it returns why.
func (b *bounded) Decode() (*capnp.Message, error) {
	m, err := b.decode()
	if err != nil {
		b.mu.Lock()
		if b.err != nil {
			err = b.err
		}
		b.mu.Unlock()
	}
	return m, err
}

func (b *bounded) decode() (*capnp.Message, error) {
	size, err := b.peekSize()
	if err != nil {
		return nil, err
	}
	if b.lim.MaxFrame > 0 && size > uint64(b.lim.MaxFrame) {
		return nil, b.refuse(fmt.Errorf("%w: %d bytes announced, at most %d", ErrFrameTooLarge, size, b.lim.MaxFrame))
	}
	if err := b.wait(size); err != nil {
		return nil, err
	}
	b.last = size
	return b.dec.Decode()
}

func (b *bounded) peekSize() (uint64, error) {
	need := 4
	for {
		hdr, err := b.r.Peek(need)
		if err != nil {
			return 0, err
		}
		size, n, err := frameSize(hdr)
		if err != nil {
			return 0, b.refuse(err)
		}
		if n <= len(hdr) {
			return size, nil
		}
		need = n
	}
}

func (b *bounded) refuse(err error) error {
	b.log.Info("closing connection: over its RPC bounds", "err", err)
	if b.lim.OnRefused != nil {
		b.lim.OnRefused(err)
	}
	return err
}

// wait blocks while reading a frame of size would go past the connection's
// bounds; with nothing held, any frame within MaxFrame goes.
func (b *bounded) wait(size uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.closed && b.pending > 0 && !b.roomFor(size) {
		b.cond.Wait()
	}
	if b.err != nil {
		return b.err
	}
	if b.closed {
		return errStreamClosed
	}
	return nil
}

func (b *bounded) roomFor(size uint64) bool {
	if b.lim.MaxCalls > 0 && b.pending >= b.lim.MaxCalls {
		return false
	}
	return b.lim.MaxFrame <= 0 || b.held+size <= uint64(b.lim.MaxFrame)
}

// received records an incoming message that the node will answer with a
// Return (a Call or a Bootstrap), or the Finish of one.
func (b *bounded) received(m rpccp.Message, size uint64) {
	var id uint32
	var chunk bool
	switch m.Which() {
	case rpccp.Message_Which_finish:
		f, err := m.Finish()
		if err != nil {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if q, ok := b.calls[f.QuestionId()]; ok {
			q.finished = true
			if q.returned {
				delete(b.calls, f.QuestionId())
				b.unfinished--
				b.release(q)
			}
		}
		return
	case rpccp.Message_Which_call:
		c, err := m.Call()
		if err != nil {
			return
		}
		id = c.QuestionId()
		chunk = b.chunks[Method{c.InterfaceId(), c.MethodId()}]
	case rpccp.Message_Which_bootstrap:
		bs, err := m.Bootstrap()
		if err != nil {
			return
		}
		id = bs.QuestionId()
	default:
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if q, ok := b.calls[id]; ok && !q.returned {
		// A reused id; the RPC library aborts the connection.
		q.size += size
		b.held += size
		return
	}
	if q, ok := b.calls[id]; ok && !q.finished {
		q.finished = true // leaves returnOrder
		b.unfinished--
		b.release(q)
	}
	b.calls[id] = &question{size: size, chunk: chunk}
	b.pending++
	b.held += size
}

// answered records that the Return in m has been written (or dropped), so
// that its call no longer counts.
func (b *bounded) answered(m rpccp.Message) {
	if m.Which() != rpccp.Message_Which_return {
		return
	}
	ret, err := m.Return()
	if err != nil {
		return
	}
	id := ret.AnswerId()
	b.mu.Lock()
	q, ok := b.calls[id]
	if !ok || q.returned {
		b.mu.Unlock()
		return
	}
	q.returned = true
	b.pending--
	b.held -= q.size
	b.cond.Broadcast()
	if q.finished {
		delete(b.calls, id)
		b.mu.Unlock()
		return
	}
	b.unfinished++
	q.returnedAt = time.Now()
	b.returnOrder = append(b.returnOrder, q)
	err = b.unfinishedErr(q.returnedAt)
	if err == nil {
		err = b.hold(q, m)
	}
	if err != nil && b.err != nil {
		err = nil // cut already
	}
	if err == nil && b.err == nil && b.stale == nil && b.unfinished > staleUnfinished {
		// A peer that stops calling is checked too.
		b.stale = time.AfterFunc(b.staleAfter, b.checkStale)
	}
	b.mu.Unlock()
	if err != nil {
		b.fail(b.refuse(err))
	}
}

// hold counts the Return m of a chunk call q in Limits.Answers until its
// Finish, and says whether the connection now holds too much. b.mu is held.
func (b *bounded) hold(q *question, m rpccp.Message) error {
	a := b.lim.Answers
	if a == nil || !q.chunk {
		return nil
	}
	size, err := m.Message().TotalSize()
	if err != nil {
		return nil // a message the library built: not to happen
	}
	q.answer = int64(size)
	held := a.add(q.answer)
	// Twice the budget cuts the connection: with the handlers refusing
	// above the budget, only calls already running when it was passed (a
	// connection's few blob slots) add to it, so a peer getting here is
	// not one of ours, and the bound holds even for a handler that does
	// not ask the budget.
	if b.lim.MaxCalls > 0 && held > 2*a.max() {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrUnfinishedChunkBytes, held, 2*a.max())
	}
	return nil
}

// release takes a finished answer out of Limits.Answers. b.mu is held.
func (b *bounded) release(q *question) {
	if q.answer != 0 {
		b.lim.Answers.add(-q.answer)
		q.answer = 0
	}
}

// checkStale runs staleAfter after many answers were left unfinished.
func (b *bounded) checkStale() {
	b.mu.Lock()
	b.stale = nil
	if b.err != nil || b.closed {
		b.mu.Unlock()
		return
	}
	err := b.unfinishedErr(time.Now())
	if err == nil && b.unfinished > staleUnfinished {
		b.stale = time.AfterFunc(b.staleAfter, b.checkStale)
	}
	b.mu.Unlock()
	if err != nil {
		b.fail(b.refuse(err))
	}
}

// unfinishedErr says whether the peer leaves too many answers unfinished.
// b.mu is held.
func (b *bounded) unfinishedErr(now time.Time) error {
	if b.lim.MaxCalls <= 0 {
		return nil
	}
	for len(b.returnOrder) > 0 && b.returnOrder[0].finished {
		b.returnOrder[0] = nil
		b.returnOrder = b.returnOrder[1:]
	}
	max := MaxUnfinished
	if b.lim.LoggedIn != nil {
		select {
		case <-b.lim.LoggedIn:
		default:
			max = MaxUnfinishedAnonymous
		}
	}
	if b.unfinished > max {
		return fmt.Errorf("%w: more than %d", ErrUnfinishedCalls, max)
	}
	if b.unfinished > staleUnfinished && now.Sub(b.returnOrder[0].returnedAt) > b.staleAfter {
		return fmt.Errorf("%w: %d, the oldest for %s", ErrUnfinishedCalls, b.unfinished,
			now.Sub(b.returnOrder[0].returnedAt).Round(time.Millisecond))
	}
	return nil
}

// fail cuts the connection for err: a waiting or later Decode returns it.
func (b *bounded) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
	b.Close()
}

// Close implements transport.Codec: it wakes a waiting Decode and closes
// the stream, which interrupts a Decode that is reading.
func (b *bounded) Close() error {
	b.mu.Lock()
	b.closed = true
	if b.stale != nil {
		b.stale.Stop()
		b.stale = nil
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	return b.c.Close()
}

// errStreamClosed is what a Decode that was waiting returns after Close.
var errStreamClosed = errors.New("RPC stream closed")

// boundedTransport is a capnp transport over a bounded codec that tells the
// codec which calls were read and which were answered.
type boundedTransport struct {
	transport.Transport
	b *bounded
}

func newBoundedTransport(rwc io.ReadWriteCloser, lim Limits, log *slog.Logger) transport.Transport {
	b := newBounded(rwc, lim, log)
	return &boundedTransport{Transport: transport.New(b), b: b}
}

// RecvMessage implements transport.Transport.
func (t *boundedTransport) RecvMessage() (transport.IncomingMessage, error) {
	in, err := t.Transport.RecvMessage()
	if err != nil {
		return nil, err
	}
	t.b.received(in.Message(), t.b.last)
	return in, nil
}

// NewMessage implements transport.Transport.
func (t *boundedTransport) NewMessage() (transport.OutgoingMessage, error) {
	out, err := t.Transport.NewMessage()
	if err != nil {
		return nil, err
	}
	return &boundedOutgoing{OutgoingMessage: out, b: t.b}, nil
}

// boundedOutgoing counts a Return as answered once it is written, or when
// it is released unsent (the RPC library drops the answers of a call whose
// context ended).
type boundedOutgoing struct {
	transport.OutgoingMessage
	b    *bounded
	once sync.Once
}

func (o *boundedOutgoing) Send() error {
	err := o.OutgoingMessage.Send()
	o.once.Do(func() { o.b.answered(o.Message()) })
	return err
}

func (o *boundedOutgoing) Release() {
	o.once.Do(func() { o.b.answered(o.Message()) })
	o.OutgoingMessage.Release()
}
