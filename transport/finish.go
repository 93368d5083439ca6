package transport

import (
	"sync"

	"capnproto.org/go/capnp/v3/rpc/transport"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
)

// Method names one method of a Cap'n Proto interface on the wire.
type Method struct {
	// InterfaceID is the interface's type id.
	InterfaceID uint64
	// MethodID is the method's ordinal in the interface.
	MethodID uint16
}

// FinishEarly are the methods whose answers this side finishes as soon as
// they arrive: the file chunks (NodeService.blobPut/blobGet/blobStat/
// blobCreate and FederationService.blobGet/blobStat, ids from
// schemas/*.capnp).
//
// Why: the callee keeps an answer, and a blobGet answer holds its chunk,
// until the caller's Finish. capnp-go sends Finish 250 ms after the Return
// arrives (so that pipelined calls on the answer go out first), so a node
// serving chunks at 100 MB/s held 25 MB of answers. The results of these
// methods carry no capability, so no call can be pipelined on them and
// finishing at once changes nothing else. The library's own, later Finish
// for such a question is dropped (the question id is not reused before it).
var FinishEarly = []Method{
	{0xb7f1c0e5a2d3c4f1, 31}, {0xb7f1c0e5a2d3c4f1, 32}, {0xb7f1c0e5a2d3c4f1, 33}, {0xb7f1c0e5a2d3c4f1, 34},
	{0xa4c6f1e2b3d59871, 13}, {0xa4c6f1e2b3d59871, 14},
}

// earlyFinisher is a capnp transport that sends the Finish for the
// answers to some methods as soon as their Return is read.
//
// The receiving goroutine only queues the Finish: were it to write, a peer
// that reads no more calls until its answers are read (flow control) and
// this write could wait for each other. The queue is written by a
// goroutine started for it, and before any message of the library's, so
// a call made after an answer was read goes out after that answer's
// Finish.
type earlyFinisher struct {
	transport.Transport
	early map[Method]bool

	// sendMu serialises writes, and is held while the queue is written.
	sendMu sync.Mutex

	mu sync.Mutex
	// asked are the questions of early methods awaiting their Return.
	asked map[uint32]bool
	// queue are the questions whose Finish is to be written early.
	queue []uint32
	// done are the questions finished early (queued or written) whose
	// Finish from the library is still to come, to be dropped.
	done map[uint32]bool
}

func newEarlyFinisher(t transport.Transport, methods []Method) *earlyFinisher {
	e := &earlyFinisher{Transport: t, early: map[Method]bool{}, asked: map[uint32]bool{}, done: map[uint32]bool{}}
	for _, m := range methods {
		e.early[m] = true
	}
	return e
}

// NewMessage implements transport.Transport.
func (e *earlyFinisher) NewMessage() (transport.OutgoingMessage, error) {
	out, err := e.Transport.NewMessage()
	if err != nil {
		return nil, err
	}
	return &earlyOutgoing{OutgoingMessage: out, e: e}, nil
}

// RecvMessage implements transport.Transport: a Return to an early method
// gets its Finish queued before the library sees it.
func (e *earlyFinisher) RecvMessage() (transport.IncomingMessage, error) {
	in, err := e.Transport.RecvMessage()
	if err != nil || in.Message().Which() != rpccp.Message_Which_return {
		return in, err
	}
	ret, rerr := in.Message().Return()
	if rerr != nil {
		return in, nil // the library reports it
	}
	id := ret.AnswerId()
	e.mu.Lock()
	finish := e.asked[id]
	if finish {
		delete(e.asked, id)
		e.done[id] = true
		e.queue = append(e.queue, id)
	}
	e.mu.Unlock()
	if finish {
		go func() {
			e.sendMu.Lock()
			defer e.sendMu.Unlock()
			e.writeQueued()
		}()
	}
	return in, nil
}

// writeQueued writes the queued Finishes; e.sendMu is held. A failure to
// write means the stream is gone; the library finds out on its own next
// write or read.
func (e *earlyFinisher) writeQueued() {
	e.mu.Lock()
	q := e.queue
	e.queue = nil
	e.mu.Unlock()
	for _, id := range q {
		_ = e.sendFinish(id)
	}
}

func (e *earlyFinisher) sendFinish(id uint32) error {
	out, err := e.Transport.NewMessage()
	if err != nil {
		return err
	}
	defer out.Release()
	fin, err := out.Message().NewFinish()
	if err != nil {
		return err
	}
	fin.SetQuestionId(id)
	fin.SetReleaseResultCaps(false) // the results hold no capability
	return out.Send()
}

// earlyOutgoing notes the calls of early methods and drops the library's
// Finish for a question already finished.
type earlyOutgoing struct {
	transport.OutgoingMessage
	e *earlyFinisher
}

func (o *earlyOutgoing) Send() error {
	o.e.sendMu.Lock()
	defer o.e.sendMu.Unlock()
	o.e.writeQueued()
	m := o.Message()
	switch m.Which() {
	case rpccp.Message_Which_call:
		if c, err := m.Call(); err == nil && o.e.early[Method{c.InterfaceId(), c.MethodId()}] {
			// Noted before the call is written, so before its Return can
			// be read.
			o.e.mu.Lock()
			o.e.asked[c.QuestionId()] = true
			o.e.mu.Unlock()
		}
	case rpccp.Message_Which_finish:
		if f, err := m.Finish(); err == nil {
			id := f.QuestionId()
			o.e.mu.Lock()
			dropped := o.e.done[id]
			delete(o.e.done, id)
			delete(o.e.asked, id) // a call cancelled before its Return
			o.e.mu.Unlock()
			if dropped {
				// Its early Finish was written above, if not before: the
				// library may now reuse the id.
				return nil
			}
		}
	}
	return o.OutgoingMessage.Send()
}
