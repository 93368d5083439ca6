package noderpc

import (
	"context"

	"capnproto.org/go/capnp/v3"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// maxBlobCalls is how many blob puts and gets of one connection run at
// once; more wait. The client core keeps four in flight.
const maxBlobCalls = 4

// errNoBlobs answers the file calls of a node built without a blob store.
var errNoBlobs = fmt.Errorf("%w: this node stores no files", protocol.ErrBadRequest)

// ErrUnfinishedChunks refuses a chunk call of a connection that holds
// more answers its client has not finished than its budget
// (transport.MaxUnfinishedChunkBytes); it travels as rateLimited.
var ErrUnfinishedChunks = fmt.Errorf("%w: too many chunk answers not finished", protocol.ErrRateLimited)

// answerWait is how long a chunk call of a connection over its answer
// budget waits for the client's Finishes before it is refused: four times
// capnp-go's 250 ms delay, so a stock client is slowed to the budget's
// rate, not refused; a client that never finishes gets its refusals no
// faster than its calls in flight per answerWait.
const answerWait = time.Second

// blobSlot takes one of the connection's blob slots, waiting for one. A
// connection over its answer budget gets none until its client's
// Finishes bring it back: the node keeps each answer until the Finish,
// and a client that sends it late or never would otherwise make the node
// hold any number of chunks.
func (s *Server) blobSlot(ctx context.Context) (func(), error) {
	if a := s.opts.Answers; a != nil {
		wctx, cancel := context.WithTimeout(ctx, answerWait)
		room := a.WaitRoom(wctx)
		cancel()
		if !room {
			return nil, fmt.Errorf("%w (%d bytes)", ErrUnfinishedChunks, a.Held())
		}
	}
	select {
	case s.blobSlots <- struct{}{}:
		return func() { <-s.blobSlots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", protocol.ErrRateLimited, ctx.Err())
	}
}

// blobUser returns the caller, logged in, of a node with a blob store.
func (s *Server) blobUser() (string, error) {
	if s.opts.Blobs == nil {
		return "", errNoBlobs
	}
	return s.conn.SessionUser()
}

// BlobCreate implements NodeService.blobCreate.
func (s *Server) BlobCreate(ctx context.Context, call schemas.NodeService_blobCreate) error {
	call.Go() // waits on the disk, a slot or a federation peer: let the next call start
	return s.do(ctx, "blobCreate", func(ctx context.Context) error {
		user, err := s.blobUser()
		if err != nil {
			return err
		}
		l, err := call.Args().Chunks()
		if err != nil {
			return protocol.BadRequest(err)
		}
		hashes, err := protocol.BlobHashesFromWire(l)
		if err != nil {
			return err
		}
		ttl := time.Duration(call.Args().TtlSeconds()) * time.Second
		c, err := s.opts.Blobs.Create(user, call.Args().Size(), hashes, ttl)
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		if err := res.SetId(c.ID[:]); err != nil {
			return err
		}
		res.SetExpiresMillis(c.Expires.UnixMilli())
		m, err := res.NewMissing(int32(len(c.Missing)))
		if err != nil {
			return err
		}
		for i, idx := range c.Missing {
			m.Set(i, uint32(idx))
		}
		return nil
	})
}

// BlobPut implements NodeService.blobPut.
func (s *Server) BlobPut(ctx context.Context, call schemas.NodeService_blobPut) error {
	call.Go() // waits on the disk, a slot or a federation peer: let the next call start
	return s.do(ctx, "blobPut", func(ctx context.Context) error {
		user, err := s.blobUser()
		if err != nil {
			return err
		}
		release, err := s.blobSlot(ctx)
		if err != nil {
			return err
		}
		defer release()
		raw, err := call.Args().Id()
		if err != nil {
			return protocol.BadRequest(err)
		}
		id, err := protocol.BlobHash(raw)
		if err != nil {
			return err
		}
		data, err := call.Args().Data()
		if err != nil {
			return protocol.BadRequest(err)
		}
		return s.opts.Blobs.Put(ctx, user, id, int(call.Args().Index()), data)
	})
}

// BlobGet implements NodeService.blobGet.
func (s *Server) BlobGet(ctx context.Context, call schemas.NodeService_blobGet) error {
	call.Go() // waits on the disk, a slot or a federation peer: let the next call start
	return s.do(ctx, "blobGet", func(ctx context.Context) error {
		if _, err := s.blobUser(); err != nil {
			return err
		}
		release, err := s.blobSlot(ctx)
		if err != nil {
			return err
		}
		defer release()
		id, home, err := protocol.BlobArgsFromWire(call.Args().Id, call.Args().Home)
		if err != nil {
			return err
		}
		return s.opts.Blobs.GetTo(ctx, home, id, int(call.Args().Index()), func(n int) ([]byte, error) {
			res, err := call.AllocResults()
			if err != nil {
				return nil, err
			}
			return protocol.AllocData(capnp.Struct(res), 0, n) // data is the results' pointer 0
		})
	})
}

// BlobStat implements NodeService.blobStat.
func (s *Server) BlobStat(ctx context.Context, call schemas.NodeService_blobStat) error {
	call.Go() // waits on the disk, a slot or a federation peer: let the next call start
	return s.do(ctx, "blobStat", func(ctx context.Context) error {
		if _, err := s.blobUser(); err != nil {
			return err
		}
		id, home, err := protocol.BlobArgsFromWire(call.Args().Id, call.Args().Home)
		if err != nil {
			return err
		}
		st, err := s.opts.Blobs.Stat(ctx, home, id)
		if err != nil {
			return err
		}
		res, err := call.AllocResults()
		if err != nil {
			return err
		}
		w, err := res.NewStat()
		if err != nil {
			return err
		}
		return protocol.BlobStatToWire(st, w)
	})
}
