package client

import (
	"context"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// BlobCreated is the node's answer to BlobCreate.
type BlobCreated struct {
	// ID is the blob's id (protocol.BlobID of the hashes).
	ID [protocol.BlobIDSize]byte
	// Missing are the indexes of the chunks the node does not hold yet.
	Missing []int
	// Expires is when the node drops the blob.
	Expires time.Time
}

// BlobCreate declares a blob of size bytes made of chunks with the given
// SHA-256 hashes, to be kept for ttl (0: the node's default), or asks what
// an existing one still misses (see blobCreate in schemas/node.capnp).
func (c *Client) BlobCreate(ctx context.Context, size uint64, hashes [][protocol.BlobIDSize]byte, ttl time.Duration) (BlobCreated, error) {
	fut, release := c.node.BlobCreate(ctx, func(p schemas.NodeService_blobCreate_Params) error {
		p.SetSize(size)
		p.SetTtlSeconds(uint32(ttl / time.Second))
		l, err := p.NewChunks(int32(len(hashes)))
		if err != nil {
			return err
		}
		for i := range hashes {
			if err := l.Set(i, hashes[i][:]); err != nil {
				return err
			}
		}
		return nil
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return BlobCreated{}, c.callErr("create file", err)
	}
	raw, err := res.Id()
	if err != nil {
		return BlobCreated{}, c.callErr("create file", err)
	}
	var out BlobCreated
	if len(raw) != protocol.BlobIDSize {
		return out, fmt.Errorf("%w: blob id of %d bytes", protocol.ErrMalformedAnswer, len(raw))
	}
	copy(out.ID[:], raw)
	if out.ID != protocol.BlobID(hashes) {
		return out, fmt.Errorf("%w: the node named another blob", protocol.ErrMalformedAnswer)
	}
	m, err := res.Missing()
	if err != nil {
		return out, c.callErr("create file", err)
	}
	for i := 0; i < m.Len(); i++ {
		idx := int(m.At(i))
		if idx >= len(hashes) {
			return out, fmt.Errorf("%w: missing chunk %d of %d", protocol.ErrMalformedAnswer, idx, len(hashes))
		}
		out.Missing = append(out.Missing, idx)
	}
	out.Expires = time.UnixMilli(res.ExpiresMillis())
	return out, nil
}

// BlobPut uploads chunk index of blob id.
func (c *Client) BlobPut(ctx context.Context, id [protocol.BlobIDSize]byte, index int, data []byte) error {
	fut, release := c.node.BlobPut(ctx, func(p schemas.NodeService_blobPut_Params) error {
		p.SetIndex(uint32(index))
		if err := p.SetId(id[:]); err != nil {
			return err
		}
		return p.SetData(data)
	})
	defer release()
	if _, err := fut.Struct(); err != nil {
		return c.callErr("upload file chunk", err)
	}
	return nil
}

// BlobGet downloads chunk index of blob id held by the node of domain
// home ("" for the home node of this client), which the node proxies.
func (c *Client) BlobGet(ctx context.Context, home string, id [protocol.BlobIDSize]byte, index int) ([]byte, error) {
	fut, release := c.node.BlobGet(ctx, func(p schemas.NodeService_blobGet_Params) error {
		p.SetIndex(uint32(index))
		if err := p.SetId(id[:]); err != nil {
			return err
		}
		return p.SetHome(home)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("download file chunk", err)
	}
	data, err := res.Data()
	if err != nil {
		return nil, c.callErr("download file chunk", err)
	}
	if len(data) > protocol.MaxBlobChunk {
		return nil, fmt.Errorf("%w: chunk of %d bytes", protocol.ErrMalformedAnswer, len(data))
	}
	return append([]byte(nil), data...), nil
}

// BlobStat describes blob id held by the node of domain home.
func (c *Client) BlobStat(ctx context.Context, home string, id [protocol.BlobIDSize]byte) (protocol.BlobStat, error) {
	fut, release := c.node.BlobStat(ctx, func(p schemas.NodeService_blobStat_Params) error {
		if err := p.SetId(id[:]); err != nil {
			return err
		}
		return p.SetHome(home)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return protocol.BlobStat{}, c.callErr("describe file", err)
	}
	w, err := res.Stat()
	if err != nil {
		return protocol.BlobStat{}, c.callErr("describe file", err)
	}
	st, err := protocol.BlobStatFromWire(w)
	if err == nil && st.ID != id {
		err = fmt.Errorf("%w: the node described another blob", protocol.ErrMalformedAnswer)
	}
	return st, err
}
