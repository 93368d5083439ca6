package node

import (
	"net/netip"
	"sync"
	"time"
)

// bucket is a token bucket: it holds up to burst tokens and gains rate
// tokens per second.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// take removes n tokens if the bucket holds them, and reports whether it
// did. A request larger than the burst never fits.
func (b *bucket) take(n int, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if float64(n) > b.tokens {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// give returns n tokens to the bucket, up to its burst: a login that
// succeeded gives back what its start took.
func (b *bucket) give(n int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	b.tokens = min(b.burst, b.tokens+float64(n))
}

// refill adds the tokens earned since the last call; b.mu is held.
func (b *bucket) refill(now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
}

// level returns how many tokens the bucket holds at now.
func (b *bucket) level(now time.Time) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	return b.tokens
}

// maxKeyedBuckets bounds the keys a keyedBuckets tracks: some 200 bytes
// each, so the default costs under a megabyte however many sources or
// names an attacker uses.
const maxKeyedBuckets = 4096

// keyedBuckets is a token bucket per key (a source address, an account
// name), holding at most max keys. When full, a new key evicts the key
// whose bucket holds the most tokens: the one closest to idle, whose
// forgetting gives its owner the least. A key an attacker drained is
// therefore the last to be forgotten, and churning through many keys
// cannot reset it.
type keyedBuckets struct {
	mu    sync.Mutex
	rate  float64
	burst int
	max   int
	m     map[string]*bucket
}

func newKeyedBuckets(rate float64, burst, max int) *keyedBuckets {
	return &keyedBuckets{rate: rate, burst: burst, max: max, m: map[string]*bucket{}}
}

// get returns the bucket of key, creating it full.
func (k *keyedBuckets) get(key string, now time.Time) *bucket {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b := k.m[key]; b != nil {
		return b
	}
	if len(k.m) >= k.max {
		var fullest string
		most := -1.0
		for key, b := range k.m { // bounded by max
			if l := b.level(now); l > most {
				fullest, most = key, l
			}
		}
		delete(k.m, fullest)
	}
	b := newBucket(k.rate, k.burst, now)
	k.m[key] = b
	return b
}

// take removes n tokens from key's bucket if it holds them.
func (k *keyedBuckets) take(key string, n int, now time.Time) bool {
	return k.get(key, now).take(n, now)
}

// give returns n tokens to key's bucket.
func (k *keyedBuckets) give(key string, n int, now time.Time) {
	k.get(key, now).give(n, now)
}

// sourceKey returns the rate-limiting key of a remote address "ip:port":
// the IPv4 address, or the /64 of an IPv6 address, since one host
// commonly holds a whole /64. An address that does not parse is its own
// key; the empty address (a connection of unknown origin) shares one.
func sourceKey(remote string) string {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		a, aerr := netip.ParseAddr(remote)
		if aerr != nil {
			return remote
		}
		ap = netip.AddrPortFrom(a, 0)
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
