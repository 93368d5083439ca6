// Package node is the client-facing service of a qpc node: accounts with
// OPAQUE logins, sessions, the key directory, durable mailboxes and push
// delivery. It knows nothing of QUIC, Cap'n Proto or bbolt: package noderpc
// adapts it to the wire, node/store keeps its data, and app wires them.
//
// A Service is shared by all connections; each connection gets a Conn that
// holds what is bound to it: a login in progress, the session, rate
// limiters and subscriptions.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/protocol"
)

// Observer is told what the service does, for metrics. Every method must
// be cheap and safe for concurrent use.
type Observer interface {
	// Stored is called with how many messages were stored by an enqueue.
	Stored(n int)
	// Expired is called with how many messages expiry removed.
	Expired(n int)
	// CommitOrdered is called for each MLS commit claim this node's
	// sequencer answered as a group's home (not those passed on to a
	// home elsewhere), with its outcome: OutcomeAccepted,
	// OutcomeRefused (the epoch was taken) or OutcomeBadClaim (not
	// proven by a member of the epoch, or an epoch it cannot order).
	CommitOrdered(outcome string)
}

// Outcomes of a commit claim at its group's home (Observer.CommitOrdered).
const (
	OutcomeAccepted = "accepted"
	OutcomeRefused  = "refused"
	OutcomeBadClaim = "bad-claim"
)

type nopObserver struct{}

func (nopObserver) Stored(int)           {}
func (nopObserver) Expired(int)          {}
func (nopObserver) CommitOrdered(string) {}

// Config configures a Service.
type Config struct {
	Identity protocol.Identity
	Limits   Limits
	// Store keeps the service's data; the service does not close it.
	Store Store
	// OPAQUE answers registrations and logins with the node's long-term
	// OPAQUE secrets.
	OPAQUE *opaque.Server
	// Log is the service's logger; nil discards.
	Log *slog.Logger
	// Observer is told about stored and expired messages; nil ignores.
	Observer Observer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Federation reaches users of other domains; nil serves this node's
	// domain only.
	Federation Federation
	// Mesh holds messages for other domains whose node is not linked, and
	// forwards them through the mesh; nil refuses them
	// (ErrPeerUnreachable, ErrUnknownDomain).
	Mesh Mesh
	// Channels keeps and relays broadcast channel posts; nil refuses
	// channel calls.
	Channels Channels
	// MDNSInstance returns the instance name the node announces with
	// mDNS now, for Health; nil without mDNS.
	MDNSInstance func() string
	// KeyLog is the key transparency log (node/store with Options.KT);
	// nil answers resolves without a transparency proof and refuses the
	// kt calls.
	KeyLog KeyLog
	// KTWatch checks the tree heads clients hand over and keeps the
	// evidence; nil refuses ktGossip.
	KTWatch KTWatch
	// DenyLists keeps the accounts' deny lists (blockSender); nil
	// refuses blockSender and blockedSenders.
	DenyLists DenyLists
	// Reports keeps the reports to the admin, sealed to ReportKey; nil
	// (or no ReportKey) refuses report and publishes no report key.
	Reports   Reports
	ReportKey []byte
	// Registration is the registration policy (protocol.Registration*);
	// "" is open.
	Registration string
	// Invites keeps the admin's invite codes; nil refuses every code
	// (required when Registration is invite).
	Invites Invites
	// OnRegistrationRefused, if set, is told why each refused
	// registration was refused (Refused*).
	OnRegistrationRefused func(reason string)
}

// Service is the node's client-facing service.
type Service struct {
	id      protocol.Identity
	limits  Limits
	store   Store
	opaque  *opaque.Server
	log     *slog.Logger
	obs     Observer
	now     func() time.Time
	started time.Time
	hub     *hub
	fed     Federation // nil without federation
	// mdnsInstance is Config.MDNSInstance.
	mdnsInstance func() string
	mesh         Mesh // nil without store-and-forward
	chanHub      *chanHub
	channels     Channels // nil without a channel relay

	// Throttles of registration and login, per source address, per
	// account name and for the node as a whole.
	regSource   *keyedBuckets
	regNode     *bucket
	loginSource *keyedBuckets
	loginUser   *keyedBuckets
	// nameSource throttles nameAvailable per source address, at the rate
	// of resolveUser, since that call needs no session.
	nameSource *keyedBuckets

	// liveMu guards live: the connections bound to a session, by user,
	// so that deleting an account ends every one of them.
	liveMu sync.Mutex
	live   map[string]map[*Conn]struct{}

	// links holds the accounts' pending link requests; publishMu makes
	// the check of a device list's seq and its store one step.
	links     *linkRequests
	publishMu sync.Mutex
	// commitHandOff is set when the store hands each commit's messages
	// to the hub itself (CommitHandOff), so deliver does not.
	commitHandOff bool

	keyLog  KeyLog  // nil without key transparency
	ktWatch KTWatch // nil without key transparency

	denyStore DenyLists // nil without deny lists
	deny      denyCache
	reports   reportDesk

	registration string  // the policy, protocol.Registration*
	invites      Invites // nil: no invite codes
	onRegRefused func(reason string)
	// draining refuses logins, resumed sessions and registrations with
	// ErrShuttingDown (SetDraining).
	draining atomic.Bool
}

