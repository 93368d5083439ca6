package flood

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/internal/tally"
	"github.com/quicprochat/qpc/mesh/signed"
	"github.com/quicprochat/qpc/protocol"
)

// Defaults of Config's zero fields.
const (
	// DefaultRetention is how long a post is kept and relayed after it
	// was made, and the default and cap of the TTL of posts made here.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultMaxHops is the max hops of a post made here unless its
	// author asks for fewer.
	DefaultMaxHops = 8
	// DefaultOriginRate is how many posts per minute a node accepts from
	// one origin node through one neighbour.
	DefaultOriginRate = 300
	// DefaultNeighbourRate is how many relayed posts per minute a node
	// accepts from one neighbour, whatever origins they claim: twice an
	// origin's rate, since a neighbour relays for others too.
	DefaultNeighbourRate = 600
	// DefaultRelayRetention caps how long a post relayed here is kept and
	// its id remembered: two days, so that a neighbour that floods posts
	// with long TTLs holds its share of the seen-set for at most that
	// long, while the posts of this node's users are kept for the whole
	// Retention.
	DefaultRelayRetention = 48 * time.Hour
	// DefaultUserRate is how many posts per minute one local user may
	// publish.
	DefaultUserRate = 30
	// DefaultExpireInterval is how often expired posts are removed.
	DefaultExpireInterval = time.Minute
	// DefaultBatch is how many posts go to a neighbour in one call.
	DefaultBatch = 64
	// DefaultQueue bounds the posts waiting for one neighbour.
	DefaultQueue = 4096
	// DefaultRetryDelay is how long a neighbour's queue rests after a
	// failed call before it tries the same posts again.
	DefaultRetryDelay = 500 * time.Millisecond
)

// MaxInventory is the most ids one inventory call offers.
const MaxInventory = 1024

// attempts is how often a batch is offered to a neighbour before it is
// dropped for that neighbour (the next inventory after the link comes
// back up offers it again while it is kept).
const attempts = 4

// callTimeout bounds each call to a neighbour.
const callTimeout = 30 * time.Second

// ErrNotReady means a neighbour sent posts straight from their origin
// before this node learnt the neighbour's node id, which it needs to check
// that the neighbour is that origin. The neighbour tries again.
var ErrNotReady = errors.New("link not ready for channel posts")

// Links calls this node's federation neighbours; federation.Manager
// implements it.
type Links interface {
	// Flood hands posts, hop counts already raised, to neighbour.
	Flood(ctx context.Context, neighbour string, posts []*Post) error
	// Inventory offers neighbour the ids of kept posts and returns the
	// indexes of those it wants.
	Inventory(ctx context.Context, neighbour string, ids []protocol.PostID) ([]int, error)
}

// Observer is told what the engine does, for metrics; methods must be
// cheap. Events are published, received, relayed, duplicate, evicted,
// expired and hop-limit (kept here, not relayed further); reasons are
// short names such as bad-signature or origin-rate.
type Observer interface {
	Event(event string, n int)
	Rejected(reason string, n int)
	Refused(reason string, n int)
	Dropped(reason string, n int)
	// Store is told the store's size after a change.
	Store(channels, posts int, bytes int64)
}

type nopObserver struct{}

func (nopObserver) Event(string, int)     {}
func (nopObserver) Rejected(string, int)  {}
func (nopObserver) Refused(string, int)   {}
func (nopObserver) Dropped(string, int)   {}
func (nopObserver) Store(int, int, int64) {}

// Config configures an Engine.
type Config struct {
	// Domain is this node's domain; Key its node key, which signs the
	// posts made here.
	Domain string
	Key    ed25519.PrivateKey
	// Store keeps posts and the seen-set.
	Store ChannelStore
	// Notify is told that a channel has new posts, to wake its followers;
	// node.Service.NotifyChannel. Nil ignores.
	Notify func(protocol.ChannelID)
	// Retention, MaxHops, OriginRate, UserRate, ExpireInterval, Batch,
	// Queue and RetryDelay have the defaults of the same names.
	Retention  time.Duration
	MaxHops    uint8
	OriginRate int
	UserRate   int
	// NeighbourRate and RelayRetention have the defaults of the same
	// names; RelayRetention is at most Retention.
	NeighbourRate  int
	RelayRetention time.Duration
	ExpireInterval time.Duration
	Batch          int
	Queue          int
	RetryDelay     time.Duration
	// Log and Observer may be nil; Now defaults to time.Now.
	Log      *slog.Logger
	Observer Observer
	Now      func() time.Time
}

