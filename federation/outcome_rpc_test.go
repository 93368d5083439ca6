package federation

import (
	"testing"

	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/schemas"
)

func TestForwardOutcomesCrossTheWireByName(t *testing.T) {
	pairs := []struct {
		o forward.Outcome
		w schemas.ForwardOutcome
	}{
		{forward.Delivered, schemas.ForwardOutcome_delivered},
		{forward.Accepted, schemas.ForwardOutcome_accepted},
		{forward.Duplicate, schemas.ForwardOutcome_duplicate},
		{forward.Looped, schemas.ForwardOutcome_looped},
		{forward.Rejected, schemas.ForwardOutcome_rejected},
		{forward.Refused, schemas.ForwardOutcome_refused},
	}
	for _, p := range pairs {
		if got := outcomeToWire(p.o); got != p.w {
			t.Errorf("outcomeToWire(%v) = %v, want %v", p.o, got, p.w)
		}
		if got := outcomeFromWire(p.w); got != p.o {
			t.Errorf("outcomeFromWire(%v) = %v, want %v", p.w, got, p.o)
		}
		if p.o.String() != p.w.String() {
			t.Errorf("outcome %q is %q on the wire: the names differ", p.o, p.w)
		}
	}
	// A newer node's outcome keeps the envelope here.
	if got := outcomeFromWire(schemas.ForwardOutcome_refused + 1); got != forward.Refused {
		t.Errorf("an unknown wire outcome reads as %v, want refused", got)
	}
}
