package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/protocol"
)

// This file is what an account does with broadcast channels: it seals its
// posts with its identity key, and opens the posts of others and checks
// them against the keys their authors publish. The node only sees the
// channel id and the sealed body.

// PostToChannel seals text as the account's post, signed with its
// identity key, for the channel of keys and publishes it; it returns the
// post's id once the node has it on disk. ttl and maxHops of 0 take the
// node's defaults. A text that is empty, not UTF-8 or longer than
// channel.MaxText fails with channel.ErrText before anything is sent.
func (a *Account) PostToChannel(ctx context.Context, keys channel.Keys, text string, ttl time.Duration, maxHops uint8) (protocol.PostID, error) {
	body, err := channel.Seal(keys, a.Address(), a.Keys.Identity, text, time.Now())
	if err != nil {
		return protocol.PostID{}, err
	}
	return a.Client.ChannelPost(ctx, protocol.ChannelID(keys.ID), body, ttl, maxHops)
}

// PostStatus is what a reader can tell of a channel post.
type PostStatus int

const (
	// PostRejected means the post did not open (ReadPost.Reason says
	// why); it must not be shown.
	PostRejected PostStatus = iota
	// PostVerified means the post is signed with the identity key that
	// its author's home node publishes for the author's address.
	PostVerified
	// PostUnverified means the signature is sound but the author's
	// published key could not be fetched to compare (ReadPost.Reason says
	// why): the post may be the author's, or anyone's who holds the
	// channel secret.
	PostUnverified
	// PostMismatch means the signature is sound but made with a key other
	// than the one the author publishes: someone who holds the channel
	// secret wrote it in the author's name.
	PostMismatch
)

func (s PostStatus) String() string {
	switch s {
	case PostVerified:
		return "verified"
	case PostUnverified:
		return "unverified"
	case PostMismatch:
		return "mismatch"
	}
	return "rejected"
}

// The reasons of a PostRejected, as ReadPost.Reason gives them.
const (
	RejectBadSignature = "bad signature"
	RejectWrongChannel = "not for this channel's key"
	RejectMalformed    = "malformed"
	RejectVersion      = "unknown version"
	RejectOldVersion   = "version too old"
)

// ReadPost is a channel post as its reader sees it.
type ReadPost struct {
	// Post is the post as the node handed it over.
	Post protocol.ChannelMessage
	// Message is the opened post; nil when Status is PostRejected.
	Message *channel.Message
	Status  PostStatus
	// Reason says in a few words why Status is not PostVerified: one of
	// the Reject constants for PostRejected.
	Reason string
	// Err is the error behind Reason: Open's for PostRejected, the key
	// lookup's for PostUnverified.
	Err error
}

// resolveRetry is how long ReadPost keeps to a failed lookup of an
// author's key before it asks the node again, so that a channel full of
// posts by an unreachable author costs one lookup, not one per post.
const resolveRetry = time.Minute

type resolveFailure struct {
	err error
	at  time.Time
}

// ReadPost opens m with the keys of its channel and classifies it:
// rejected when it does not open, otherwise verified, unverified or
// mismatch by comparing the key that signed it with the identity key its
// author publishes (Resolve, which caches). Showing each post once is up
// to the reader: see Replays.
func (a *Account) ReadPost(ctx context.Context, keys channel.Keys, m protocol.ChannelMessage) ReadPost {
	r := ReadPost{Post: m}
	msg, err := channel.Open(keys, m.Body)
	if err != nil {
		r.Status, r.Reason, r.Err = PostRejected, rejectReason(err), err
		return r
	}
	r.Message = msg
	author, err := a.authorPeer(ctx, msg.Author)
	_, isDevice := author.DeviceByKey(msg.AuthorKey)
	if err == nil && !isDevice && a.mayRefresh(msg.Author) {
		// The keys kept from an earlier lookup may be older than the post
		// (a reader that follows a channel for days): ask once more.
		a.Forget(msg.Author)
		author, err = a.authorPeer(ctx, msg.Author)
		_, isDevice = author.DeviceByKey(msg.AuthorKey)
	}
	switch {
	case err != nil:
		r.Status, r.Err = PostUnverified, err
		r.Reason = fmt.Sprintf("cannot fetch the published key of %s: %v", msg.Author, err)
	case !isDevice:
		r.Status = PostMismatch
		r.Reason = fmt.Sprintf("signed with a key that is not one of the devices %s publishes", msg.Author)
	default:
		r.Status = PostVerified
	}
	return r
}

func rejectReason(err error) string {
	switch {
	case errors.Is(err, channel.ErrBadSignature):
		return RejectBadSignature
	case errors.Is(err, channel.ErrDecrypt):
		return RejectWrongChannel
	case errors.Is(err, channel.ErrVersion):
		return RejectVersion
	case errors.Is(err, channel.ErrVersionTooOld):
		return RejectOldVersion
	}
	return RejectMalformed
}

// mayRefresh reports whether author's keys may be looked up again because
// a post does not match them: once per resolveRetry, so that a channel
// that keeps many posts an author signed before a key change costs one
// lookup, not one per post.
func (a *Account) mayRefresh(author string) bool {
	pa, err := a.parse(author)
	if err != nil {
		return false
	}
	addr := pa.String()
	a.mu.Lock()
	defer a.mu.Unlock()
	if at, ok := a.refreshed[addr]; ok && time.Since(at) < resolveRetry {
		return false
	}
	if a.refreshed == nil {
		a.refreshed = map[string]time.Time{}
	}
	a.refreshed[addr] = time.Now()
	return true
}

// authorPeer returns the account author as published, remembering a
// failed lookup for resolveRetry.
func (a *Account) authorPeer(ctx context.Context, author string) (Peer, error) {
	pa, err := a.parse(author)
	if err != nil {
		return Peer{}, err
	}
	pa = pa.Account()
	addr := pa.String()
	a.mu.Lock()
	f, failed := a.unresolved[addr]
	a.mu.Unlock()
	if failed && time.Since(f.at) < resolveRetry {
		return Peer{}, f.err
	}
	p, err := a.resolve(ctx, pa)
	if err != nil {
		if ctx.Err() == nil { // a lookup cut short says nothing of the author
			a.mu.Lock()
			if a.unresolved == nil {
				a.unresolved = map[string]resolveFailure{}
			}
			a.unresolved[addr] = resolveFailure{err, time.Now()}
			a.mu.Unlock()
		}
		return Peer{}, err
	}
	return p, nil
}

// maxReplays bounds the digests Replays remembers: a replay of a post
// older than that many posts is shown again.
const maxReplays = 1 << 16

// Replays drops replayed posts. Anyone who holds a channel's secret can
// seal a post of someone else's again: that gives a new body and post id,
// which nodes relay as new, but the same Message.Digest. The zero value is
// ready to use.
type Replays struct {
	seen  map[[32]byte]struct{}
	order [][32]byte // oldest first, to forget beyond maxReplays
}

// Seen reports whether a post with p's digest was seen before, and
// remembers p's. A rejected post has no digest and is never seen.
func (r *Replays) Seen(p ReadPost) bool {
	if p.Message == nil {
		return false
	}
	d := p.Message.Digest
	if _, ok := r.seen[d]; ok {
		return true
	}
	if r.seen == nil {
		r.seen = map[[32]byte]struct{}{}
	}
	if len(r.order) == maxReplays {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
	r.seen[d] = struct{}{}
	r.order = append(r.order, d)
	return false
}
