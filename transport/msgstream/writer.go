package msgstream

import (
	"io"
	"runtime"
	"sync"
)

// Writer writes frames to a stream from many goroutines. Frames handed to
// it while a write is under way go out together in the next write: each
// write to a QUIC stream wakes the connection's send loop, which may send
// a datagram for each, so that concurrent senders' ENQUEUEs, or a batch's
// receipts and a push, share datagrams instead. What it holds is bounded
// by the stream's windows (frames in flight), not by the writer.
type Writer struct {
	w     io.Writer
	yield bool

	mu    sync.Mutex
	buf   []byte // frames waiting for the next write
	spare []byte // the last write's buffer, for reuse
	busy  bool   // a caller is writing
	err   error  // the first write error: every later call returns it
}

// NewWriter returns a Writer of frames to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// NewGatheringWriter is NewWriter whose writes first let the goroutines
// that are ready to run hand their frames over: a client's senders, woken
// together by one batch of receipts, then send their next messages in one
// write instead of one each. A lone frame waits no longer than a yield
// of the processor.
func NewGatheringWriter(w io.Writer) *Writer { return &Writer{w: w, yield: true} }

// maxSpare is the largest buffer kept for reuse.
const maxSpare = 256 << 10

// Write sends frame, whole: at once if no write is under way (and then
// what others handed over meanwhile too), else with the next write, which
// the caller under way makes before it returns. A nil error for a frame
// handed over means it was queued; a write that fails later makes every
// later call fail.
func (w *Writer) Write(frame []byte) error {
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	w.buf = append(w.buf, frame...)
	if w.busy {
		w.mu.Unlock()
		return nil
	}
	w.busy = true
	if w.yield {
		w.mu.Unlock()
		runtime.Gosched()
		w.mu.Lock()
	}
	for len(w.buf) > 0 && w.err == nil {
		out := w.buf
		w.buf = w.spare[:0]
		w.mu.Unlock()
		_, err := w.w.Write(out)
		w.mu.Lock()
		if cap(out) <= maxSpare {
			w.spare = out[:0]
		} else {
			w.spare = nil
		}
		if err != nil {
			w.err = err
			w.buf = nil
		}
	}
	w.busy = false
	err := w.err
	w.mu.Unlock()
	return err
}
