package node

import (
	"fmt"
	"time"
)

// Limits bound what clients may ask of the service. The zero value of each
// field means its default; see DefaultLimits.
type Limits struct {
	// MaxPayload is the largest sealed message accepted, in bytes.
	MaxPayload int
	// DefaultTTL is how long a message waits undelivered when its sender
	// asks for no TTL; MaxTTL is the longest a sender may ask for.
	DefaultTTL, MaxTTL time.Duration
	// EnqueueRate is how many messages per second one connection may
	// enqueue on average, with bursts of up to EnqueueBurst.
	EnqueueRate  float64
	EnqueueBurst int
	// MaxBatch is the most messages in one batchEnqueue.
	MaxBatch int
	// MaxFetch is the most messages one fetch or push returns.
	MaxFetch int
	// ResolveRate and ResolveBurst limit resolveUser per connection, and
	// ResolveMinTime is the least time it takes, so that it reveals which
	// names exist no faster than guessing.
	ResolveRate    float64
	ResolveBurst   int
	ResolveMinTime time.Duration
	// PeerRate and PeerBurst limit the messages one federation peer may
	// relay to this node; PeerResolveRate and PeerResolveBurst limit its
	// key lookups (for all of its users together).
	PeerRate         float64
	PeerBurst        int
	PeerResolveRate  float64
	PeerResolveBurst int
	// SessionTTL is how long a login session lasts.
	SessionTTL time.Duration
	// ExpireInterval is how often expired messages and sessions are
	// collected.
	ExpireInterval time.Duration
	// RegisterSourceRate and RegisterSourceBurst limit registerStart and
	// registerFinish calls (one token each) per source address (an IPv4
	// address or an IPv6 /64), so that one host can neither fill the
	// node with accounts nor ask "is this name taken?" quickly.
	RegisterSourceRate  float64
	RegisterSourceBurst int
	// RegisterNodeRate and RegisterNodeBurst limit the accounts created
	// on the node from all sources together.
	RegisterNodeRate  float64
	RegisterNodeBurst int
	// LoginSourceRate and LoginSourceBurst limit loginStart per source
	// address. LoginUserRate and LoginUserBurst are each account name's
	// budget of login attempts (known names and unknown ones alike, so
	// that the throttle reveals nothing): loginStart takes a token and a
	// successful loginFinish gives it back, so only failed or abandoned
	// logins use the budget; once spent, one guess per 1/LoginUserRate
	// seconds remains.
	LoginSourceRate  float64
	LoginSourceBurst int
	LoginUserRate    float64
	LoginUserBurst   int
	// NameHold is how long the name of a deleted account cannot be
	// registered again, so that nobody takes over a name that others
	// still send to and that old sessions or connections named.
	NameHold time.Duration
	// KTRate and KTBurst limit the key transparency calls (ktConsistency,
	// ktEntries, ktGossip) per connection: an auditor pages through the
	// log with them, a client gossips after resolves.
	KTRate  float64
	KTBurst int
}

// DefaultLimits returns the limits a node runs with unless configured.
func DefaultLimits() Limits {
	return Limits{
		MaxPayload:       64 << 10,
		DefaultTTL:       30 * 24 * time.Hour,
		MaxTTL:           30 * 24 * time.Hour,
		EnqueueRate:      2000,
		EnqueueBurst:     4000,
		MaxBatch:         1000,
		MaxFetch:         1000,
		ResolveRate:      5,
		ResolveBurst:     20,
		ResolveMinTime:   50 * time.Millisecond,
		PeerRate:         2000,
		PeerBurst:        4000,
		PeerResolveRate:  50,
		PeerResolveBurst: 200,
		SessionTTL:       30 * 24 * time.Hour,
		ExpireInterval:   time.Minute,

		RegisterSourceRate:  20.0 / 3600,
		RegisterSourceBurst: 20,
		RegisterNodeRate:    60.0 / 3600,
		RegisterNodeBurst:   60,
		LoginSourceRate:     1,
		LoginSourceBurst:    64,
		LoginUserRate:       1.0 / 300,
		LoginUserBurst:      10,
		NameHold:            7 * 24 * time.Hour,
		KTRate:              20,
		KTBurst:             100,
	}
}

// withDefaults returns l with every zero field set to its default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setF := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	set(&l.MaxPayload, d.MaxPayload)
	setD(&l.DefaultTTL, d.DefaultTTL)
	setD(&l.MaxTTL, d.MaxTTL)
	setF(&l.EnqueueRate, d.EnqueueRate)
	set(&l.EnqueueBurst, d.EnqueueBurst)
	set(&l.MaxBatch, d.MaxBatch)
	set(&l.MaxFetch, d.MaxFetch)
	setF(&l.ResolveRate, d.ResolveRate)
	set(&l.ResolveBurst, d.ResolveBurst)
	setD(&l.ResolveMinTime, d.ResolveMinTime)
	setF(&l.PeerRate, d.PeerRate)
	set(&l.PeerBurst, d.PeerBurst)
	setF(&l.PeerResolveRate, d.PeerResolveRate)
	set(&l.PeerResolveBurst, d.PeerResolveBurst)
	setD(&l.SessionTTL, d.SessionTTL)
	setD(&l.ExpireInterval, d.ExpireInterval)
	setF(&l.RegisterSourceRate, d.RegisterSourceRate)
	set(&l.RegisterSourceBurst, d.RegisterSourceBurst)
	setF(&l.RegisterNodeRate, d.RegisterNodeRate)
	set(&l.RegisterNodeBurst, d.RegisterNodeBurst)
	setF(&l.LoginSourceRate, d.LoginSourceRate)
	set(&l.LoginSourceBurst, d.LoginSourceBurst)
	setF(&l.LoginUserRate, d.LoginUserRate)
	set(&l.LoginUserBurst, d.LoginUserBurst)
	setD(&l.NameHold, d.NameHold)
	setF(&l.KTRate, d.KTRate)
	set(&l.KTBurst, d.KTBurst)
	return l
}

// validate checks limits after defaults are applied.
func (l Limits) validate() error {
	switch {
	case l.MaxPayload < 0, l.DefaultTTL < 0, l.MaxTTL < 0, l.EnqueueRate < 0, l.EnqueueBurst < 0,
		l.MaxBatch < 0, l.MaxFetch < 0, l.ResolveRate < 0, l.ResolveBurst < 0, l.ResolveMinTime < 0,
		l.SessionTTL < 0, l.ExpireInterval < 0, l.PeerRate < 0, l.PeerBurst < 0, l.PeerResolveRate < 0, l.PeerResolveBurst < 0,
		l.RegisterSourceRate < 0, l.RegisterSourceBurst < 0, l.RegisterNodeRate < 0, l.RegisterNodeBurst < 0,
		l.LoginSourceRate < 0, l.LoginSourceBurst < 0, l.LoginUserRate < 0, l.LoginUserBurst < 0, l.NameHold < 0,
		l.KTRate < 0, l.KTBurst < 0:
		return fmt.Errorf("limits must not be negative: %+v", l)
	case l.DefaultTTL > l.MaxTTL:
		return fmt.Errorf("default TTL %s exceeds maximum TTL %s", l.DefaultTTL, l.MaxTTL)
	}
	return nil
}
