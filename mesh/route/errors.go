package route

import "errors"

// ErrNoLink means an advert list came from a neighbour this node has no
// federation link to (never linked, or the link went down). Routes through
// a node we cannot send to would be black holes, so the list is refused
// and the table is left as it was.
var ErrNoLink = errors.New("advert from a neighbour without a link")

// ErrMalformed means an advert list breaks the protocol: it is empty, names
// a domain that is not a lowercase DNS name, lists a domain twice, or uses
// hop count 0 for any domain but the sender's own (or another count for
// the sender's own). The list is refused and the table is left as it was,
// so a broken peer cannot withdraw good routes by accident.
var ErrMalformed = errors.New("malformed advert list")

// ErrTooManyAdverts means an advert list has more than Options.MaxRoutes
// entries, which an honest node never sends (Table.Advertise caps its
// output there). The list is refused and the table is left as it was.
var ErrTooManyAdverts = errors.New("advert list longer than the route limit")

// ErrTableFull means the table already holds Options.MaxRoutes
// destinations, so some domains that a neighbour advertised for the first
// time were not taken in. Unlike the other errors, the rest of that
// advert list was applied: withdrawals and updates of known domains take
// effect, and the new domains with the fewest hops were kept.
var ErrTableFull = errors.New("routing table full")
