package metrics

import (
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// vec is the label-value → child map behind CounterVec, GaugeVec and
// HistogramVec. Reads are lock-free: the children live in an immutable
// snapshot behind an atomic pointer, replaced (copy on write) under mu when
// a new label combination appears. Label combinations are few and appear
// early, so the copying is cheap, and a steady state never locks.
type vec[T any] struct {
	name       string
	labelNames []string
	newChild   func() T
	seed       maphash.Seed

	mu    sync.Mutex // serialises writers of state
	state atomic.Pointer[vecState[T]]
}

// vecState is one immutable snapshot of a vector's children.
type vecState[T any] struct {
	byHash map[uint64][]*vecChild[T]
	// sorted holds the children ordered by label values, for the scrape.
	sorted []*vecChild[T]
}

type vecChild[T any] struct {
	values []string
	metric T
}

func newVec[T any](name string, labelNames []string, newChild func() T) *vec[T] {
	v := &vec[T]{
		name:       name,
		labelNames: slices.Clone(labelNames),
		newChild:   newChild,
		seed:       maphash.MakeSeed(),
	}
	v.state.Store(&vecState[T]{byHash: map[uint64][]*vecChild[T]{}})
	return v
}

// get returns the child for values, creating it on first use.
func (v *vec[T]) get(values []string) (T, error) {
	if len(values) != len(v.labelNames) {
		var zero T
		return zero, fmt.Errorf("metrics: %q: %d label values for %d labels: %w",
			v.name, len(values), len(v.labelNames), ErrLabelCount)
	}
	h := v.hash(values)
	if c := v.state.Load().find(h, values); c != nil {
		return c.metric, nil
	}
	return v.create(values), nil
}

// mustGet is get for the With methods: a wrong label count is a programming
// error in the caller, like an index out of range.
func (v *vec[T]) mustGet(values []string) T {
	m, err := v.get(values)
	if err != nil {
		panic(err)
	}
	return m
}

func (v *vec[T]) hash(values []string) uint64 {
	var h uint64
	for _, s := range values {
		// Multiplying before mixing in the next value makes the hash
		// depend on the order of the values.
		h = h*1099511628211 ^ maphash.String(v.seed, s)
	}
	return h
}

func (s *vecState[T]) find(h uint64, values []string) *vecChild[T] {
	for _, c := range s.byHash[h] {
		if slices.Equal(c.values, values) {
			return c
		}
	}
	return nil
}

// create adds the child for values, unless a concurrent call did first. The
// text format requires UTF-8, so invalid sequences in label values (which may
// come from the network) are replaced rather than refused.
func (v *vec[T]) create(values []string) T {
	own := make([]string, len(values))
	for i, s := range values {
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		// Clone so that a child never pins a large buffer the value was
		// sliced from.
		own[i] = strings.Clone(s)
	}
	h := v.hash(own)

	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.state.Load()
	if c := old.find(h, own); c != nil {
		return c.metric
	}
	c := &vecChild[T]{values: own, metric: v.newChild()}
	next := &vecState[T]{
		byHash: make(map[uint64][]*vecChild[T], len(old.byHash)+1),
		sorted: make([]*vecChild[T], 0, len(old.sorted)+1),
	}
	for k, cs := range old.byHash {
		next.byHash[k] = cs
	}
	next.byHash[h] = append(slices.Clip(old.byHash[h]), c)
	i, _ := slices.BinarySearchFunc(old.sorted, own, func(e *vecChild[T], vals []string) int {
		return slices.Compare(e.values, vals)
	})
	next.sorted = append(next.sorted, old.sorted[:i]...)
	next.sorted = append(next.sorted, c)
	next.sorted = append(next.sorted, old.sorted[i:]...)
	v.state.Store(next)
	return c.metric
}

// children returns the children ordered by label values.
func (v *vec[T]) children() []*vecChild[T] {
	return v.state.Load().sorted
}
