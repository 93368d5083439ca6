package forward

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quicprochat/qpc/internal/tally"
	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/mesh/route"
	"github.com/quicprochat/qpc/protocol"
)

// Defaults of Config's zero fields.
const (
	// DefaultTTL is how long an envelope made here lives unless its sender
	// asks for less.
	DefaultTTL = 7 * 24 * time.Hour
	// DefaultMaxHops is the max hops of an envelope made here unless its
	// sender asks for fewer.
	DefaultMaxHops = 8
	// DefaultAdvertInterval is how often the routing table is sent to
	// each neighbour besides the triggered updates: a third of
	// route.DefaultRouteTTL, so that a route survives two lost adverts.
	DefaultAdvertInterval = route.DefaultRouteTTL / 3
	// DefaultRetryDelay is how long a domain rests after its next hop
	// refused an envelope, answered looped, or failed.
	DefaultRetryDelay = 5 * time.Second
	// DefaultExpireInterval is how often expired envelopes are dropped.
	DefaultExpireInterval = 10 * time.Second
	// DefaultBatch is how many envelopes go to a next hop in one call.
	DefaultBatch = 64
)

// callTimeout bounds each call to a neighbour.
const callTimeout = 30 * time.Second

// Outcome is what a next hop did with an envelope; see the package doc.
type Outcome uint8

// The outcomes, as schemas.ForwardOutcome.
const (
	Delivered Outcome = iota
	Accepted
	Duplicate
	Looped
	Rejected
	Refused
)

func (o Outcome) String() string {
	return [...]string{"delivered", "accepted", "duplicate", "looped", "rejected", "refused"}[min(int(o), 5)]
}

// Result is a next hop's answer for one envelope. Err says why for
// Rejected and Refused.
type Result struct {
	Outcome Outcome
	Err     error
}

// Report is news about an envelope for its origin node.
type Report struct {
	ID     protocol.MeshID
	Origin string // the origin node's domain, where the report goes
	State  protocol.MeshState
	At     string // the domain of the node the news is about
	When   time.Time
	Reason error
	Hops   uint8 // hops the report has taken
}

// maxReportHops bounds a report's hops, like envelope.MaxHopsLimit.
const maxReportHops = envelope.MaxHopsLimit

// Links calls this node's federation neighbours; federation.Manager
// implements it. A neighbour is named by its domain.
type Links interface {
	// Forward hands envs, in the form they are held in and with their
	// hop counts already raised, to neighbour and returns one result per
	// envelope. An error means the call failed and any of them may or
	// may not have arrived.
	Forward(ctx context.Context, neighbour string, envs []envelope.Next) ([]Result, error)
	// Routes sends neighbour this node's advert list.
	Routes(ctx context.Context, neighbour string, adverts []route.Advert) error
	// Report sends reports on to neighbour.
	Report(ctx context.Context, neighbour string, reports []Report) error
}

// Local delivers envelopes to this node's users; node.Service implements
// it. The receipt of a message whose id is in the seen-set has a
// *protocol.SeenError.
type Local interface {
	DeliverMesh(ctx context.Context, msgs []protocol.NewMessage) ([]protocol.Receipt, error)
}

// Observer is told what the engine does, for metrics; methods must be
// cheap. event is one of forwarded, delivered, held, duplicate, looped;
// reasons are short names such as expired or hop-limit.
type Observer interface {
	Event(event string, n int)
	Dropped(reason string, n int)
	Refused(reason string, n int)
	// Store is told the held envelopes and bytes after a change.
	Store(envelopes int, bytes int64)
	Routes(n int)
}

type nopObserver struct{}

func (nopObserver) Event(string, int)   {}
func (nopObserver) Dropped(string, int) {}
func (nopObserver) Refused(string, int) {}
func (nopObserver) Store(int, int64)    {}
func (nopObserver) Routes(int)          {}

