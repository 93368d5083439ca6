package app

import (
	"sync"
	"time"

	"github.com/quicprochat/qpc/metrics"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/version"
)

// nodeMetrics are the Prometheus metrics of a node (--metrics-listen).
type nodeMetrics struct {
	reg         *metrics.Registry
	rpcs        *metrics.CounterVec
	rpcLatency  *metrics.HistogramVec
	stored      *metrics.Counter
	expired     *metrics.Counter
	commits     *metrics.Histogram
	commitMsgs  *metrics.Counter
	connections *metrics.Counter
	refused     *metrics.CounterVec
	busy        *metrics.Counter

	framesRefused *metrics.Counter
	loginTimeouts *metrics.Counter
	evicted       *metrics.Counter
	mlsCommits    *metrics.CounterVec
	// ktInconsistency counts new evidence of misbehaving key
	// transparency logs.
	ktInconsistency *metrics.Counter
	// regRefused counts refused registrations by reason;
	// delivered the messages their recipients acknowledged.
	regRefused *metrics.CounterVec
	delivered  *metrics.Counter
}

// newNodeMetrics registers the node's metrics. connsOpen reports the
// connections open now; totals reads the store's totals at scrape time.
func newNodeMetrics(connsOpen func() int, totals func() (messages, bytes int64, accounts int, err error)) *nodeMetrics {
	r := metrics.NewRegistry()
	r.MustRegisterBuildInfo(version.Version, version.Commit, version.Platform())
	r.MustRegisterRuntime()
	m := &nodeMetrics{
		reg: r,
		rpcs: r.MustCounterVec("qpc_rpc_calls_total",
			"RPCs served, by method and result (an ErrorCode name; none is success).", "method", "result"),
		rpcLatency: r.MustHistogramVec("qpc_rpc_duration_seconds",
			"Time to serve an RPC, by method.", metrics.LatencyBuckets(), "method"),
		stored:  r.MustCounter("qpc_messages_stored_total", "Messages accepted into mailboxes."),
		expired: r.MustCounter("qpc_messages_expired_total", "Messages dropped undelivered when their TTL ran out."),
		commits: r.MustHistogram("qpc_store_commit_duration_seconds",
			"Time of a group commit of the message store, sync included.", metrics.LatencyBuckets()),
		commitMsgs:  r.MustCounter("qpc_store_committed_messages_total", "Messages written by group commits."),
		connections: r.MustCounter("qpc_connections_total", "Client connections accepted."),
		refused: r.MustCounterVec("qpc_connections_refused_total",
			"Client connections refused, by reason: total (--max-connections), per_source (--max-connections-per-source), "+
				"unauthenticated (--max-unauthenticated).", "reason"),
		busy: r.MustCounter("qpc_rpc_busy_total", "Client calls refused because the node served its bound of calls (answered rateLimited)."),
		framesRefused: r.MustCounter("qpc_rpc_bounds_closed_total",
			"Client connections closed for breaking RPC bounds: a frame over the bound of --max-payload, "+
				"a malformed frame, or too many answers never finished."),
		loginTimeouts: r.MustCounter("qpc_connections_login_timeout_total",
			"Client connections closed because they did not log in within --login-timeout."),
		evicted: r.MustCounter("qpc_connections_evicted_total",
			"Client connections not logged in that gave their place in a full unauthenticated pool to a connection "+
				"from an address holding fewer places."),
		mlsCommits: r.MustCounterVec("qpc_mls_commits_total",
			"MLS commit claims this node ordered as a group's home, by outcome (accepted; refused: the epoch was taken; "+
				"bad-claim: not proven by a member of the epoch, or an epoch the node cannot order).", "outcome"),
		ktInconsistency: r.MustCounter("qpc_kt_inconsistency_total",
			"Evidence found or received that a key transparency log misbehaves: two signed heads of one log that cannot both be true (a fork, or no consistency proof between them)."),
	}
	m.regRefused = r.MustCounterVec("qpc_registrations_refused_total",
		"Registrations refused, by reason: invite_required, invite_invalid, closed (--registration), "+
			"rate (--register-rate, --register-rate-node), accounts (--max-accounts).", "reason")
	m.delivered = r.MustCounter("qpc_messages_delivered_total", "Messages their recipients acknowledged.")
	r.MustGaugeFunc("qpc_connections_open", "Client connections open now.", func() float64 { return float64(connsOpen()) })
	t := &cachedTotals{read: totals}
	r.MustGaugeFunc("qpc_mailbox_messages", "Messages waiting in all mailboxes.", func() float64 {
		return float64(t.get().messages)
	})
	r.MustGaugeFunc("qpc_mailbox_bytes", "Payload bytes waiting in all mailboxes.", func() float64 {
		return float64(t.get().bytes)
	})
	r.MustGaugeFunc("qpc_accounts", "Registered accounts.", func() float64 {
		return float64(t.get().accounts)
	})
	return m
}

// cachedTotals reads the store's totals at most once a second, so that the
// three gauges of one scrape share one pass over the mailboxes.
type cachedTotals struct {
	read func() (messages, bytes int64, accounts int, err error)

	mu   sync.Mutex
	at   time.Time
	last storeTotals
}

type storeTotals struct {
	messages, bytes int64
	accounts        int
}

func (c *cachedTotals) get() storeTotals {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) >= time.Second {
		if m, b, a, err := c.read(); err == nil {
			c.last, c.at = storeTotals{m, b, a}, time.Now()
		}
	}
	return c.last
}

// RPC implements noderpc.Observer.
func (m *nodeMetrics) RPC(method, result string, elapsed time.Duration) {
	m.rpcs.With(method, result).Inc()
	m.rpcLatency.With(method).ObserveDuration(elapsed)
}

// Stored implements node.Observer.
func (m *nodeMetrics) Stored(n int) { m.stored.AddUint64(uint64(n)) }

// Expired implements node.Observer.
func (m *nodeMetrics) Expired(n int) { m.expired.AddUint64(uint64(n)) }

// CommitOrdered implements node.Observer.
func (m *nodeMetrics) CommitOrdered(outcome string) { m.mlsCommits.With(outcome).Inc() }

// Delivered implements node.DeliveryObserver.
func (m *nodeMetrics) Delivered(n int) { m.delivered.AddUint64(uint64(n)) }

// registrationRefused is the service's OnRegistrationRefused.
func (m *nodeMetrics) registrationRefused(reason string) { m.regRefused.With(reason).Inc() }

// summary is the admin's summary of the counters (admin status).
func (m *nodeMetrics) summary() protocol.AdminMetricsSum {
	var refused uint64
	for _, r := range []string{node.RefusedInviteRequired, node.RefusedInviteInvalid, node.RefusedClosed,
		node.RefusedRate, node.RefusedAccounts} {
		refused += uint64(m.regRefused.With(r).Value())
	}
	return protocol.AdminMetricsSum{
		MessagesEnqueued:     uint64(m.stored.Value()),
		MessagesDelivered:    uint64(m.delivered.Value()),
		RegistrationsRefused: refused,
		LoginsFailed:         uint64(m.rpcs.With("loginFinish", "authFailed").Value()),
	}
}

// commit is the store's OnCommit hook.
func (m *nodeMetrics) commit(messages int, took time.Duration) {
	m.commits.ObserveDuration(took)
	m.commitMsgs.AddUint64(uint64(messages))
}