// Engine is a node's broadcast channel relay. It implements
// node.Channels for the service and serves the channel calls of
// federation links.
type Engine struct {
	cfg        Config
	log        *slog.Logger
	obs        Observer
	id         string // this node's id
	origins    *originLimiter
	neighbours *limiter
	users      *limiter

	counters     tally.Counters
	storeChanged atomic.Bool

	mu     sync.Mutex
	ctx    context.Context // Run's; nil before Run
	links  Links
	up     map[string]bool    // neighbours with a link up
	queues map[string]*outbox // their queues, while Run runs
	wg     sync.WaitGroup
}

// New returns an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || len(cfg.Key) != ed25519.PrivateKeySize || cfg.Domain == "" {
		return nil, errors.New("flood: Domain, Key and Store are required")
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defD(&cfg.Retention, DefaultRetention)
	defD(&cfg.ExpireInterval, DefaultExpireInterval)
	defD(&cfg.RetryDelay, DefaultRetryDelay)
	def(&cfg.OriginRate, DefaultOriginRate)
	def(&cfg.UserRate, DefaultUserRate)
	def(&cfg.NeighbourRate, DefaultNeighbourRate)
	defD(&cfg.RelayRetention, DefaultRelayRetention)
	def(&cfg.Batch, DefaultBatch)
	def(&cfg.Queue, DefaultQueue)
	if cfg.MaxHops == 0 {
		cfg.MaxHops = DefaultMaxHops
	}
	cfg.Retention = cfg.Retention.Truncate(time.Second)
	if cfg.Retention > signed.MaxTTL {
		cfg.Retention = signed.MaxTTL
	}
	cfg.RelayRetention = min(cfg.RelayRetention.Truncate(time.Second), cfg.Retention)
	if cfg.RelayRetention < time.Second {
		cfg.RelayRetention = time.Second
	}
	if cfg.MaxHops > signed.MaxHopsLimit {
		cfg.MaxHops = signed.MaxHopsLimit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Notify == nil {
		cfg.Notify = func(protocol.ChannelID) {}
	}
	e := &Engine{
		cfg:        cfg,
		log:        cfg.Log,
		obs:        cfg.Observer,
		id:         identity.NodeID(cfg.Key.Public().(ed25519.PublicKey)),
		origins:    newOriginLimiter(cfg.OriginRate),
		neighbours: newLimiter(cfg.NeighbourRate),
		users:      newLimiter(cfg.UserRate),
		up:         map[string]bool{},
		queues:     map[string]*outbox{},
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.obs == nil {
		e.obs = nopObserver{}
	}
	e.storeChanged.Store(true)
	return e, nil
}

// Run relays posts to the neighbours over links and removes expired posts
// until ctx ends; links may be nil for a node without federation. It
// returns nil when ctx ends.
func (e *Engine) Run(ctx context.Context, links Links) error {
	e.mu.Lock()
	e.ctx, e.links = ctx, links
	for n := range e.up {
		e.startQueue(n)
	}
	e.mu.Unlock()

	expire := time.NewTicker(e.cfg.ExpireInterval)
	gauges := time.NewTicker(time.Second)
	defer expire.Stop()
	defer gauges.Stop()
	e.refreshStore()
	for {
		select {
		case <-ctx.Done():
			e.mu.Lock()
			e.ctx = nil
			for n, q := range e.queues {
				q.cancel()
				delete(e.queues, n)
			}
			e.mu.Unlock()
			e.wg.Wait()
			return nil
		case <-expire.C:
			n, err := e.cfg.Store.ExpireChannels(e.cfg.Now())
			if err != nil {
				e.log.Warn("expiring channel posts", "err", err)
				continue
			}
			e.count("expired", n)
			if n > 0 {
				e.storeChanged.Store(true)
			}
		case <-gauges.C:
			e.refreshStore()
		}
	}
}

func (e *Engine) refreshStore() {
	if !e.storeChanged.Swap(false) {
		return
	}
	st, err := e.cfg.Store.ChannelStats()
	if err != nil {
		e.storeChanged.Store(true)
		return
	}
	e.obs.Store(st.Channels, st.Posts, st.Bytes)
}

// LinkUp is told that the link to neighbour is up: posts are relayed to
// it from now on, and it is offered the posts kept here.
func (e *Engine) LinkUp(neighbour string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.up[neighbour] = true
	if e.ctx != nil {
		e.startQueue(neighbour)
	}
}

// LinkDown is told that the link to neighbour is down.
func (e *Engine) LinkDown(neighbour string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.up, neighbour)
	if q := e.queues[neighbour]; q != nil {
		q.cancel()
		delete(e.queues, neighbour)
	}
}

