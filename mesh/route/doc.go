// Package route decides which federation neighbour a message for
// user@domain goes to when the node serving domain is not linked to this
// one (DESIGN §7, routing). It is a distance-vector table in the manner of
// RIP (RFC 2453), kept in memory, driven by the caller: the federation
// layer reports links going up and down and hands over the advert lists
// its peers send; the forwarding engine asks for routes. Nothing here does
// I/O or reads a clock.
//
// # Rules
//
// A node is named by its mail domain, in lowercase. It tells each
// neighbour which domains it reaches and in how many hops, itself at 0
// (Table.Advertise), and learns the same from them (Table.Learn):
//
//   - A link up gives a 1-hop route to the neighbour, which does not
//     expire while the link lasts. Link loss withdraws it, and with it
//     every route learned through that neighbour.
//   - An advert list is complete: it replaces the neighbour's previous
//     one, and a domain it no longer lists loses its route through that
//     neighbour. A learned route has one hop more than advertised and
//     lapses RouteTTL after the last list that carried it.
//   - Entries of Infinity-1 hops or more are unreachable here and
//     skipped, as are entries for this node itself and for the sender
//     (its link covers it). A list from a neighbour without a link, or a
//     malformed one, or one longer than MaxRoutes, changes nothing.
//   - The table keeps each neighbour's latest offer for every domain, not
//     only the best, so that when the best goes the next one takes over
//     without waiting for an advert.
//   - The best route has the fewest hops; ties go to the lexically
//     smallest next hop, so the choice does not depend on the order in
//     which adverts arrived.
//   - Split horizon: a node does not advertise a route to the neighbour
//     it goes through. This is plain split horizon, not poisoned reverse:
//     since lists are complete, leaving a route out already withdraws it.
//
// # Convergence
//
// After a change, adverts settle on shortest paths: the routes, followed
// hop by hop, reach their destination without a loop. Split horizon stops
// two neighbours from bouncing a dead route between themselves, and when
// a destination stays reachable the stored alternatives make the hop
// counts settle quickly: when a link of a ring fails, routes move to the
// other side within a few adverts and never count beyond the ring's
// length.
//
// What split horizon cannot stop is counting to infinity around a loop of
// three or more nodes when a destination becomes unreachable altogether
// (a partition): nodes on the loop may each believe the next one still
// reaches it, and their hop counts climb by one per exchange until they
// reach Infinity and the route goes. That is why Infinity is small;
// while it lasts, messages for that domain may circle the loop, which the
// envelopes' hop limit and the forwarders' seen-set must cut short.
// Preventing it needs sequence numbers from the destination (as in DSDV
// or Babel), which the advert format does not carry.
//
// # Bounds
//
// An advert list of more than MaxRoutes entries is refused, and the table
// takes in at most MaxRoutes destinations from adverts (ErrTableFull says
// when a list's new domains did not all fit; the nearest are kept).
// Advertise never returns more than MaxRoutes entries, so peers with the
// same limit never refuse each other's lists.
//
// # Time
//
// Every method takes now. Readers (Next, Advertise, Routes) ignore routes
// lapsed at now; Expire removes them and fires Changed, so the owner calls
// it when NextExpiry says. Changed fires whenever the best route of any
// domain changes, which is when a waiting forwarder may have a route and
// when an advert sender should send triggered updates.
package route