// New returns a Service. Its uptime counts from now.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.OPAQUE == nil {
		return nil, errors.New("node: Store and OPAQUE are required")
	}
	limits := cfg.Limits.withDefaults()
	if err := limits.validate(); err != nil {
		return nil, err
	}
	s := &Service{
		links:        newLinkRequests(),
		id:           cfg.Identity,
		limits:       limits,
		store:        cfg.Store,
		opaque:       cfg.OPAQUE,
		log:          cfg.Log,
		obs:          cfg.Observer,
		now:          cfg.Now,
		hub:          newHub(),
		fed:          cfg.Federation,
		mdnsInstance: cfg.MDNSInstance,
		mesh:         cfg.Mesh,

		chanHub:  newChanHub(),
		channels: cfg.Channels,

		live: map[string]map[*Conn]struct{}{},

		keyLog:  cfg.KeyLog,
		ktWatch: cfg.KTWatch,

		denyStore: cfg.DenyLists,
		reports:   reportDesk{store: cfg.Reports, key: cfg.ReportKey},

		registration: cfg.Registration,
		invites:      cfg.Invites,
		onRegRefused: cfg.OnRegistrationRefused,
	}
	switch s.registration {
	case "":
		s.registration = protocol.RegistrationOpen
	case protocol.RegistrationOpen, protocol.RegistrationClosed:
	case protocol.RegistrationInvite:
		if s.invites == nil {
			return nil, errors.New("node: registration by invite needs Invites")
		}
	default:
		return nil, fmt.Errorf("node: unknown registration policy %q", s.registration)
	}
	if err := s.loadDenyLists(); err != nil {
		return nil, err
	}
	if h, ok := cfg.Store.(CommitHandOff); ok {
		h.HandOffCommits(s.handOffCommitted)
		s.commitHandOff = true
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.obs == nil {
		s.obs = nopObserver{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.started = s.now()
	s.regSource = newKeyedBuckets(limits.RegisterSourceRate, limits.RegisterSourceBurst, maxKeyedBuckets)
	s.regNode = newBucket(limits.RegisterNodeRate, limits.RegisterNodeBurst, s.started)
	s.loginSource = newKeyedBuckets(limits.LoginSourceRate, limits.LoginSourceBurst, maxKeyedBuckets)
	s.loginUser = newKeyedBuckets(limits.LoginUserRate, limits.LoginUserBurst, maxKeyedBuckets)
	s.nameSource = newKeyedBuckets(limits.ResolveRate, limits.ResolveBurst, maxKeyedBuckets)
	s.reports.limit = newKeyedBuckets(reportRate, reportBurst, maxKeyedBuckets)
	return s, nil
}

// Limits returns the limits the service enforces.
func (s *Service) Limits() Limits { return s.limits }

// Health reports the node's identity and uptime.
func (s *Service) Health(ctx context.Context) (protocol.Health, error) {
	h := protocol.Health{Identity: s.id, Uptime: s.now().Sub(s.started), Registration: s.registration}
	if s.mdnsInstance != nil {
		h.MDNSInstance = s.mdnsInstance()
	}
	if s.fed != nil {
		h.Links = s.fed.Links()
		h.FederationCA = s.fed.CommunityCA()
	}
	if err := s.ktHealth(&h); err != nil {
		return protocol.Health{}, err
	}
	h.ReportKey = s.reports.publicKey()
	return h, nil
}

// Run collects expired messages and sessions every ExpireInterval until ctx
// ends, and returns nil then.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.limits.ExpireInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.expire()
		}
	}
}

func (s *Service) expire() {
	n, err := s.store.Expire(s.now())
	if err != nil {
		s.log.Error("expiring messages", "err", err)
		return
	}
	if n > 0 {
		s.obs.Expired(n)
		s.log.Info("expired undelivered messages", "count", n)
	}
}

