package protocol

import (
	"bytes"
	"fmt"

	"capnproto.org/go/capnp/v3"
)

// This file converts orderCommit (of NodeService and FederationService)
// between the node's types and the wire. Client, node and federation use
// the same functions: what a node reads from a client or a peer is a bad
// request when it breaks the schema's rules, what a client or a node
// reads from the node that answered a malformed answer.

// HomeClaim is the arguments of an orderCommit: a claim for the
// group's home node, with its proof.
type HomeClaim struct {
	Home string
	CommitClaim
}

// commitClaimParams are the Params of an orderCommit of either service.
type commitClaimParams interface {
	Group() ([]byte, error)
	Home() (string, error)
	Epoch() uint64
	Commit() ([]byte, error)
	EpochKey() ([]byte, error)
	Proof() ([]byte, error)
	NextEpochKey() ([]byte, error)
}

// CommitClaimFromWire reads the arguments of an orderCommit, copying the
// group id, the commit and the proof out of the message. A group id that
// is not 1 to MaxGroupID bytes, an empty commit, or a key or proof
// that is not the length of an Ed25519 key or signature is a bad request,
// refused before anything is copied; the commit's upper bound is the
// node's payload limit, and the proof's validity, which the node checks.
func CommitClaimFromWire[P commitClaimParams](p P) (HomeClaim, error) {
	group, err := p.Group()
	if err != nil {
		return HomeClaim{}, BadRequest(fmt.Errorf("group: %w", err))
	}
	if len(group) == 0 || len(group) > MaxGroupID {
		return HomeClaim{}, BadRequest(fmt.Errorf("group id of %d bytes (1-%d)", len(group), MaxGroupID))
	}
	home, err := p.Home()
	if err != nil {
		return HomeClaim{}, BadRequest(fmt.Errorf("home: %w", err))
	}
	commit, err := p.Commit()
	if err != nil {
		return HomeClaim{}, BadRequest(fmt.Errorf("commit: %w", err))
	}
	if len(commit) == 0 {
		return HomeClaim{}, BadRequest(fmt.Errorf("empty commit"))
	}
	key, err := claimField("epoch key", p.EpochKey, ClaimKeySize)
	if err != nil {
		return HomeClaim{}, err
	}
	proof, err := claimField("proof", p.Proof, ClaimProofSize)
	if err != nil {
		return HomeClaim{}, err
	}
	next, err := claimField("next epoch key", p.NextEpochKey, ClaimKeySize)
	if err != nil {
		return HomeClaim{}, err
	}
	return HomeClaim{Home: home, CommitClaim: CommitClaim{
		Group: bytes.Clone(group), Epoch: p.Epoch(), Commit: bytes.Clone(commit), Key: key, Proof: proof, NextKey: next,
	}}, nil
}

// claimField reads one of a claim's fixed-length proof fields, copied.
func claimField(name string, get func() ([]byte, error), size int) ([]byte, error) {
	b, err := get()
	if err != nil {
		return nil, BadRequest(fmt.Errorf("%s: %w", name, err))
	}
	if len(b) != size {
		return nil, BadRequest(fmt.Errorf("%s of %d bytes, want %d", name, len(b), size))
	}
	return bytes.Clone(b), nil
}

// CommitClaimToWire writes c into the Params of an orderCommit of either
// service.
func CommitClaimToWire[P interface {
	SetGroup([]byte) error
	SetHome(string) error
	SetEpoch(uint64)
	SetCommit([]byte) error
	SetEpochKey([]byte) error
	SetProof([]byte) error
	SetNextEpochKey([]byte) error
}](c HomeClaim, p P) error {
	if err := p.SetGroup(c.Group); err != nil {
		return err
	}
	if err := p.SetHome(c.Home); err != nil {
		return err
	}
	p.SetEpoch(c.Epoch)
	if err := p.SetEpochKey(c.Key); err != nil {
		return err
	}
	if err := p.SetProof(c.Proof); err != nil {
		return err
	}
	if err := p.SetNextEpochKey(c.NextKey); err != nil {
		return err
	}
	return p.SetCommit(c.Commit)
}

// SetCommitOrder allocates the results of an orderCommit (of either
// service) with alloc and writes o into them.
func SetCommitOrder[R interface {
	SetAccepted(bool)
	SetNext(uint64)
	NewMissing(int32) (capnp.DataList, error)
}](alloc func() (R, error), o CommitOrder) error {
	res, err := alloc()
	if err != nil {
		return err
	}
	res.SetAccepted(o.Accepted)
	res.SetNext(o.Next)
	if len(o.Missing) == 0 {
		return nil
	}
	list, err := res.NewMissing(int32(len(o.Missing)))
	if err != nil {
		return err
	}
	for i, c := range o.Missing {
		if err := list.Set(i, c); err != nil {
			return err
		}
	}
	return nil
}

// CommitOrderFromWire reads the results of an orderCommit (of either
// service), copying the commits out of the message. An accepted claim
// with missing commits, more than MaxMissingCommits of them, or an
// empty one, fails with an error wrapping ErrMalformedAnswer.
func CommitOrderFromWire[R interface {
	Accepted() bool
	Next() uint64
	Missing() (capnp.DataList, error)
}](res R) (CommitOrder, error) {
	list, err := res.Missing()
	if err != nil {
		return CommitOrder{}, fmt.Errorf("missing commits: %w", err)
	}
	switch n := list.Len(); {
	case n > MaxMissingCommits:
		return CommitOrder{}, fmt.Errorf("%w: %d missing commits, at most %d", ErrMalformedAnswer, n, MaxMissingCommits)
	case n > 0 && res.Accepted():
		return CommitOrder{}, fmt.Errorf("%w: an accepted commit with %d missing", ErrMalformedAnswer, n)
	}
	o := CommitOrder{Accepted: res.Accepted(), Next: res.Next()}
	if list.Len() > 0 {
		o.Missing = make([][]byte, list.Len())
	}
	for i := range o.Missing {
		c, err := list.At(i)
		if err != nil {
			return CommitOrder{}, fmt.Errorf("missing commit %d: %w", i, err)
		}
		if len(c) == 0 {
			return CommitOrder{}, fmt.Errorf("%w: missing commit %d is empty", ErrMalformedAnswer, i)
		}
		o.Missing[i] = bytes.Clone(c)
	}
	return o, nil
}