// startQueue starts the queue of neighbour (replacing one of an earlier
// link) and offers it the kept posts; e.mu is held.
func (e *Engine) startQueue(n string) {
	if old := e.queues[n]; old != nil {
		old.cancel()
	}
	ctx, cancel := context.WithCancel(e.ctx)
	q := &outbox{kick: make(chan struct{}, 1), cancel: cancel, max: e.cfg.Queue}
	e.queues[n] = q
	links := e.links
	if links == nil {
		return
	}
	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		e.drain(ctx, links, n, q)
	}()
	go func() {
		defer e.wg.Done()
		e.offer(ctx, links, n, q)
	}()
}

// Publish implements node.Channels.
func (e *Engine) Publish(ctx context.Context, out protocol.ChannelOutgoing) (protocol.PostID, error) {
	now := e.cfg.Now()
	if !e.users.allow(out.Sender, now) {
		e.count("refused:user-rate", 1)
		return protocol.PostID{}, fmt.Errorf("%w: at most %d channel posts a minute per user", protocol.ErrRateLimited, e.cfg.UserRate)
	}
	if ok, _ := e.origins.allow("", e.id, now); !ok {
		e.count("refused:origin-rate", 1)
		return protocol.PostID{}, fmt.Errorf("%w: this node sends at most %d channel posts a minute", protocol.ErrRateLimited, e.cfg.OriginRate)
	}
	ttl := out.TTL.Truncate(time.Second)
	if ttl <= 0 || ttl > e.cfg.Retention {
		ttl = e.cfg.Retention
	}
	hops := out.MaxHops
	if hops == 0 || hops > e.cfg.MaxHops {
		hops = e.cfg.MaxHops
	}
	p, err := Sign(e.cfg.Key, e.cfg.Domain, out.Channel, out.Body, now, ttl, hops)
	if err != nil {
		return protocol.PostID{}, fmt.Errorf("%w: %w", protocol.ErrBadPost, err)
	}
	errs, err := e.keep(ctx, []*Post{p}, "")
	if err != nil {
		return protocol.PostID{}, err
	}
	if errs[0] != nil {
		return protocol.PostID{}, errs[0]
	}
	e.count("published", 1)
	e.relay(p, "")
	return p.ID(), nil
}

// keep stores posts that neighbour from relayed ("" for this node's
// users') and tells the followers of their channels; one error per post
// (nil: new here).
func (e *Engine) keep(ctx context.Context, posts []*Post, from string) ([]error, error) {
	stored := make([]protocol.StoredPost, len(posts))
	for i, p := range posts {
		data, err := Marshal(p)
		if err != nil {
			return nil, err
		}
		stored[i] = protocol.StoredPost{ID: p.ID(), Channel: p.Channel, Expires: e.expires(p, from != ""), Data: data, From: from}
	}
	errs, evicted, err := e.cfg.Store.AddPosts(ctx, stored)
	if err != nil {
		return nil, err
	}
	e.count("evicted", evicted)
	notified := map[protocol.ChannelID]bool{}
	for i, err := range errs {
		switch {
		case err == nil:
			e.storeChanged.Store(true)
			if !notified[posts[i].Channel] {
				notified[posts[i].Channel] = true
				e.cfg.Notify(posts[i].Channel)
			}
		case errors.Is(err, protocol.ErrPostSeen):
			e.count("duplicate", 1)
		case errors.Is(err, protocol.ErrNeighbourShare):
			e.count("refused:neighbour-seen", 1)
			e.log.Debug("channel post refused", "from", from, "err", err)
		case errors.Is(err, protocol.ErrChannelFull):
			e.count("refused:seen-full", 1)
		}
	}
	return errs, nil
}

