package msgstream

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/quicprochat/qpc/protocol"
)

// slowSink records each write and blocks the first until released, so
// that frames handed over meanwhile must wait for the next write.
type slowSink struct {
	mu      sync.Mutex
	writes  [][]byte
	release chan struct{}
	entered chan struct{}
	fail    error
}

func (s *slowSink) Write(b []byte) (int, error) {
	s.mu.Lock()
	first := len(s.writes) == 0
	s.writes = append(s.writes, bytes.Clone(b))
	s.mu.Unlock()
	if first {
		close(s.entered)
		<-s.release
	}
	return len(b), s.fail
}

func TestFramesHandedOverDuringAWriteGoOutTogetherWholeAndInOrder(t *testing.T) {
	sink := &slowSink{release: make(chan struct{}), entered: make(chan struct{})}
	w := NewWriter(sink)
	frame := func(req uint64) []byte {
		return AppendEnqueue(nil, Enqueue{Req: req, Msg: protocol.Outgoing{Recipient: "bob", Payload: []byte{byte(req)}}})
	}
	first := make(chan error, 1)
	go func() { first <- w.Write(frame(1)) }()
	<-sink.entered
	// The first write is under way: these wait for the next one, and
	// return at once.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				if err := w.Write(frame(uint64(100*(g+1) + i))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	close(sink.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if len(sink.writes) != 2 {
		t.Fatalf("%d writes, want 2: the first frame, then the 40 handed over meanwhile", len(sink.writes))
	}
	r := NewReader(bytes.NewReader(bytes.Join(sink.writes, nil)), 1<<10)
	last := map[uint64]uint64{}
	for n := 0; n < 41; n++ {
		typ, body, err := r.Next()
		if err != nil || typ != TypeEnqueue {
			t.Fatalf("frame %d: 0x%02x, %v", n, typ, err)
		}
		e, err := DecodeEnqueue(body)
		if err != nil {
			t.Fatal(err)
		}
		g := e.Req / 100
		if e.Req <= last[g] && g > 0 {
			t.Errorf("request %d after %d: a caller's frames out of order", e.Req, last[g])
		}
		last[g] = e.Req
	}
}

func TestAFailedWriteFailsEveryLaterOne(t *testing.T) {
	boom := errors.New("stream reset")
	sink := &slowSink{release: make(chan struct{}), entered: make(chan struct{}), fail: boom}
	close(sink.release)
	w := NewWriter(sink)
	if err := w.Write(AppendCredit(nil, 1)); !errors.Is(err, boom) {
		t.Fatalf("first write: %v", err)
	}
	if err := w.Write(AppendCredit(nil, 1)); !errors.Is(err, boom) {
		t.Fatalf("later write: %v", err)
	}
	if len(sink.writes) != 1 {
		t.Errorf("%d writes reached the stream after it failed", len(sink.writes)-1)
	}
}
