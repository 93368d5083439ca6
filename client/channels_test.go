package client

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/protocol"
)

const testDomain = "n.mesh"

// testAccount is name@n.mesh with new keys on f.
func testAccount(t *testing.T, c *Client, name string) *Account {
	t.Helper()
	keys, err := identity.GenerateUserKeys()
	if err != nil {
		t.Fatal(err)
	}
	return &Account{Client: c, Domain: testDomain, User: name, Keys: keys}
}

// publish makes a's keys what f answers for a's name.
func publish(t *testing.T, f *fakeChannelNode, a *Account) {
	t.Helper()
	b, err := a.Keys.Bundle(a.Address())
	if err != nil {
		t.Fatal(err)
	}
	if f.published == nil {
		f.published = map[string]protocol.PublishedKeys{}
	}
	k := protocol.PublishedKeys{IdentityKey: b.IdentityKey, HPKEKey: b.HPKEKey, Signature: b.Signature}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published[a.User] = k
	// The fake node's key transparency log holds what it publishes, so
	// that its answers carry proofs as a real node's do.
	if f.log == nil {
		f.log = newTestLog(t, a.Domain, nil, nil)
	}
	f.log.publish(a.Address(), k)
}

func testKeys(t *testing.T) channel.Keys {
	t.Helper()
	s, err := channel.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s.Keys()
}

// sealedPost is a post of text by author, signed with key, as a node hands it
// out.
func sealedPost(t *testing.T, keys channel.Keys, author string, key *identity.UserKeys, text string, at time.Time) protocol.ChannelMessage {
	t.Helper()
	body, err := channel.Seal(keys, author, key.Identity, text, at)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.ChannelMessage{Channel: protocol.ChannelID(keys.ID), Seq: 1, Body: body}
}

func TestPostToChannelSealsWithTheAccountsIdentityKey(t *testing.T) {
	want := protocol.PostID(chanID(4))
	f := &fakeChannelNode{postID: want[:]}
	alice := testAccount(t, fakeClient(t, f), "alice")
	keys := testKeys(t)
	id, err := alice.PostToChannel(testCtx(t), keys, "hello kiez", 2*time.Hour, 4)
	if err != nil || id != want {
		t.Fatalf("PostToChannel = %x, %v", id, err)
	}
	if string(f.post.channel) != string(keys.ID[:]) || f.post.ttl != 7200 || f.post.hops != 4 {
		t.Errorf("the node got channel %x, ttl %d, hops %d", f.post.channel, f.post.ttl, f.post.hops)
	}
	m, err := channel.Open(keys, f.post.body)
	if err != nil {
		t.Fatal(err)
	}
	if m.Author != "alice@n.mesh" || m.Text != "hello kiez" || !m.AuthorKey.Equal(alice.Keys.IdentityPublic()) {
		t.Errorf("the post opens as %+v", m)
	}
}

func TestPostToChannelRefusesABadTextWithoutSendingIt(t *testing.T) {
	f := &fakeChannelNode{}
	alice := testAccount(t, fakeClient(t, f), "alice")
	for _, text := range []string{"", strings.Repeat("x", channel.MaxText+1), "\xff"} {
		if _, err := alice.PostToChannel(testCtx(t), testKeys(t), text, 0, 0); !errors.Is(err, channel.ErrText) {
			t.Errorf("a text of %d bytes: %v, want ErrText", len(text), err)
		}
	}
	if f.calls != 0 {
		t.Errorf("%d calls reached the node", f.calls)
	}
}