// Conn is one client connection's view of the service.
type Conn struct {
	svc     *Service
	source  string // rate-limiting key of the remote address
	enqueue *bucket
	resolve *bucket
	kt      *bucket
	revoked chan struct{} // closed when the account of the session is deleted
	// ended is closed when another connection ended this one's session
	// (logout everywhere, a password change): see SessionEnded.
	ended     chan struct{}
	endedOnce sync.Once

	mu      sync.Mutex
	login   *pendingLogin
	invite  *pendingInvite // registerStart's, for registerFinish
	session *boundSession
	// device is the device UseDevice bound the session to; "" acts on
	// the account's primary device.
	device string
	subs   map[*Subscription]struct{}
	closed bool
	gone   bool // revoked is closed
	// proven is the hash of the session a loginFinish on this
	// connection made, at provenAt: only such a session may change the
	// password (account_ops.go).
	proven   TokenHash
	provenAt time.Time
	// bound is closed when a session is first bound (see Bound).
	bound     chan struct{}
	boundOnce sync.Once
}

// Bound returns a channel that is closed once a session has been bound to
// the connection by a login or a resumed session. The transport closes
// connections that do not get there within a deadline.
func (c *Conn) Bound() <-chan struct{} { return c.bound }

type pendingLogin struct {
	user  string
	state *opaque.ServerState // nil for an unknown user
	// created is the Created time of the account whose record answered
	// loginStart, so that the session goes to that account only.
	created time.Time
}

type boundSession struct {
	hash TokenHash
	Session
}

// NewConn returns the state of a new client connection from remote, the
// connection's "ip:port" (throttles of registration and login count per
// source address). Close it when the connection ends.
func (s *Service) NewConn(remote string) *Conn {
	now := s.now()
	return &Conn{
		svc:     s,
		source:  sourceKey(remote),
		enqueue: newBucket(s.limits.EnqueueRate, s.limits.EnqueueBurst, now),
		resolve: newBucket(s.limits.ResolveRate, s.limits.ResolveBurst, now),
		kt:      newBucket(s.limits.KTRate, s.limits.KTBurst, now),
		revoked: make(chan struct{}),
		ended:   make(chan struct{}),
		subs:    map[*Subscription]struct{}{},
		bound:   make(chan struct{}),
	}
}

// Revoked is closed when the account this connection is logged in to is
// deleted from another connection (the deleting one is only logged out,
// as it still carries the answer). The connection then refuses every call
// that needs a session, and logins (ErrInvalidToken), and its owner should
// close the transport connection.
func (c *Conn) Revoked() <-chan struct{} { return c.revoked }

// Close ends the connection's subscriptions and forgets its session (the
// session itself stays valid for other connections).
func (c *Conn) Close() {
	c.mu.Lock()
	subs := c.subs
	c.subs = nil
	sess := c.session
	c.session = nil
	c.closed = true
	c.mu.Unlock()
	if sess != nil {
		c.svc.unregister(sess.User, c)
	}
	for sub := range subs {
		sub.Cancel()
	}
}

// revoke ends the connection's session for good: its account is gone.
func (c *Conn) revoke() {
	c.mu.Lock()
	c.session = nil
	subs := c.subs
	c.subs = map[*Subscription]struct{}{}
	if !c.gone {
		c.gone = true
		close(c.revoked)
	}
	c.mu.Unlock()
	for sub := range subs {
		sub.Cancel()
	}
}

// register records c as bound to user's session.
func (s *Service) register(user string, c *Conn) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	conns := s.live[user]
	if conns == nil {
		conns = map[*Conn]struct{}{}
		s.live[user] = conns
	}
	conns[c] = struct{}{}
}

// unregister forgets that c is bound to user's session.
func (s *Service) unregister(user string, c *Conn) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if conns := s.live[user]; conns != nil {
		delete(conns, c)
		if len(conns) == 0 {
			delete(s.live, user)
		}
	}
}

// revokeUser revokes every connection bound to a session of user and
// returns how many it revoked. The
// caller has deleted user's account (and sessions) from the store first:
// a connection that binds after this call then finds no account.
// The connection except, which asked for the deletion, is left alone.
func (s *Service) revokeUser(user string, except *Conn) int {
	s.forgetDenyList(user)
	s.liveMu.Lock()
	conns := s.live[user]
	delete(s.live, user)
	s.liveMu.Unlock()
	n := 0
	for c := range conns {
		if c != except {
			c.revoke()
			n++
		}
	}
	return n
}

// user returns the logged-in user, or an error if the connection has no
// live session.
func (c *Conn) user() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return "", protocol.ErrInvalidToken
	}
	if c.session == nil {
		return "", protocol.ErrUnauthenticated
	}
	if !c.svc.now().Before(c.session.Expires) {
		return "", protocol.ErrSessionExpired
	}
	return c.session.User, nil
}

// User returns the user logged in on this connection, or "".
func (c *Conn) User() string {
	u, _ := c.user()
	return u
}
