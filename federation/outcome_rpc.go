package federation

import (
	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/schemas"
)

// outcomeToWire is the wire form of what this node did with a forwarded
// envelope. An outcome the wire has no word for (none today) goes as
// refused: the sender keeps the envelope and tries again, which loses
// nothing.
func outcomeToWire(o forward.Outcome) schemas.ForwardOutcome {
	switch o {
	case forward.Delivered:
		return schemas.ForwardOutcome_delivered
	case forward.Accepted:
		return schemas.ForwardOutcome_accepted
	case forward.Duplicate:
		return schemas.ForwardOutcome_duplicate
	case forward.Looped:
		return schemas.ForwardOutcome_looped
	case forward.Rejected:
		return schemas.ForwardOutcome_rejected
	}
	return schemas.ForwardOutcome_refused
}

// outcomeFromWire is what the next hop said it did with an envelope. An
// outcome this build does not know, from a newer node, reads as refused:
// the envelope is kept and sent again, never dropped on a word not
// understood.
func outcomeFromWire(o schemas.ForwardOutcome) forward.Outcome {
	switch o {
	case schemas.ForwardOutcome_delivered:
		return forward.Delivered
	case schemas.ForwardOutcome_accepted:
		return forward.Accepted
	case schemas.ForwardOutcome_duplicate:
		return forward.Duplicate
	case schemas.ForwardOutcome_looped:
		return forward.Looped
	case schemas.ForwardOutcome_rejected:
		return forward.Rejected
	}
	return forward.Refused
}