func TestReadPostTellsWhoseKeySignedThePost(t *testing.T) {
	f := &fakeChannelNode{}
	c := fakeClient(t, f)
	alice, bob, mallory := testAccount(t, c, "alice"), testAccount(t, c, "bob"), testAccount(t, c, "mallory")
	publish(t, f, alice)
	publish(t, f, bob)
	keys := testKeys(t)
	at := time.UnixMilli(1_800_000_000_000)
	tests := []struct {
		name    string
		post    protocol.ChannelMessage
		status  PostStatus
		mention string
	}{
		{"a post signed with its author's published key", sealedPost(t, keys, "alice@n.mesh", alice.Keys, "hi", at), PostVerified, ""},
		{"an author on this node named without the domain's case", sealedPost(t, keys, "alice@N.Mesh", alice.Keys, "hi", at), PostVerified, ""},
		{"a post in alice's name signed with mallory's key", sealedPost(t, keys, "alice@n.mesh", mallory.Keys, "send me money", at), PostMismatch, "alice@n.mesh"},
		{"a post by an author with no published key", sealedPost(t, keys, "carol@n.mesh", mallory.Keys, "hi", at), PostUnverified, "carol@n.mesh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bob.ReadPost(testCtx(t), keys, tt.post)
			if r.Status != tt.status || r.Message == nil || r.Message.Text == "" {
				t.Fatalf("read as %v (%q, %v), want %v", r.Status, r.Reason, r.Err, tt.status)
			}
			if (tt.status == PostVerified) != (r.Reason == "") || !strings.Contains(r.Reason, tt.mention) {
				t.Errorf("reason %q, want one that mentions %q only when not verified", r.Reason, tt.mention)
			}
		})
	}
	if r := bob.ReadPost(testCtx(t), keys, tests[3].post); !errors.Is(r.Err, protocol.ErrUnknownUser) {
		t.Errorf("the unverified post's error is %v, want the node's unknown user", r.Err)
	}
}

func TestReadPostLooksEachAuthorUpOncePerRun(t *testing.T) {
	f := &fakeChannelNode{}
	c := fakeClient(t, f)
	alice, bob := testAccount(t, c, "alice"), testAccount(t, c, "bob")
	publish(t, f, alice)
	keys := testKeys(t)
	for i := range 5 {
		at := time.UnixMilli(1_800_000_000_000 + int64(i))
		if r := bob.ReadPost(testCtx(t), keys, sealedPost(t, keys, "alice@n.mesh", alice.Keys, "hi", at)); r.Status != PostVerified {
			t.Fatalf("post %d: %v %q", i, r.Status, r.Reason)
		}
		if r := bob.ReadPost(testCtx(t), keys, sealedPost(t, keys, "gone@n.mesh", alice.Keys, "hi", at)); r.Status != PostUnverified {
			t.Fatalf("post %d by gone: %v %q", i, r.Status, r.Reason)
		}
	}
	if f.resolves != 2 {
		t.Errorf("%d lookups for 10 posts by 2 authors, want 2", f.resolves)
	}
}

// TestReadPostLooksAnAuthorUpAgainWhenAPostDoesNotMatchTheKeptKey: a
// reader that follows a channel keeps the keys it looked up; a post signed
// with the author's new keys is verified after one more lookup, and old
// posts that do not match cost no more lookups.
func TestReadPostLooksAnAuthorUpAgainWhenAPostDoesNotMatchTheKeptKey(t *testing.T) {
	f := &fakeChannelNode{}
	c := fakeClient(t, f)
	alice, bob := testAccount(t, c, "alice"), testAccount(t, c, "bob")
	publish(t, f, alice)
	keys := testKeys(t)
	at := time.UnixMilli(1_800_000_000_000)
	if r := bob.ReadPost(testCtx(t), keys, sealedPost(t, keys, "alice@n.mesh", alice.Keys, "old", at)); r.Status != PostVerified {
		t.Fatalf("the old key's post: %v %q", r.Status, r.Reason)
	}
	newAlice := testAccount(t, c, "alice")
	publish(t, f, newAlice)
	if r := bob.ReadPost(testCtx(t), keys, sealedPost(t, keys, "alice@n.mesh", newAlice.Keys, "new", at)); r.Status != PostVerified {
		t.Fatalf("the new key's post: %v %q", r.Status, r.Reason)
	}
	for i := range 5 {
		if r := bob.ReadPost(testCtx(t), keys, sealedPost(t, keys, "alice@n.mesh", alice.Keys, "old again", at)); r.Status != PostMismatch {
			t.Fatalf("old post %d after the change: %v %q", i, r.Status, r.Reason)
		}
	}
	if f.resolves != 2 {
		t.Errorf("%d lookups, want 2: the first, and one after the post that did not match", f.resolves)
	}
}

