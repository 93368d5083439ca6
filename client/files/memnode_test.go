package files

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/protocol"
)

// memNode is an in-memory twin of a node's blob calls, for the logic of
// this package; the real store and RPCs are exercised by app's tests.
type memNode struct {
	mu    sync.Mutex
	blobs map[[32]byte]*memBlob
	// failAfter, when above 0, makes every put or get after that many
	// fail, as a cut link does.
	failAfter atomic.Int64
	puts      atomic.Int64
	gets      atomic.Int64
	// hangAfter, when above 0, makes every put or get after that many
	// wait, unanswered, until its context ends, as a node that died does.
	hangAfter atomic.Int64
	// tamper changes what get returns.
	tamper func(index int, b []byte) []byte
}

type memBlob struct {
	size   uint64
	hashes [][32]byte
	chunks map[int][]byte
}

var errCut = errors.New("link cut")

func newMemNode() *memNode { return &memNode{blobs: map[[32]byte]*memBlob{}} }

func (m *memNode) cut(ctx context.Context) error {
	if h := m.hangAfter.Load(); h > 0 && m.puts.Load()+m.gets.Load() >= h {
		<-ctx.Done()
		return ctx.Err()
	}
	if f := m.failAfter.Load(); f > 0 && m.puts.Load()+m.gets.Load() >= f {
		return errCut
	}
	return nil
}

func (m *memNode) BlobCreate(_ context.Context, size uint64, hashes [][32]byte, ttl time.Duration) (client.BlobCreated, error) {
	if err := protocol.CheckBlobShape(size, len(hashes)); err != nil {
		return client.BlobCreated{}, err
	}
	id := protocol.BlobID(hashes)
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.blobs[id]
	if b == nil {
		b = &memBlob{size: size, hashes: hashes, chunks: map[int][]byte{}}
		m.blobs[id] = b
	}
	var miss []int
	for i := range b.hashes {
		if b.chunks[i] == nil {
			miss = append(miss, i)
		}
	}
	return client.BlobCreated{ID: id, Missing: miss, Expires: time.Now().Add(time.Hour)}, nil
}

func (m *memNode) BlobPut(ctx context.Context, id [32]byte, index int, data []byte) error {
	if err := m.cut(ctx); err != nil {
		return err
	}
	m.puts.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.blobs[id]
	if b == nil || index >= len(b.hashes) {
		return protocol.ErrNoSuchBlob
	}
	if sha256.Sum256(data) != b.hashes[index] {
		return protocol.ErrBadChunk
	}
	b.chunks[index] = append([]byte(nil), data...)
	return nil
}

func (m *memNode) BlobGet(ctx context.Context, _ string, id [32]byte, index int) ([]byte, error) {
	if err := m.cut(ctx); err != nil {
		return nil, err
	}
	m.gets.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.blobs[id]
	if b == nil || b.chunks[index] == nil {
		return nil, protocol.ErrNoSuchBlob
	}
	out := append([]byte(nil), b.chunks[index]...)
	if m.tamper != nil {
		out = m.tamper(index, out)
	}
	return out, nil
}

func (m *memNode) BlobStat(_ context.Context, _ string, id [32]byte) (protocol.BlobStat, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.blobs[id]
	if b == nil {
		return protocol.BlobStat{}, protocol.ErrNoSuchBlob
	}
	return protocol.BlobStat{ID: id, Size: b.size, Chunks: b.hashes, Held: len(b.chunks)}, nil
}
