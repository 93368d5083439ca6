package federation

import (
	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// outcomes is what each outcome of a forwarded envelope is called on the
// wire.
var outcomes = protocol.Pairs[forward.Outcome, schemas.ForwardOutcome]{
	{A: forward.Delivered, B: schemas.ForwardOutcome_delivered},
	{A: forward.Accepted, B: schemas.ForwardOutcome_accepted},
	{A: forward.Duplicate, B: schemas.ForwardOutcome_duplicate},
	{A: forward.Looped, B: schemas.ForwardOutcome_looped},
	{A: forward.Rejected, B: schemas.ForwardOutcome_rejected},
	{A: forward.Refused, B: schemas.ForwardOutcome_refused},
}

// outcomeToWire is the wire form of what this node did with a forwarded
// envelope. An outcome the wire has no word for (none today) goes as
// refused: the sender keeps the envelope and tries again, which loses
// nothing.
func outcomeToWire(o forward.Outcome) schemas.ForwardOutcome {
	if w, ok := outcomes.To(o); ok {
		return w
	}
	return schemas.ForwardOutcome_refused
}

// outcomeFromWire is what the next hop said it did with an envelope. An
// outcome this build does not know, from a newer node, reads as refused:
// the envelope is kept and sent again, never dropped on a word not
// understood.
func outcomeFromWire(o schemas.ForwardOutcome) forward.Outcome {
	if out, ok := outcomes.From(o); ok {
		return out
	}
	return forward.Refused
}
