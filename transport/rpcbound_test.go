package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
)

// callFrame returns the stream encoding of an RPC Call with question id,
// with pad bytes of parameters to make it as large as wanted.
func callFrame(t testing.TB, id uint32, pad int) []byte {
	t.Helper()
	msg, seg, err := capnp.NewMessage(capnp.MultiSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	m, err := rpccp.NewRootMessage(seg)
	if err != nil {
		t.Fatal(err)
	}
	call, err := m.NewCall()
	if err != nil {
		t.Fatal(err)
	}
	call.SetQuestionId(id)
	if pad > 0 {
		p, err := call.NewParams()
		if err != nil {
			t.Fatal(err)
		}
		d, err := capnp.NewData(seg, make([]byte, pad))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.SetContent(d.ToPtr()); err != nil {
			t.Fatal(err)
		}
	}
	b, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFrameSizeReadsTheSegmentTable(t *testing.T) {
	small := callFrame(t, 1, 0)
	big := callFrame(t, 2, 100_000)
	huge := make([]byte, 8)
	binary.LittleEndian.PutUint32(huge[4:], 8<<20) // one segment of 64 MiB
	tests := []struct {
		name     string
		in       []byte
		wantSize uint64
		wantNeed int
		wantErr  error
	}{
		{"a small call is its own length", small, uint64(len(small)), 8, nil},
		{"a call with 100 kB of parameters (two segments) is its own length", big, uint64(len(big)), 16, nil},
		{"a table announcing 64 MiB says so without the body", huge, 8 + 64<<20, 8, nil},
		{"three bytes need the segment count", []byte{0, 0, 0}, 0, 4, nil},
		{"a count of two segments needs a padded 16-byte table", []byte{1, 0, 0, 0, 1, 0, 0, 0}, 0, 16, nil},
		{"more than 512 segments is malformed", []byte{0, 2, 0, 0}, 0, 0, ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size, need, err := frameSize(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if need != tt.wantNeed || (need <= len(tt.in) && size != tt.wantSize) {
				t.Errorf("frameSize = %d, %d; want %d, %d", size, need, tt.wantSize, tt.wantNeed)
			}
		})
	}
}

func FuzzFrameSize(f *testing.F) {
	f.Add(callFrame(f, 1, 0))
	f.Add(callFrame(f, 7, 5000))
	f.Add([]byte{1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		size, need, err := frameSize(b)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if need < 4 || need%4 != 0 {
			t.Fatalf("need = %d", need)
		}
		if need <= len(b) && size < uint64(need) {
			t.Fatalf("size %d below the table's %d bytes", size, need)
		}
		// A frame the capnp decoder reads takes exactly as many bytes as
		// we say.
		if need <= len(b) {
			r := bytes.NewReader(b)
			if _, err := capnp.NewDecoder(r).Decode(); err == nil && uint64(len(b)-r.Len()) != size {
				t.Fatalf("size %d, the decoder read %d", size, len(b)-r.Len())
			}
		}
	})
}

// pipeTransport returns a bounded transport over one end of a pipe and the
// other end, whose reads are drained so that the node's writes never block.
func pipeTransport(t *testing.T, lim Limits) (*boundedTransport, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	tr := newBoundedTransport(a, lim, slog.New(slog.DiscardHandler)).(*boundedTransport)
	t.Cleanup(func() { tr.Close(); b.Close() })
	return tr, b
}

func TestAFrameOverTheBoundIsRefusedBeforeItsBodyIsRead(t *testing.T) {
	var refused error
	tr, peer := pipeTransport(t, Limits{MaxFrame: 1 << 20, OnRefused: func(err error) { refused = err }})
	hdr := make([]byte, 8)
	binary.LittleEndian.PutUint32(hdr[4:], 8<<20) // 64 MiB announced, none sent
	go peer.Write(hdr)
	done := make(chan error, 1)
	go func() {
		_, err := tr.RecvMessage()
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("RecvMessage = %v, want ErrFrameTooLarge", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RecvMessage waits for the body of a frame over the bound")
	}
	if !errors.Is(refused, ErrFrameTooLarge) {
		t.Errorf("OnRefused got %v", refused)
	}
}

func TestAFrameWithinTheBoundIsRead(t *testing.T) {
	tr, peer := pipeTransport(t, Limits{MaxFrame: 1 << 20, MaxCalls: 4})
	frame := callFrame(t, 3, 200_000)
	go peer.Write(frame)
	in, err := tr.RecvMessage()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Release()
	if in.Message().Which() != rpccp.Message_Which_call {
		t.Fatalf("got a %v message", in.Message().Which())
	}
}

// sendReturn writes a Return for question id through tr, as the RPC
// connection does when a call is answered.
func sendReturn(t *testing.T, tr *boundedTransport, id uint32) {
	t.Helper()
	out, err := tr.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	ret, err := out.Message().NewReturn()
	if err != nil {
		t.Fatal(err)
	}
	ret.SetAnswerId(id)
	if err := out.Send(); err != nil {
		t.Fatal(err)
	}
	out.Release()
}

func TestReadingStopsAtMaxCallsUntilOneIsAnswered(t *testing.T) {
	tr, peer := pipeTransport(t, Limits{MaxFrame: 1 << 20, MaxCalls: 2})
	go io.Copy(io.Discard, peer) // the node's answers
	go func() {
		for id := uint32(1); id <= 3; id++ {
			if _, err := peer.Write(callFrame(t, id, 0)); err != nil {
				return
			}
		}
	}()
	for range 2 {
		in, err := tr.RecvMessage()
		if err != nil {
			t.Fatal(err)
		}
		in.Release()
	}
	third := make(chan error, 1)
	go func() {
		in, err := tr.RecvMessage()
		if err == nil {
			in.Release()
		}
		third <- err
	}()
	select {
	case err := <-third:
		t.Fatalf("a third call was read while two were unanswered (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	sendReturn(t, tr, 1)
	select {
	case err := <-third:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the third call was not read after the first was answered")
	}
}

func TestCallsHeldAreBoundedInBytes(t *testing.T) {
	// Two calls of 600 kB do not fit a 1 MiB bound together: the second
	// waits for the first's answer although MaxCalls would allow it.
	tr, peer := pipeTransport(t, Limits{MaxFrame: 1 << 20, MaxCalls: 64})
	go io.Copy(io.Discard, peer)
	go func() {
		for id := uint32(1); id <= 2; id++ {
			if _, err := peer.Write(callFrame(t, id, 600_000)); err != nil {
				return
			}
		}
	}()
	in, err := tr.RecvMessage()
	if err != nil {
		t.Fatal(err)
	}
	in.Release()
	second := make(chan error, 1)
	go func() {
		in, err := tr.RecvMessage()
		if err == nil {
			in.Release()
		}
		second <- err
	}()
	select {
	case err := <-second:
		t.Fatalf("a second large call was read while the first was unanswered (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	sendReturn(t, tr, 1)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

func TestCloseWakesAReaderThatWaitsForAnswers(t *testing.T) {
	tr, peer := pipeTransport(t, Limits{MaxFrame: 1 << 20, MaxCalls: 1})
	go io.Copy(io.Discard, peer)
	go func() {
		for id := uint32(1); id <= 2; id++ {
			if _, err := peer.Write(callFrame(t, id, 0)); err != nil {
				return
			}
		}
	}()
	in, err := tr.RecvMessage()
	if err != nil {
		t.Fatal(err)
	}
	in.Release()
	done := make(chan error, 1)
	go func() {
		_, err := tr.RecvMessage()
		done <- err
	}()
	tr.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("RecvMessage succeeded on a closed transport")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not wake RecvMessage")
	}
}

func TestFrameBoundFollowsMaxPayload(t *testing.T) {
	if got, want := FrameBound(64<<10), MinFramePayload+FrameOverhead; got != want {
		t.Errorf("FrameBound(64 KiB) = %d, want %d", got, want)
	}
	if got, want := FrameBound(4<<20), 16<<20+FrameOverhead; got != want {
		t.Errorf("FrameBound(4 MiB) = %d, want %d", got, want)
	}
}

func finishFrame(t testing.TB, id uint32) []byte {
	t.Helper()
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	m, err := rpccp.NewRootMessage(seg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.NewFinish()
	if err != nil {
		t.Fatal(err)
	}
	f.SetQuestionId(id)
	b, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveCalls reads n calls (and the Finish after each, when finish is
// set) from tr and answers each call; it returns the first error.
func serveCalls(t *testing.T, tr *boundedTransport, peer net.Conn, n int, finish bool) error {
	go func() {
		for id := uint32(1); id <= uint32(n); id++ {
			if _, err := peer.Write(callFrame(t, id, 0)); err != nil {
				return
			}
			if finish {
				if _, err := peer.Write(finishFrame(t, id)); err != nil {
					return
				}
			}
		}
	}()
	for {
		in, err := tr.RecvMessage()
		if err != nil {
			return err
		}
		m := in.Message()
		if m.Which() == rpccp.Message_Which_call {
			c, _ := m.Call()
			sendReturn(t, tr, c.QuestionId())
			if c.QuestionId() == uint32(n) && !finish {
				in.Release()
				// The last Return is written: was the connection cut?
				tr.b.mu.Lock()
				defer tr.b.mu.Unlock()
				return tr.b.err
			}
		}
		if m.Which() == rpccp.Message_Which_finish {
			if f, _ := m.Finish(); f.QuestionId() == uint32(n) {
				in.Release()
				return nil
			}
		}
		in.Release()
	}
}

func TestAPeerThatNeverFinishesItsCallsIsCut(t *testing.T) {
	tests := []struct {
		name  string
		stale time.Duration
		calls int
	}{
		{"more than MaxUnfinished answers cut at once", time.Hour, MaxUnfinished + 1},
		{"more than MaxUnfinishedAnonymous answers before a login cut at once", time.Hour, MaxUnfinishedAnonymous + 1},
		{"more than 256 answers of which the oldest is stale cut", 0, staleUnfinished + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var refused error
			lim := Limits{MaxFrame: 1 << 20, MaxCalls: 2, OnRefused: func(err error) { refused = err }}
			if tt.calls == MaxUnfinishedAnonymous+1 {
				lim.LoggedIn = make(chan struct{}) // never
			}
			tr, peer := pipeTransport(t, lim)
			tr.b.staleAfter = tt.stale
			go io.Copy(io.Discard, peer)
			err := serveCalls(t, tr, peer, tt.calls, false)
			if !errors.Is(err, ErrUnfinishedCalls) {
				t.Fatalf("after %d unfinished answers: %v, want ErrUnfinishedCalls", tt.calls, err)
			}
			if !errors.Is(refused, ErrUnfinishedCalls) {
				t.Errorf("OnRefused got %v", refused)
			}
		})
	}
}

func TestAPeerThatStopsCallingWithAnswersUnfinishedIsCut(t *testing.T) {
	var mu sync.Mutex
	var refused error
	tr, peer := pipeTransport(t, Limits{MaxFrame: 1 << 20, MaxCalls: 2,
		OnRefused: func(err error) { mu.Lock(); refused = err; mu.Unlock() }})
	tr.b.staleAfter = 50 * time.Millisecond
	go io.Copy(io.Discard, peer)
	if err := serveCalls(t, tr, peer, staleUnfinished+1, false); err != nil {
		t.Fatalf("%d fresh unfinished answers: %v", staleUnfinished+1, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		err := refused
		mu.Unlock()
		if errors.Is(err, ErrUnfinishedCalls) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not cut after the peer stopped with stale answers unfinished (%v)", err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

func TestAnswersFinishedLateButInTimeAreNotCut(t *testing.T) {
	// 1,000 answers unfinished at once, none stale: a busy client whose
	// Finishes come a quarter second late.
	tr, peer := pipeTransport(t, Limits{MaxFrame: 1 << 20, MaxCalls: 2})
	go io.Copy(io.Discard, peer)
	if err := serveCalls(t, tr, peer, 1000, false); err != nil {
		t.Fatalf("1000 fresh unfinished answers: %v", err)
	}
}

func TestAPeerThatFinishesItsCallsMakesAnyNumber(t *testing.T) {
	tr, peer := pipeTransport(t, Limits{MaxFrame: 1 << 20, MaxCalls: 2})
	go io.Copy(io.Discard, peer)
	if err := serveCalls(t, tr, peer, 100, true); err != nil {
		t.Fatalf("100 calls, each finished: %v", err)
	}
	tr.b.mu.Lock()
	defer tr.b.mu.Unlock()
	if len(tr.b.calls) != 0 || tr.b.pending != 0 || tr.b.unfinished != 0 || tr.b.held != 0 {
		t.Errorf("after every call was finished: %d tracked, %d pending, %d unfinished, %d bytes held",
			len(tr.b.calls), tr.b.pending, tr.b.unfinished, tr.b.held)
	}
}

// readOnly is a stream that reads from a fixed input.
type readOnly struct{ io.Reader }

func (readOnly) Write(p []byte) (int, error) { return len(p), nil }
func (readOnly) Close() error                { return nil }

func FuzzBoundedDecode(f *testing.F) {
	f.Add(callFrame(f, 1, 0))
	f.Add(append(callFrame(f, 1, 100), finishFrame(f, 1)...))
	f.Add(callFrame(f, 2, 70_000)) // over the fuzz bound
	f.Fuzz(func(t *testing.T, in []byte) {
		b := newBounded(readOnly{bytes.NewReader(in)}, Limits{MaxFrame: 64 << 10, MaxCalls: 4}, nil)
		for range 16 {
			m, err := b.Decode()
			if err != nil {
				return
			}
			if size, _ := m.TotalSize(); size > 64<<10 {
				t.Fatalf("decoded a %d-byte message over the 64 KiB bound", size)
			}
			m.Release()
		}
	})
}

// chunkCallFrame is a blobGet Call (a FinishEarly method) with question id.
func chunkCallFrame(t testing.TB, id uint32) []byte {
	t.Helper()
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	m, err := rpccp.NewRootMessage(seg)
	if err != nil {
		t.Fatal(err)
	}
	call, err := m.NewCall()
	if err != nil {
		t.Fatal(err)
	}
	call.SetQuestionId(id)
	call.SetInterfaceId(FinishEarly[2].InterfaceID)
	call.SetMethodId(FinishEarly[2].MethodID)
	b, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendChunkReturn writes a Return for question id carrying n bytes.
func sendChunkReturn(t *testing.T, tr *boundedTransport, id uint32, n int) {
	t.Helper()
	out, err := tr.NewMessage()
	if err != nil {
		t.Fatal(err)
	}
	ret, err := out.Message().NewReturn()
	if err != nil {
		t.Fatal(err)
	}
	ret.SetAnswerId(id)
	res, err := ret.NewResults()
	if err != nil {
		t.Fatal(err)
	}
	d, err := capnp.NewData(ret.Segment(), make([]byte, n))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.SetContent(d.ToPtr()); err != nil {
		t.Fatal(err)
	}
	out.Send() // the peer may be cut; the bookkeeping is what is tested
	out.Release()
}

func TestChunkAnswersAreCountedUntilFinishedAndAPeerHoldingTwiceTheBudgetIsCut(t *testing.T) {
	const chunk = 128 << 10
	var refused error
	budget := &AnswerBudget{limit: 4 * chunk}
	tr, peer := pipeTransport(t, Limits{MaxFrame: 1 << 20, MaxCalls: 4, Answers: budget,
		OnRefused: func(err error) { refused = err }})
	go io.Copy(io.Discard, peer)
	recv := func(frame []byte) {
		t.Helper()
		go peer.Write(frame)
		in, err := tr.RecvMessage()
		if err != nil {
			t.Fatal(err)
		}
		in.Release()
	}
	// An ordinary call's answer is not counted.
	recv(callFrame(t, 1, 0))
	sendChunkReturn(t, tr, 1, chunk)
	if budget.Held() != 0 {
		t.Fatalf("an answer to another method counted: %d bytes", budget.Held())
	}
	// Four chunk answers fill the budget; a Finish takes one out.
	for id := uint32(2); id <= 5; id++ {
		recv(chunkCallFrame(t, id))
		sendChunkReturn(t, tr, id, chunk)
	}
	if h := budget.Held(); h < 4*chunk || h > 4*chunk+4096 || !budget.Over() {
		t.Fatalf("four chunk answers unfinished: held %d, over %v", h, budget.Over())
	}
	recv(finishFrame(t, 2))
	if budget.Over() || budget.Held() >= 4*chunk {
		t.Fatalf("after a Finish: held %d, over %v", budget.Held(), budget.Over())
	}
	// Past twice the budget the peer is cut.
	for id := uint32(6); id <= 10; id++ {
		recv(chunkCallFrame(t, id))
		sendChunkReturn(t, tr, id, chunk)
	}
	if !errors.Is(refused, ErrUnfinishedChunkBytes) {
		t.Fatalf("at %d bytes held (budget %d): cut with %v, want ErrUnfinishedChunkBytes", budget.Held(), budget.limit, refused)
	}
	if _, err := tr.RecvMessage(); !errors.Is(err, ErrUnfinishedChunkBytes) {
		t.Fatalf("the next read: %v, want ErrUnfinishedChunkBytes", err)
	}
}