// expires is when p leaves this node: its TTL or this node's retention
// (RelayRetention for a relayed post), whichever ends first. A relayed
// post older than that is refused as expired, so that one whose id was
// forgotten cannot come round again.
func (e *Engine) expires(p *Post, relayed bool) time.Time {
	keep := e.cfg.Retention
	if relayed {
		keep = e.cfg.RelayRetention
	}
	return p.Created.Add(min(p.TTL, keep))
}

// Receive takes posts a neighbour flooded (nil for one that did not
// decode): it verifies each, drops duplicates and posts over the
// neighbour's rate or their origin's, keeps the rest and relays them to
// the other neighbours. The error is for the call as a whole:
// ErrNotReady, or a store failure.
//
// Past the first hop the origin a post names cannot be checked (its
// signature proves only which key made it), so the limits are keyed by
// from, the neighbour the link's certificate proves: its rate
// (NeighbourRate), its own table of origin windows, and its share of the
// seen-set (protocol.ChannelQuota.NeighbourSeen).
func (e *Engine) Receive(ctx context.Context, from, fromID string, posts []*Post) error {
	now := e.cfg.Now()
	var fresh []*Post
	// Refusals of the neighbour's limits, logged once per call with the
	// neighbour, so that an operator sees who floods.
	refused := map[string]int{}
	defer func() {
		for reason, n := range refused {
			e.log.Debug("channel posts refused", "from", from, "reason", reason, "posts", n)
		}
	}()
	for _, p := range posts {
		if p == nil {
			e.count("rejected:malformed", 1)
			continue
		}
		if err := p.Verify(now); err != nil {
			e.count("rejected:"+signed.Reason(err, "post"), 1)
			e.log.Debug("channel post rejected", "from", from, "err", err)
			continue
		}
		if p.Hops == 1 {
			// Straight from its origin: the neighbour must be that origin.
			if fromID == "" {
				return ErrNotReady
			}
			if p.OriginDomain != from || p.OriginID() != fromID {
				e.count("rejected:origin", 1)
				e.log.Debug("channel post rejected", "from", from, "err", "first hop from another origin",
					"origin", p.OriginDomain, "origin_id", p.OriginID())
				continue
			}
		}
		if !e.expires(p, true).After(now) {
			e.count("rejected:expired", 1)
			continue
		}
		if seen, err := e.cfg.Store.PostSeen(p.ID()); err != nil {
			return err
		} else if seen {
			e.count("duplicate", 1)
			continue
		}
		if !e.neighbours.allow(from, now) {
			e.count("refused:neighbour-rate", 1)
			refused["neighbour-rate"]++
			continue
		}
		switch ok, full := e.origins.allow(from, p.OriginID(), now); {
		case full:
			e.count("refused:origin-table", 1)
			refused["origin-table"]++
			continue
		case !ok:
			e.count("refused:origin-rate", 1)
			refused["origin-rate"]++
			continue
		}
		fresh = append(fresh, p)
	}
	if len(fresh) == 0 {
		return nil
	}
	errs, err := e.keep(ctx, fresh, from)
	if err != nil {
		return err
	}
	for i, p := range fresh {
		if errs[i] == nil {
			e.count("received", 1)
			e.relay(p, from)
		}
	}
	return nil
}

// Wanted returns the indexes of ids this node has not seen, for a
// neighbour's inventory.
func (e *Engine) Wanted(ids []protocol.PostID) ([]int, error) {
	var out []int
	for i, id := range ids {
		seen, err := e.cfg.Store.PostSeen(id)
		if err != nil {
			return nil, err
		}
		if !seen {
			out = append(out, i)
		}
	}
	return out, nil
}