// Config configures an Engine.
type Config struct {
	// Domain is this node's domain; Key its node key, which signs the
	// envelopes made here.
	Domain string
	Key    ed25519.PrivateKey
	// Store keeps envelopes, seen ids and statuses.
	Store MeshStore
	// Local delivers envelopes for this node's users.
	Local Local
	// TTL and MaxHops are the defaults, and the caps, for envelopes made
	// here (DefaultTTL, DefaultMaxHops).
	TTL     time.Duration
	MaxHops uint8
	// AdvertInterval, RetryDelay, ExpireInterval and Batch have the
	// defaults of the same names.
	AdvertInterval time.Duration
	RetryDelay     time.Duration
	ExpireInterval time.Duration
	Batch          int
	// Routes configures the routing table; Self is set to Domain.
	Routes route.Options
	// Log and Observer may be nil; Now defaults to time.Now.
	Log      *slog.Logger
	Observer Observer
	Now      func() time.Time
}

// Engine is a node's store-and-forward engine. It implements node.Mesh
// for the service and serves the mesh calls of federation links.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	obs   Observer
	table *route.Table

	wake    chan struct{} // a domain may have work
	reports chan Report   // to send on

	mu         sync.Mutex
	links      Links // set by Run
	neighbours map[string]bool
	pending    map[string]int       // held envelopes per domain
	busy       map[string]bool      // domains being drained
	rest       map[string]time.Time // domains resting until then
	drains     sync.WaitGroup

	counters tally.Counters

	storeChanged atomic.Bool // the store gauges are to be refreshed
}

