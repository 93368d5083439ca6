package client

import (
	"context"
	"fmt"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// This file holds the NodeService calls of key transparency (docs/kt.md):
// the resolve that sends the size of the head the client holds, and the
// calls of auditors and gossip. What they return is checked by kt.go and
// the auditor, not here; here it is only bounded.

// MaxKTEntriesPerCall is the most entries KTEntries asks for at once: the
// node's bound per call (design 23: 1000 entries or 1 MiB).
const MaxKTEntriesPerCall = 1000

// resolveKnown is ResolveUser that also sends knownSize, the size of the
// latest head of the answering log the client accepted, so that the
// answer's proof (Transparency) carries the consistency proof from it.
func (c *Client) resolveKnown(ctx context.Context, user string, knownSize uint64) (protocol.PublishedKeys, error) {
	fut, release := c.node.ResolveUser(ctx, func(p schemas.NodeService_resolveUser_Params) error {
		p.SetKnownSize(knownSize)
		return p.SetUser(user)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return protocol.PublishedKeys{}, c.callErr("resolve "+user, err)
	}
	w, err := res.Keys()
	if err != nil {
		return protocol.PublishedKeys{}, err
	}
	return protocol.KeysFromWire(w)
}

// KTConsistency returns the node's latest signed tree head and the
// consistency proof from tree size first to it; with second above 0, to
// the head of that size instead. Needs no login.
func (c *Client) KTConsistency(ctx context.Context, first, second uint64) (proof [][]byte, head []byte, err error) {
	fut, release := c.node.KtConsistency(ctx, func(p schemas.NodeService_ktConsistency_Params) error {
		p.SetFirst(first)
		p.SetSecond(second)
		return nil
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, nil, c.callErr("key transparency head", err)
	}
	list, err := res.Proof()
	if err != nil {
		return nil, nil, err
	}
	if proof, err = protocol.DataListFromWire("consistency proof", list, protocol.MaxKTProofHashes, 32); err != nil {
		return nil, nil, fmt.Errorf("key transparency head: %w", protocol.Mark(protocol.ErrMalformedAnswer, err))
	}
	h, err := res.Head()
	if err != nil {
		return nil, nil, err
	}
	if len(h) > protocol.MaxKTHeadBytes {
		return nil, nil, fmt.Errorf("key transparency head: %w: %d bytes", protocol.ErrMalformedAnswer, len(h))
	}
	return proof, append([]byte(nil), h...), nil
}

// KTEntries returns at most count (at most MaxKTEntriesPerCall) entries
// of the node's key transparency log from index start on; fewer at its
// end, or when the node's bound per call is lower. Needs no login.
func (c *Client) KTEntries(ctx context.Context, start uint64, count uint32) ([][]byte, error) {
	count = min(count, MaxKTEntriesPerCall)
	fut, release := c.node.KtEntries(ctx, func(p schemas.NodeService_ktEntries_Params) error {
		p.SetStart(start)
		p.SetCount(count)
		return nil
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr(fmt.Sprintf("key transparency entries from %d", start), err)
	}
	list, err := res.Entries()
	if err != nil {
		return nil, err
	}
	entries, err := protocol.DataListFromWire("entries", list, int(count), protocol.MaxKTEntryBytes)
	if err != nil {
		return nil, fmt.Errorf("key transparency entries from %d: %w", start, protocol.Mark(protocol.ErrMalformedAnswer, err))
	}
	return entries, nil
}

// KTGossip hands the node the signed heads the client holds (at most
// protocol.MaxKTHeads) and returns the evidence the node holds, unchecked
// (CheckEvidence checks a fork).
func (c *Client) KTGossip(ctx context.Context, heads [][]byte) ([]protocol.KTEvidence, error) {
	if len(heads) > protocol.MaxKTHeads {
		heads = heads[:protocol.MaxKTHeads]
	}
	fut, release := c.node.KtGossip(ctx, func(p schemas.NodeService_ktGossip_Params) error {
		return protocol.DataListToWire(heads, p.NewHeads)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("key transparency gossip", err)
	}
	list, err := res.Evidence()
	if err != nil {
		return nil, err
	}
	ev, err := protocol.KTEvidenceFromWire(list)
	if err != nil {
		return nil, fmt.Errorf("key transparency gossip: %w", protocol.Mark(protocol.ErrMalformedAnswer, err))
	}
	return ev, nil
}