// relay queues p, one hop further, for every neighbour but from and its
// origin.
func (e *Engine) relay(p *Post, from string) {
	f, err := p.Forwarded()
	if err != nil {
		e.count("hop-limit", 1)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for n, q := range e.queues {
		if n == from || n == p.OriginDomain {
			continue
		}
		if !q.push(f) {
			e.count("dropped:queue-full", 1)
		}
	}
}

// drain sends q's posts to n in batches until ctx ends.
func (e *Engine) drain(ctx context.Context, links Links, n string, q *outbox) {
	for {
		batch := q.take(e.cfg.Batch)
		if len(batch) == 0 {
			select {
			case <-q.kick:
				continue
			case <-ctx.Done():
				return
			}
		}
		for try := 1; ; try++ {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			err := links.Flood(cctx, n, batch)
			cancel()
			if err == nil {
				e.count("relayed", len(batch))
				break
			}
			if ctx.Err() != nil {
				return
			}
			if try == attempts || errors.Is(err, protocol.ErrNoLink) {
				e.count("dropped:link", len(batch))
				e.log.Debug("channel posts not relayed", "peer", n, "posts", len(batch), "err", err)
				break
			}
			select {
			case <-time.After(e.cfg.RetryDelay):
			case <-ctx.Done():
				return
			}
		}
	}
}

// offer tells n the ids of the posts kept here, channel by channel, and
// queues those it wants.
func (e *Engine) offer(ctx context.Context, links Links, n string, q *outbox) {
	chans, err := e.cfg.Store.ChannelIDs()
	if err != nil {
		e.log.Warn("listing channels for an inventory", "peer", n, "err", err)
		return
	}
	now := e.cfg.Now()
	for _, ch := range chans {
		var after uint64
		for {
			kept, err := e.cfg.Store.Posts(ch, after, MaxInventory)
			if err != nil || len(kept) == 0 {
				break
			}
			after = kept[len(kept)-1].Seq
			ids := make([]protocol.PostID, len(kept))
			for i, k := range kept {
				ids[i] = k.ID
			}
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			want, err := links.Inventory(cctx, n, ids)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					e.log.Debug("inventory failed", "peer", n, "err", err)
				}
				return
			}
			for _, i := range want {
				if i < 0 || i >= len(kept) {
					continue
				}
				p, err := Unmarshal(kept[i].Data)
				if err != nil || !kept[i].Expires.After(now) || p.OriginDomain == n {
					continue
				}
				f, err := p.Forwarded()
				if err != nil {
					continue
				}
				if !q.push(f) {
					e.count("dropped:queue-full", 1)
				}
			}
		}
	}
}

// Fetch implements node.Channels.
func (e *Engine) Fetch(ch protocol.ChannelID, afterSeq uint64, limit int) ([]protocol.ChannelMessage, error) {
	kept, err := e.cfg.Store.Posts(ch, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	out := make([]protocol.ChannelMessage, 0, len(kept))
	for _, k := range kept {
		p, err := Unmarshal(k.Data)
		if err != nil {
			// The store holds only what Marshal wrote; a record that no
			// longer decodes is skipped, not served.
			e.log.Error("kept channel post does not decode", "seq", k.Seq, "err", err)
			continue
		}
		out = append(out, protocol.ChannelMessage{
			Channel: ch, Seq: k.Seq, ID: k.ID, Body: p.Body,
			Created: p.Created, OriginDomain: p.OriginDomain,
		})
	}
	return out, nil
}

// State implements node.Channels.
func (e *Engine) State() (protocol.ChannelReport, error) {
	st, err := e.cfg.Store.ChannelStats()
	if err != nil {
		return protocol.ChannelReport{}, err
	}
	return protocol.ChannelReport{Store: st, Counters: e.counters.Snapshot()}, nil
}

// Counters returns the engine's counters since it started.
func (e *Engine) Counters() map[string]uint64 { return e.counters.Snapshot() }

func (e *Engine) count(name string, n int) {
	if n <= 0 {
		return
	}
	e.counters.Add(name, n)
	switch kind, reason, _ := strings.Cut(name, ":"); kind {
	case "rejected":
		e.obs.Rejected(reason, n)
	case "refused":
		e.obs.Refused(reason, n)
	case "dropped":
		e.obs.Dropped(reason, n)
	default:
		e.obs.Event(name, n)
	}
}

// outbox is the queue of posts for one neighbour.
type outbox struct {
	kick   chan struct{}
	cancel context.CancelFunc
	max    int

	mu sync.Mutex
	q  []*Post
}

// push queues p and reports whether there was room.
func (o *outbox) push(p *Post) bool {
	o.mu.Lock()
	if len(o.q) >= o.max {
		o.mu.Unlock()
		return false
	}
	o.q = append(o.q, p)
	o.mu.Unlock()
	select {
	case o.kick <- struct{}{}:
	default:
	}
	return true
}

// take removes and returns up to n queued posts.
func (o *outbox) take(n int) []*Post {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := min(n, len(o.q))
	out := append([]*Post(nil), o.q[:k]...)
	o.q = o.q[k:]
	return out
}
