package kt

import (
	"fmt"
	"sync"
)

// Memory is a log's tree held in memory: every perfect subtree's hash, by
// level. It serves tests, and auditors (`qpc kt audit`) that rebuild a
// node's tree from its entries. It is safe for concurrent use.
type Memory struct {
	mu     sync.RWMutex
	levels [][]Hash // levels[l][i] is Node(l, i)
}

// NewMemory returns an empty tree.
func NewMemory() *Memory { return &Memory{} }

// Node returns the hash of the perfect subtree at (level, index), or an
// error wrapping ErrRange if the tree does not have it yet.
func (m *Memory) Node(level uint8, index uint64) (Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if int(level) >= len(m.levels) || index >= uint64(len(m.levels[level])) {
		return Hash{}, fmt.Errorf("%w: no node (%d, %d)", ErrRange, level, index)
	}
	return m.levels[level][index], nil
}

// Size returns the number of leaves.
func (m *Memory) Size() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.levels) == 0 {
		return 0
	}
	return uint64(len(m.levels[0]))
}

// Append adds leaf as the next leaf and stores the nodes it completes
// (package function Append). It returns the leaf's index.
func (m *Memory) Append(leaf Hash) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var size uint64
	if len(m.levels) > 0 {
		size = uint64(len(m.levels[0]))
	}
	nodes, err := Append(lockedMemory{m}, size, leaf)
	if err != nil {
		return 0, err
	}
	for _, n := range nodes {
		for int(n.Level) >= len(m.levels) {
			m.levels = append(m.levels, nil)
		}
		m.levels[n.Level] = append(m.levels[n.Level], n.Hash)
	}
	return size, nil
}

// Root returns the root of the whole tree.
func (m *Memory) Root() Hash {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var size uint64
	if len(m.levels) > 0 {
		size = uint64(len(m.levels[0]))
	}
	// Every node of the tree is present, so this cannot fail.
	r, err := Root(lockedMemory{m}, size)
	if err != nil {
		return Hash{}
	}
	return r
}

// lockedMemory reads m's nodes while the caller holds m's lock.
type lockedMemory struct{ m *Memory }

func (l lockedMemory) Node(level uint8, index uint64) (Hash, error) {
	if int(level) >= len(l.m.levels) || index >= uint64(len(l.m.levels[level])) {
		return Hash{}, fmt.Errorf("%w: no node (%d, %d)", ErrRange, level, index)
	}
	return l.m.levels[level][index], nil
}
