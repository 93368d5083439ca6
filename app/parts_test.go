package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// partLog records the order in which test parts returned.
type partLog struct {
	mu    sync.Mutex
	order []string
}

func (l *partLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.order = append(l.order, name)
}

func (l *partLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.order...)
}

// untilStopped is a part that runs until its context ends, then records
// that it returned.
func untilStopped(l *partLog, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		l.add(name)
		return nil
	}
}

// waitDone fails the test unless p's Done closes within 10 s.
func waitDone(t *testing.T, p *parts) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done did not close")
	}
}

func TestThePartsStopInTheOrderShutdownAsksAfterTheParentEnds(t *testing.T) {
	checkLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	p := newParts(ctx, testLogger(t))
	var l partLog
	for _, name := range []string{"a", "b", "c", "d"} {
		p.Go(name, untilStopped(&l, name))
	}
	cancel()
	waitDone(t, p)
	// The parent's end starts the shutdown but stops nothing by itself.
	if got := l.get(); len(got) != 0 {
		t.Fatalf("parts %v returned before Stop", got)
	}
	p.Stop("d")
	p.Stop("b")
	if got := l.get(); strings.Join(got, ",") != "d,b" {
		t.Fatalf("returned %v, want d then b", got)
	}
	p.Stop("never started", "c")
	if err := p.Wait(); err != nil { // stops a, which nobody named
		t.Fatalf("Wait = %v after a clean stop", err)
	}
	if got := l.get(); strings.Join(got, ",") != "d,b,c,a" {
		t.Errorf("returned %v, want d, b, c, a", got)
	}
}

func TestAFailingPartEndsTheNodeWithItsErrorAndName(t *testing.T) {
	checkLeaks(t)
	var buf bytes.Buffer
	var bufMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&buf, &bufMu}, nil))
	p := newParts(context.Background(), log)
	var l partLog
	p.Go("a", untilStopped(&l, "a"))
	boom := errors.New("listener gone")
	p.Go("b", func(context.Context) error { return boom })
	waitDone(t, p)
	if got := l.get(); len(got) != 0 {
		t.Fatalf("a failure stopped %v without Stop", got)
	}
	p.Stop("a")
	err := p.Wait()
	var pe *PartError
	if !errors.As(err, &pe) || pe.Part != "b" || !errors.Is(err, boom) {
		t.Fatalf("Wait = %v, want a PartError of b wrapping %v", err, boom)
	}
	if err.Error() != "b stopped: listener gone" {
		t.Errorf("error text = %q", err.Error())
	}
	bufMu.Lock()
	logged := buf.String()
	bufMu.Unlock()
	if !strings.Contains(logged, "level=ERROR") || !strings.Contains(logged, "part=b") || !strings.Contains(logged, "listener gone") {
		t.Errorf("the failure was not logged with its part: %q", logged)
	}
}

func TestAPartFailingWhileItStopsDoesNotHideTheFirstFailure(t *testing.T) {
	checkLeaks(t)
	p := newParts(context.Background(), testLogger(t))
	first, second := errors.New("first"), errors.New("second")
	p.Go("stops badly", func(ctx context.Context) error {
		<-ctx.Done()
		return second
	})
	p.Go("fails", func(context.Context) error { return first })
	waitDone(t, p)
	p.Stop("stops badly")
	if err := p.Wait(); !errors.Is(err, first) || errors.Is(err, second) {
		t.Errorf("Wait = %v, want the first failure alone", err)
	}
}

func TestAPartThatReturnsBeforeItIsStoppedEndsTheNode(t *testing.T) {
	checkLeaks(t)
	p := newParts(context.Background(), testLogger(t))
	p.Go("quitter", func(context.Context) error { return nil })
	waitDone(t, p)
	err := p.Wait()
	var pe *PartError
	if !errors.Is(err, ErrPartEnded) || !errors.As(err, &pe) || pe.Part != "quitter" {
		t.Errorf("Wait = %v, want a PartError of quitter wrapping ErrPartEnded", err)
	}
}

type ctxKey struct{}

func TestAPartSeesTheParentsValues(t *testing.T) {
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	p := newParts(ctx, testLogger(t))
	got := make(chan any, 1)
	p.Go("a", func(ctx context.Context) error {
		got <- ctx.Value(ctxKey{})
		<-ctx.Done()
		return nil
	})
	if v := <-got; v != "v" {
		t.Errorf("the part's context holds %v, want the parent's value", v)
	}
	cancel()
	if err := p.Wait(); err != nil {
		t.Error(err)
	}
}

// lockedWriter serialises writes to a buffer read by the test.
type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
