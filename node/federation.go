package node

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// Federation reaches the users of other nodes of the community. Package
// federation implements it over mutual-TLS links; a Service without one
// serves its own domain only.
type Federation interface {
	// Relay hands msgs, every one for a user of domain, to the node that
	// serves domain and returns that node's receipts in order, once it
	// holds the stored ones. It fails with ErrUnknownDomain when no peer
	// serves domain and ErrPeerUnreachable when the peer is known but not
	// linked now; both wrap ErrNoLink then, as nothing was sent.
	Relay(ctx context.Context, domain string, msgs []protocol.Outgoing) ([]protocol.Receipt, error)
	// ResolveUser returns the published keys of addr, "user@domain" of
	// another node, with the answer of that node, which it has checked
	// (ErrForgedKeys if it does not check out), and that node's key
	// transparency proof, consistent from knownSize.
	ResolveUser(ctx context.Context, addr string, knownSize uint64) (protocol.PublishedKeys, error)
	// FetchKeyPackage takes one key package of MLS cipher suite suite of
	// addr, "user@domain" of another node.
	FetchKeyPackage(ctx context.Context, addr string, suite uint16) (pkg []byte, lastResort bool, err error)
	// OrderCommit passes a commit claim, proof and all, to the group's
	// home, the node that serves domain home (see CommitOrder).
	OrderCommit(ctx context.Context, home string, c protocol.CommitClaim) (protocol.CommitOrder, error)
	// Links reports the state of each federation link.
	Links() []protocol.Link
	// CommunityCA returns the community CA certificates (DER) that key
	// answers and peers are checked against.
	CommunityCA() [][]byte
}

// address is a parsed recipient or lookup address.
type address struct {
	user   string // the local part, lowercase
	device string // a device id ("user#device"), lowercase; "" for none
	domain string // lowercase; "" for a bare name
	local  bool   // a user of this node
}

// String returns "user@domain", or the bare user name, with "#device"
// after the user when a is a device's.
func (a address) String() string {
	u := protocol.QueueName(a.user, a.device)
	if a.domain == "" {
		return u
	}
	return u + "@" + a.domain
}

// queue is the name of a's mailbox queue on its home node (see
// Mailboxes): "user", or "user#device" for a device's.
func (a address) queue() string { return protocol.QueueName(a.user, a.device) }

// parseAddress reads "user" or "user@domain" (protocol.ParseAddress), each
// with an optional "#device" after the user (protocol.ParseRecipient). A
// bare name and this node's domain are local; another domain is remote,
// and unknown without federation.
func (s *Service) parseAddress(addr string) (address, error) {
	if !strings.Contains(addr, "@") {
		user, device, err := protocol.ParseQueue(addr)
		return address{user: user, device: device, local: true}, err
	}
	pa, err := protocol.ParseRecipient(addr, "")
	if err != nil {
		return address{}, err
	}
	a := address{user: pa.User, device: pa.Device, domain: pa.Domain}
	a.local, err = s.parseDomain(pa.Domain)
	return a, err
}

// parseDomain reports whether domain is this node's. Another domain must
// be valid (protocol.ParseDomain), and is unknown without federation.
func (s *Service) parseDomain(domain string) (local bool, err error) {
	if strings.EqualFold(domain, s.id.Domain) {
		return true, nil
	}
	if _, err := protocol.ParseDomain(domain); err != nil {
		return false, err
	}
	if s.fed == nil {
		return false, protocol.ErrUnknownDomain
	}
	return false, nil
}

// Peer is one federation peer's view of the service: the peer, named by
// its certificate, delivers to and looks up this node's users within its
// own rate limits.
type Peer struct {
	svc     *Service
	domain  string
	relay   *bucket
	resolve *bucket
}

// NewPeer returns the state of a link from the peer serving domain.
func (s *Service) NewPeer(domain string) *Peer {
	now := s.now()
	return &Peer{
		svc:     s,
		domain:  domain,
		relay:   newBucket(s.limits.PeerRate, s.limits.PeerBurst, now),
		resolve: newBucket(s.limits.PeerResolveRate, s.limits.PeerResolveBurst, now),
	}
}

// Deliver stores messages relayed by the peer in this node's mailboxes
// and returns a receipt for each, as Conn.Enqueue does. A recipient that
// is not "user@domain" with this node's domain gets ErrUnknownDomain: a
// peer delivers only to this node's users.
func (p *Peer) Deliver(ctx context.Context, msgs []protocol.Outgoing) ([]protocol.Receipt, time.Time, error) {
	lim := p.svc.limits
	if len(msgs) == 0 || len(msgs) > lim.MaxBatch {
		return nil, time.Time{}, errorf(protocol.ErrBadRequest, "batch of %d messages (1-%d)", len(msgs), lim.MaxBatch)
	}
	now := p.svc.now()
	if !p.relay.take(len(msgs), now) {
		return nil, time.Time{}, protocol.ErrRateLimited
	}
	return p.svc.enqueue(ctx, msgs, now, "")
}

// Allow takes n messages from the peer's rate allowance (the one Deliver
// uses), or fails with ErrRateLimited.
func (p *Peer) Allow(n int) error {
	if !p.relay.take(n, p.svc.now()) {
		return protocol.ErrRateLimited
	}
	return nil
}

// ResolveUser returns the published keys of addr, a user of this node,
// with the transparency proof consistent from knownSize, taking at least
// ResolveMinTime.
func (p *Peer) ResolveUser(ctx context.Context, addr string, knownSize uint64) (protocol.PublishedKeys, error) {
	start := p.svc.now()
	if !p.resolve.take(1, start) {
		return protocol.PublishedKeys{}, protocol.ErrRateLimited
	}
	defer p.svc.resolveFloor(start)
	a, err := p.ownUser(addr)
	a.device = "" // keys are the account's: its list names every device
	if p.passOn(a, err) {
		return p.svc.fed.ResolveUser(ctx, a.String(), knownSize)
	}
	if err != nil {
		return protocol.PublishedKeys{}, err
	}
	return p.svc.localKeys(a.user, knownSize)
}

// passOn reports whether a lookup of a, which ownUser refused with err,
// is for another node that this node should ask in turn: a peer that is
// not linked to a user's node looks the user up through its neighbours
// (federation bounds the hops).
func (p *Peer) passOn(a address, err error) bool {
	return errors.Is(err, protocol.ErrUnknownDomain) && !a.local && a.domain != "" && p.svc.fed != nil
}

// FetchKeyPackage takes one key package of MLS cipher suite suite (0 means
// SuiteClassic, what a node that predates suites asks for) of addr, a user
// of this node.
func (p *Peer) FetchKeyPackage(ctx context.Context, addr string, suite uint16) ([]byte, bool, error) {
	if !p.resolve.take(1, p.svc.now()) {
		return nil, false, protocol.ErrRateLimited
	}
	a, err := p.ownUser(addr)
	if p.passOn(a, err) {
		return p.svc.fed.FetchKeyPackage(ctx, a.String(), fetchSuite(suite))
	}
	if err != nil {
		return nil, false, err
	}
	return p.svc.store.TakeKeyPackage(a.queue(), fetchSuite(suite))
}

// ownUser parses addr and refuses anything but "user@domain" of this node.
func (p *Peer) ownUser(addr string) (address, error) {
	a, err := p.svc.parseAddress(addr)
	if err == nil && (!a.local || a.domain == "") {
		err = errorf(protocol.ErrUnknownDomain, "%s is not a user of %s", addr, p.svc.id.Domain)
	}
	return a, err
}
