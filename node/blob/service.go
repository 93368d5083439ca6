package blob

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// Remote reaches the blobs held by other nodes: package federation
// implements it, passing a call on towards the node that serves home.
type Remote interface {
	BlobGet(ctx context.Context, home string, id [protocol.BlobIDSize]byte, index int) ([]byte, error)
	BlobStat(ctx context.Context, home string, id [protocol.BlobIDSize]byte) (protocol.BlobStat, error)
}

// Service answers the blob calls of this node's clients and of its
// federation peers: from the store when the blob's home is this node,
// through Remote otherwise. It bounds the calls that hold a chunk in
// memory node-wide (Limits.InFlight).
type Service struct {
	st     *Store
	domain string
	slots  chan struct{}
	remote func() Remote
}

// NewService returns the service of st for the node of domain. remote
// returns the federation (nil without one); it is late-bound because
// federation is built after the service that it serves.
func NewService(st *Store, domain string, remote func() Remote) *Service {
	if remote == nil {
		remote = func() Remote { return nil }
	}
	return &Service{st: st, domain: strings.ToLower(domain), slots: make(chan struct{}, st.lim.InFlight), remote: remote}
}

// Store returns the service's store.
func (v *Service) Store() *Store { return v.st }

// acquire takes one of the node-wide slots, waiting while all are taken.
func (v *Service) acquire(ctx context.Context) (func(), error) {
	select {
	case v.slots <- struct{}{}:
		return func() { <-v.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for a transfer slot: %w", protocol.ErrRateLimited, ctx.Err())
	}
}

// Create implements blobCreate for user.
func (v *Service) Create(user string, size uint64, hashes [][protocol.BlobIDSize]byte, ttl time.Duration) (Created, error) {
	return v.st.Create(user, size, hashes, ttl)
}

// Put implements blobPut for user.
func (v *Service) Put(ctx context.Context, user string, id [protocol.BlobIDSize]byte, index int, data []byte) error {
	release, err := v.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return v.st.Put(user, id, index, data)
}

// local reports whether home names this node ("" does).
func (v *Service) local(home string) bool {
	return home == "" || strings.EqualFold(home, v.domain)
}

// route returns the federation for home, or why there is none.
func (v *Service) route(home string) (Remote, error) {
	if _, err := protocol.ParseDomain(home); err != nil {
		return nil, err
	}
	r := v.remote()
	if r == nil {
		return nil, fmt.Errorf("%w: this node has no federation, so it cannot reach %s, the file's home", protocol.ErrUnknownDomain, home)
	}
	return r, nil
}

// Get implements blobGet: chunk index of blob id held at home.
func (v *Service) Get(ctx context.Context, home string, id [protocol.BlobIDSize]byte, index int) ([]byte, error) {
	release, err := v.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if v.local(home) {
		return v.st.Get(id, index)
	}
	r, err := v.route(home)
	if err != nil {
		return nil, err
	}
	b, err := r.BlobGet(ctx, home, id, index)
	if err == nil {
		v.st.bytesOut.Add(uint64(len(b)))
	}
	return b, err
}

// GetTo is Get that writes the chunk into the buffer alloc returns for
// its length (the answer message's, see protocol.AllocData).
func (v *Service) GetTo(ctx context.Context, home string, id [protocol.BlobIDSize]byte, index int, alloc func(n int) ([]byte, error)) error {
	if v.local(home) {
		release, err := v.acquire(ctx)
		if err != nil {
			return err
		}
		defer release()
		return v.st.ReadChunk(id, index, alloc)
	}
	b, err := v.Get(ctx, home, id, index)
	if err != nil {
		return err
	}
	buf, err := alloc(len(b))
	if err != nil {
		return err
	}
	copy(buf, b)
	return nil
}

// Stat implements blobStat: blob id held at home.
func (v *Service) Stat(ctx context.Context, home string, id [protocol.BlobIDSize]byte) (protocol.BlobStat, error) {
	if v.local(home) {
		return v.st.Stat(id)
	}
	r, err := v.route(home)
	if err != nil {
		return protocol.BlobStat{}, err
	}
	return r.BlobStat(ctx, home, id)
}
