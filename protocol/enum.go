package protocol

// Pair is one value of an enum and the value that stands for it in
// another: on the wire, on disk.
type Pair[A, B comparable] struct {
	A A
	B B
}

// Pairs maps one enum to another both ways from one list, so that the
// two directions cannot disagree; enums cross layers through it, never by
// a numeric cast.
type Pairs[A, B comparable] []Pair[A, B]

// To returns what a stands for, false when the list has no a.
func (p Pairs[A, B]) To(a A) (B, bool) {
	for _, e := range p {
		if e.A == a {
			return e.B, true
		}
	}
	var zero B
	return zero, false
}

// From returns the value b stands for, false when the list has no b.
func (p Pairs[A, B]) From(b B) (A, bool) {
	for _, e := range p {
		if e.B == b {
			return e.A, true
		}
	}
	var zero A
	return zero, false
}