func TestReadPostRejectsWhatDoesNotOpenAndSaysWhy(t *testing.T) {
	f := &fakeChannelNode{}
	c := fakeClient(t, f)
	alice, bob := testAccount(t, c, "alice"), testAccount(t, c, "bob")
	publish(t, f, alice)
	keys, other := testKeys(t), testKeys(t)
	good := sealedPost(t, keys, "alice@n.mesh", alice.Keys, "hi", time.Now()).Body
	with := func(edit func(b []byte) []byte) []byte { return edit(append([]byte(nil), good...)) }
	tests := []struct {
		name   string
		body   []byte
		reason string
	}{
		{"a post of another channel", sealedPost(t, other, "alice@n.mesh", alice.Keys, "hi", time.Now()).Body, RejectWrongChannel},
		{"a post altered on the way", with(func(b []byte) []byte { b[100] ^= 1; return b }), RejectWrongChannel},
		{"a post of a newer format", with(func(b []byte) []byte { b[0] = channel.Version + 1; return b }), RejectVersion},
		{"a post of version 0", with(func(b []byte) []byte { b[0] = 0; return b }), RejectOldVersion},
		{"a truncated post", with(func(b []byte) []byte { return b[:len(b)-1] }), RejectMalformed},
		{"an empty post", nil, RejectMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bob.ReadPost(testCtx(t), keys, protocol.ChannelMessage{Channel: protocol.ChannelID(keys.ID), Body: tt.body})
			if r.Status != PostRejected || r.Reason != tt.reason || r.Message != nil || r.Err == nil {
				t.Errorf("read as %v %q (%v), want rejected: %q", r.Status, r.Reason, r.Err, tt.reason)
			}
		})
	}
	if f.resolves != 0 {
		t.Errorf("rejected posts made %d key lookups", f.resolves)
	}
}

func TestEveryOpenErrorHasAReason(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{channel.ErrBadSignature, RejectBadSignature},
		{channel.ErrDecrypt, RejectWrongChannel},
		{channel.ErrVersion, RejectVersion},
		{channel.ErrVersionTooOld, RejectOldVersion},
		{channel.ErrMalformed, RejectMalformed},
		{channel.ErrBody, RejectMalformed},
		{errors.New("something new"), RejectMalformed},
	} {
		if got := rejectReason(fmt.Errorf("open: %w", tt.err)); got != tt.want {
			t.Errorf("%v: reason %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestReplaysOfAPostAreSeenAndOtherPostsAreNot(t *testing.T) {
	f := &fakeChannelNode{}
	c := fakeClient(t, f)
	alice, bob := testAccount(t, c, "alice"), testAccount(t, c, "bob")
	publish(t, f, alice)
	keys := testKeys(t)
	at := time.UnixMilli(1_800_000_000_000)
	first := bob.ReadPost(testCtx(t), keys, sealedPost(t, keys, "alice@n.mesh", alice.Keys, "hi", at))
	// Sealed again: a new nonce, so a new body and post id, but the same
	// signed post.
	replay := bob.ReadPost(testCtx(t), keys, sealedPost(t, keys, "alice@n.mesh", alice.Keys, "hi", at))
	later := bob.ReadPost(testCtx(t), keys, sealedPost(t, keys, "alice@n.mesh", alice.Keys, "hi", at.Add(time.Millisecond)))
	rejected := bob.ReadPost(testCtx(t), keys, protocol.ChannelMessage{})
	var r Replays
	for _, tt := range []struct {
		name string
		p    ReadPost
		want bool
	}{
		{"the first post", first, false},
		{"its replay", replay, true},
		{"the same text at another time", later, false},
		{"a rejected post", rejected, false},
		{"the rejected post again", rejected, false},
	} {
		if got := r.Seen(tt.p); got != tt.want {
			t.Errorf("%s: seen %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReplaysForgetTheOldestBeyondTheirBound(t *testing.T) {
	var r Replays
	post := func(i int) ReadPost {
		m := &channel.Message{}
		m.Digest[0], m.Digest[1], m.Digest[2] = byte(i), byte(i>>8), byte(i>>16)
		return ReadPost{Message: m}
	}
	for i := range maxReplays + 1 {
		if r.Seen(post(i)) {
			t.Fatalf("post %d seen before", i)
		}
	}
	if len(r.seen) != maxReplays || r.Seen(post(maxReplays)) == false {
		t.Errorf("remembers %d digests, want %d, the newest among them", len(r.seen), maxReplays)
	}
	if r.Seen(post(0)) {
		t.Error("the oldest digest is still remembered past the bound")
	}
}

func TestPostStatusesReadAsWords(t *testing.T) {
	for s, want := range map[PostStatus]string{PostRejected: "rejected", PostVerified: "verified", PostUnverified: "unverified", PostMismatch: "mismatch"} {
		if s.String() != want {
			t.Errorf("%d reads %q, want %q", s, s, want)
		}
	}
}
