package client

import (
	"context"
	"fmt"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// This file holds the NodeService calls of key transparency (docs/kt.md):
// the checked resolve, and the calls of auditors and gossip. What they
// return is checked by kt.go, not here.

// KeyProof is the transparency proof of a key answer (schemas KeyProof):
// the log entry of the address, its leaf index, its inclusion proof in
// Head, the signed tree head, and the consistency proof from the asker's
// known size to Head's size.
type KeyProof struct {
	Entry       []byte
	Index       uint64
	Inclusion   [][]byte
	Head        []byte
	Consistency [][]byte
}

// Evidence is a node's proof that a key transparency log misbehaved: two
// signed heads of Domain's log that cannot both be true (schemas
// KtEvidence). Reason is "fork" or "inconsistent"; First and Second are
// kt.SignedHead encodings, which the client checks before it believes them.
type Evidence struct {
	First, Second []byte
	Reason        string
	Domain        string
	Found         time.Time
	ReportedBy    string
}

// keysAnswer is a resolve's answer: the keys and, when the node sent one,
// their transparency proof.
type keysAnswer struct {
	protocol.PublishedKeys
	Proof *KeyProof
}

// copyList copies a wire list of byte strings out of the message.
func copyList(l capnp.DataList, err error) ([][]byte, error) {
	if err != nil {
		return nil, err
	}
	out := make([][]byte, l.Len())
	for i := range out {
		b, err := l.At(i)
		if err != nil {
			return nil, err
		}
		out[i] = append([]byte(nil), b...)
	}
	return out, nil
}

// resolveWithProof is ResolveUser that also sends knownSize, the size of
// the latest head of the answering log the client accepted, and returns
// the answer's transparency proof; proof is nil when the node sent none.
func (c *Client) resolveWithProof(ctx context.Context, user string, knownSize uint64) (keys keysAnswer, err error) {
	fut, release := c.node.ResolveUser(ctx, func(p schemas.NodeService_resolveUser_Params) error {
		p.SetKnownSize(knownSize)
		return p.SetUser(user)
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return keysAnswer{}, c.callErr("resolve "+user, err)
	}
	w, err := res.Keys()
	if err != nil {
		return keysAnswer{}, err
	}
	if keys.PublishedKeys, err = protocol.KeysFromWire(w); err != nil {
		return keysAnswer{}, err
	}
	if !w.HasTransparency() {
		return keys, nil
	}
	t, err := w.Transparency()
	if err != nil {
		return keysAnswer{}, err
	}
	var p KeyProof
	p.Index = t.Index()
	if p.Entry, err = t.Entry(); err != nil {
		return keysAnswer{}, err
	}
	if p.Head, err = t.Head(); err != nil {
		return keysAnswer{}, err
	}
	p.Entry, p.Head = append([]byte(nil), p.Entry...), append([]byte(nil), p.Head...)
	if p.Inclusion, err = copyList(t.Inclusion()); err != nil {
		return keysAnswer{}, err
	}
	if p.Consistency, err = copyList(t.Consistency()); err != nil {
		return keysAnswer{}, err
	}
	if len(p.Entry) > 0 || len(p.Head) > 0 {
		keys.Proof = &p
	}
	return keys, nil
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
	if proof, err = copyList(res.Proof()); err != nil {
		return nil, nil, err
	}
	h, err := res.Head()
	if err != nil {
		return nil, nil, err
	}
	return proof, append([]byte(nil), h...), nil
}

// KTEntries returns at most count entries of the node's key transparency
// log from index start on (fewer at its end, or when the node's bound per
// call is lower). Needs no login.
func (c *Client) KTEntries(ctx context.Context, start uint64, count uint32) ([][]byte, error) {
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
	return copyList(res.Entries())
}

// KTGossip hands the node the signed heads the client holds and returns
// the evidence the node holds, unchecked (CheckEvidence checks it).
func (c *Client) KTGossip(ctx context.Context, heads [][]byte) ([]Evidence, error) {
	fut, release := c.node.KtGossip(ctx, func(p schemas.NodeService_ktGossip_Params) error {
		l, err := p.NewHeads(int32(len(heads)))
		if err != nil {
			return err
		}
		for i, h := range heads {
			if err := l.Set(i, h); err != nil {
				return err
			}
		}
		return nil
	})
	defer release()
	res, err := fut.Struct()
	if err != nil {
		return nil, c.callErr("key transparency gossip", err)
	}
	return evidenceFromWire(res.Evidence())
}

// evidenceFromWire copies a list of KtEvidence out of the message.
func evidenceFromWire(l schemas.KtEvidence_List, err error) ([]Evidence, error) {
	if err != nil {
		return nil, err
	}
	out := make([]Evidence, 0, l.Len())
	for i := 0; i < l.Len(); i++ {
		w := l.At(i)
		var e Evidence
		first, err := w.First()
		if err != nil {
			return nil, err
		}
		second, err := w.Second()
		if err != nil {
			return nil, err
		}
		if e.Reason, err = w.Reason(); err != nil {
			return nil, err
		}
		if e.Domain, err = w.Domain(); err != nil {
			return nil, err
		}
		if e.ReportedBy, err = w.ReportedBy(); err != nil {
			return nil, err
		}
		e.First, e.Second = append([]byte(nil), first...), append([]byte(nil), second...)
		e.Found = time.UnixMilli(w.FoundMillis())
		out = append(out, e)
	}
	return out, nil
}