// New returns an engine; it loads the number of envelopes held per domain
// from the store.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Local == nil || len(cfg.Key) != ed25519.PrivateKeySize || cfg.Domain == "" {
		return nil, errors.New("forward: Domain, Key, Store and Local are required")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxHops == 0 {
		cfg.MaxHops = DefaultMaxHops
	}
	if cfg.AdvertInterval <= 0 {
		cfg.AdvertInterval = DefaultAdvertInterval
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.ExpireInterval <= 0 {
		cfg.ExpireInterval = DefaultExpireInterval
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Routes.Self = cfg.Domain
	e := &Engine{
		cfg:        cfg,
		log:        cfg.Log,
		obs:        cfg.Observer,
		table:      route.New(cfg.Routes),
		wake:       make(chan struct{}, 1),
		reports:    make(chan Report, 1024),
		neighbours: map[string]bool{},
		pending:    map[string]int{},
		busy:       map[string]bool{},
		rest:       map[string]time.Time{},
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.obs == nil {
		e.obs = nopObserver{}
	}
	st, err := cfg.Store.MeshStats()
	if err != nil {
		return nil, err
	}
	for _, d := range st.Domains {
		e.pending[d.Domain] = d.Envelopes
	}
	e.obs.Store(st.Envelopes, st.Bytes)
	return e, nil
}

// Table returns the routing table.
func (e *Engine) Table() *route.Table { return e.table }

// Run forwards held envelopes, sends adverts and reports over links, and
// drops expired envelopes, until ctx ends; then it waits for its calls.
func (e *Engine) Run(ctx context.Context, links Links) {
	e.mu.Lock()
	e.links = links
	e.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.sendReports(ctx)
	}()
	advert := time.NewTicker(e.cfg.AdvertInterval)
	defer advert.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastExpire := e.cfg.Now()
	for {
		changed := e.table.Changed()
		e.dispatch(ctx)
		select {
		case <-ctx.Done():
			e.drains.Wait()
			wg.Wait()
			return
		case <-changed:
			e.obs.Routes(len(e.table.Routes(e.cfg.Now())))
			e.advertise(ctx)
		case <-e.wake:
		case <-advert.C:
			e.advertise(ctx)
		case <-tick.C:
			now := e.cfg.Now()
			e.table.Expire(now)
			if e.storeChanged.Swap(false) {
				if st, err := e.cfg.Store.MeshStats(); err == nil {
					e.obs.Store(st.Envelopes, st.Bytes)
				}
			}
			if now.Sub(lastExpire) >= e.cfg.ExpireInterval {
				lastExpire = now
				e.expire(now)
			}
		}
	}
}

// poke wakes Run's loop.
func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// dispatch starts a drain for each domain with envelopes, a route, and no
// drain running or rest pending.
func (e *Engine) dispatch(ctx context.Context) {
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.links == nil || ctx.Err() != nil {
		return
	}
	for domain, n := range e.pending {
		if n <= 0 || e.busy[domain] || now.Before(e.rest[domain]) {
			continue
		}
		if _, ok := e.table.Next(domain, now); !ok {
			continue
		}
		e.busy[domain] = true
		e.drains.Add(1)
		go func() {
			defer e.drains.Done()
			rest := e.drain(ctx, domain)
			e.mu.Lock()
			delete(e.busy, domain)
			if rest > 0 {
				e.rest[domain] = e.cfg.Now().Add(rest)
			} else {
				delete(e.rest, domain)
			}
			e.mu.Unlock()
			e.poke()
		}()
	}
}

// Pending implements node.Mesh.
func (e *Engine) Pending(domain string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pending[domain] > 0
}

// held adds n (which may be negative) to domain's held count.
func (e *Engine) held(domain string, n int) {
	e.mu.Lock()
	e.storeChanged.Store(true)
	e.pending[domain] += n
	if e.pending[domain] <= 0 {
		delete(e.pending, domain)
		delete(e.rest, domain)
	}
	e.mu.Unlock()
}

// count adds n to the counter name ("forwarded", "dropped:expired", ...)
// and tells the observer.
func (e *Engine) count(name string, n int) {
	if n <= 0 {
		return
	}
	e.counters.Add(name, n)
	switch kind, reason, _ := strings.Cut(name, ":"); kind {
	case "dropped":
		e.obs.Dropped(reason, n)
	case "dropped-report":
		// Advisory news, not envelopes: kept apart by the prefix.
		e.obs.Dropped("report-"+reason, n)
	case "refused":
		e.obs.Refused(reason, n)
	default:
		e.obs.Event(name, n)
	}
}

// Counters returns the engine's counters since it started.
func (e *Engine) Counters() map[string]uint64 { return e.counters.Snapshot() }

// State implements node.Mesh.
func (e *Engine) State() (protocol.MeshReport, error) {
	st, err := e.cfg.Store.MeshStats()
	if err != nil {
		return protocol.MeshReport{}, err
	}
	routes := e.table.Routes(e.cfg.Now())
	out := protocol.MeshReport{Store: st, Counters: e.Counters(), Routes: make([]protocol.MeshRoute, len(routes))}
	for i, r := range routes {
		out.Routes[i] = protocol.MeshRoute{Domain: r.Domain, Via: r.NextHop, Hops: r.Hops, Expires: r.Expires}
	}
	return out, nil
}

// Status implements node.Mesh.
func (e *Engine) Status(sender string, ids []protocol.MeshID) ([]protocol.MessageStatus, error) {
	return e.cfg.Store.Statuses(sender, ids)
}

// LinkUp tells the engine a link to neighbour is up (also one that
// replaces another): domains resting after failures try again.
func (e *Engine) LinkUp(neighbour string) {
	e.mu.Lock()
	e.neighbours[neighbour] = true
	clear(e.rest)
	e.mu.Unlock()
	e.table.LinkUp(neighbour, e.cfg.Now())
	e.mu.Lock()
	links := e.links
	e.mu.Unlock()
	if links != nil {
		go e.advertiseTo(context.Background(), links, neighbour)
	}
	e.poke()
}

// LinkDown tells the engine the link to neighbour is down.
func (e *Engine) LinkDown(neighbour string) {
	e.mu.Lock()
	delete(e.neighbours, neighbour)
	e.mu.Unlock()
	e.table.LinkDown(neighbour, e.cfg.Now())
}

// NextHop returns the neighbour the best route to domain leads through.
func (e *Engine) NextHop(domain string) (string, bool) {
	r, ok := e.table.Next(domain, e.cfg.Now())
	return r.NextHop, ok
}

// Learn applies a neighbour's advert list.
func (e *Engine) Learn(neighbour string, adverts []route.Advert) error {
	_, err := e.table.Learn(neighbour, adverts, e.cfg.Now())
	return err
}

// advertise sends the table to every neighbour, each its own split-
// horizon list.
func (e *Engine) advertise(ctx context.Context) {
	e.mu.Lock()
	links := e.links
	var to []string
	for n := range e.neighbours {
		to = append(to, n)
	}
	e.mu.Unlock()
	if links == nil {
		return
	}
	for _, n := range to {
		go e.advertiseTo(ctx, links, n)
	}
}

func (e *Engine) advertiseTo(ctx context.Context, links Links, neighbour string) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := links.Routes(ctx, neighbour, e.table.Advertise(neighbour, e.cfg.Now())); err != nil {
		e.log.Debug("sending routes failed", "peer", neighbour, "err", err)
	}
}
