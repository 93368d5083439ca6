package files

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/protocol"
)

// Node is what a transfer needs of a connection to the home node:
// *client.Client implements it.
type Node interface {
	BlobCreate(ctx context.Context, size uint64, hashes [][protocol.BlobIDSize]byte, ttl time.Duration) (client.BlobCreated, error)
	BlobPut(ctx context.Context, id [protocol.BlobIDSize]byte, index int, data []byte) error
	BlobGet(ctx context.Context, home string, id [protocol.BlobIDSize]byte, index int) ([]byte, error)
	BlobStat(ctx context.Context, home string, id [protocol.BlobIDSize]byte) (protocol.BlobStat, error)
}

// Options tune a transfer.
type Options struct {
	// StateDir holds the resume state of uploads (created 0700);
	// required for Upload.
	StateDir string
	// InFlight is how many chunks move at once (default 4).
	InFlight int
	// TTL is how long the home node keeps an upload (0: its default).
	TTL time.Duration
	// ChunkTimeout bounds each call of the transfer (a chunk, or the
	// blob's description): a call the node does not answer within it fails
	// the transfer with ErrChunkTimeout, which a later attempt resumes.
	// Default DefaultChunkTimeout.
	ChunkTimeout time.Duration
	// Progress is told how far the transfer is, at most every 100 ms and
	// at the end, by one goroutine at a time; it must return quickly (the
	// transfer waits for it). Nil ignores.
	Progress func(Progress)
}

// DefaultChunkTimeout is Options.ChunkTimeout's default. Without a bound,
// the calls in flight to a node that died would wait for the QUIC idle
// timeout (a minute). A 128 KiB chunk takes a few seconds on a slow mesh
// link, four in flight and queued behind each other at the node, so half
// a minute leaves room for a link of some 20 KB/s.
const DefaultChunkTimeout = 30 * time.Second

// errCallDeadline is the cause of a call's context ending at ChunkTimeout.
var errCallDeadline = errors.New("chunk timeout")

// call runs fn, one call to the node about what, under ChunkTimeout.
func (o Options) call(ctx context.Context, what string, fn func(context.Context) error) error {
	d := o.ChunkTimeout
	if d <= 0 {
		d = DefaultChunkTimeout
	}
	cctx, cancel := context.WithTimeoutCause(ctx, d, errCallDeadline)
	defer cancel()
	err := fn(cctx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(cctx), errCallDeadline) {
		return fmt.Errorf("%w: %s: no answer within %v (%v)", ErrChunkTimeout, what, d, err)
	}
	return err
}

func (o Options) inFlight() int {
	if o.InFlight <= 0 {
		return 4
	}
	return o.InFlight
}

// forEach runs fn on each of idx with n workers; the first error stops
// the rest and is returned.
func forEach(parent context.Context, n int, idx []int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	work := make(chan int)
	errc := make(chan error, n)
	for w := 0; w < n; w++ {
		go func() {
			for i := range work {
				if err := fn(ctx, i); err != nil {
					errc <- err
					cancel()
					for range work {
					}
					return
				}
			}
			errc <- nil
		}()
	}
feed:
	for _, i := range idx {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	var first error
	for w := 0; w < n; w++ {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		first = parent.Err()
	}
	return first
}
