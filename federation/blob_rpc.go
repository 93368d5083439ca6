package federation

import (
	"context"

	"capnproto.org/go/capnp/v3"
	"fmt"
	"strings"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// Blobs is the node's file service as its peers reach it: a chunk or the
// description of a blob held at home, from the node's own store when home
// is its domain, passed on towards home (through Manager.BlobGet and
// BlobStat) otherwise. node/blob.Service implements it.
type Blobs interface {
	GetTo(ctx context.Context, home string, id [protocol.BlobIDSize]byte, index int, alloc func(n int) ([]byte, error)) error
	Stat(ctx context.Context, home string, id [protocol.BlobIDSize]byte) (protocol.BlobStat, error)
}

// errNoBlobs answers the blob calls of a node that stores no files.
var errNoBlobs = fmt.Errorf("%w: this node stores no files", protocol.ErrBadRequest)

// BlobGet implements FederationService.blobGet.
func (s *server) BlobGet(ctx context.Context, call schemas.FederationService_blobGet) error {
	call.Go() // waits on the disk or the next peer
	return s.do(ctx, "blobGet", func(ctx context.Context) error {
		if s.m.cfg.Blobs == nil {
			return errNoBlobs
		}
		id, home, err := peerBlobArgs(call.Args().Id, call.Args().Home)
		if err != nil {
			return err
		}
		return s.m.cfg.Blobs.GetTo(withHops(ctx, call.Args().Hops()), home, id, int(call.Args().Index()), func(n int) ([]byte, error) {
			res, err := call.AllocResults()
			if err != nil {
				return nil, err
			}
			return protocol.AllocData(capnp.Struct(res), 0, n) // data is the results' pointer 0
		})
	})
}

// BlobStat implements FederationService.blobStat.
func (s *server) BlobStat(ctx context.Context, call schemas.FederationService_blobStat) error {
	call.Go() // waits on the next peer
	return s.do(ctx, "blobStat", func(ctx context.Context) error {
		if s.m.cfg.Blobs == nil {
			return errNoBlobs
		}
		id, home, err := peerBlobArgs(call.Args().Id, call.Args().Home)
		if err != nil {
			return err
		}
		st, err := s.m.cfg.Blobs.Stat(withHops(ctx, call.Args().Hops()), home, id)
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

// BlobGet implements node/blob.Remote: chunk index of blob id from the
// node serving home, over the direct link or the next hop towards it,
// retried once over a link that broke (a get changes nothing).
func (m *Manager) BlobGet(ctx context.Context, home string, id [protocol.BlobIDSize]byte, index int) ([]byte, error) {
	home = strings.ToLower(home)
	return lookup(ctx, m, home, func(l *link) ([]byte, error) {
		fut, release := l.peer.BlobGet(ctx, func(p schemas.FederationService_blobGet_Params) error {
			p.SetHops(hopsOf(ctx))
			p.SetIndex(uint32(index))
			if err := p.SetId(id[:]); err != nil {
				return err
			}
			return p.SetHome(home)
		})
		defer release()
		res, err := fut.Struct()
		if err != nil {
			return nil, l.callErr(err)
		}
		data, err := res.Data()
		if err != nil {
			return nil, l.callErr(err)
		}
		if len(data) > protocol.MaxBlobChunk {
			return nil, fmt.Errorf("%w: chunk of %d bytes from %s", protocol.ErrMalformedAnswer, len(data), l.domain)
		}
		return append([]byte(nil), data...), nil
	})
}

// BlobStat implements node/blob.Remote, like BlobGet.
func (m *Manager) BlobStat(ctx context.Context, home string, id [protocol.BlobIDSize]byte) (protocol.BlobStat, error) {
	home = strings.ToLower(home)
	return lookup(ctx, m, home, func(l *link) (protocol.BlobStat, error) {
		fut, release := l.peer.BlobStat(ctx, func(p schemas.FederationService_blobStat_Params) error {
			p.SetHops(hopsOf(ctx))
			if err := p.SetId(id[:]); err != nil {
				return err
			}
			return p.SetHome(home)
		})
		defer release()
		res, err := fut.Struct()
		if err != nil {
			return protocol.BlobStat{}, l.callErr(err)
		}
		w, err := res.Stat()
		if err != nil {
			return protocol.BlobStat{}, l.callErr(err)
		}
		st, err := protocol.BlobStatFromWire(w)
		if err != nil {
			return st, err
		}
		if st.ID != id {
			return st, fmt.Errorf("%w: %s described another blob", protocol.ErrMalformedAnswer, l.domain)
		}
		return st, nil
	})
}

// peerBlobArgs reads the id and home of a peer's blob call: a peer names
// the home domain, always.
func peerBlobArgs(idf func() ([]byte, error), homef func() (string, error)) ([protocol.BlobIDSize]byte, string, error) {
	id, home, err := protocol.BlobArgsFromWire(idf, homef)
	if err != nil {
		return id, "", err
	}
	if home, err = protocol.ParseDomain(home); err != nil {
		return id, "", err
	}
	return id, home, nil
}
