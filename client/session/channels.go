package session

import (
	"context"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/protocol"
)

// The broadcast channels of the account (docs/channels.md): their
// secrets live in the sealed state, so joining, creating and leaving save
// it; the node only ever sees channel ids and ciphertext.

// Channel returns the joined channel of topic, or an error wrapping
// ErrNotJoined.
func (s *Session) Channel(topic string) (client.ChannelEntry, error) {
	e, ok := s.state.Channel(topic)
	if !ok {
		return e, fmt.Errorf("%w: %s", ErrNotJoined, topic)
	}
	return e, nil
}

// Channels returns the joined channels, in the order they were joined.
func (s *Session) Channels() []client.ChannelEntry { return s.state.Channels }

// CreateChannel makes a channel of topic with a new secret and keeps it
// in the state; a topic already joined is an error wrapping
// ErrChannelExists.
func (s *Session) CreateChannel(topic string, now time.Time) (client.ChannelEntry, error) {
	if _, ok := s.state.Channel(topic); ok {
		return client.ChannelEntry{}, fmt.Errorf("%w: %s", ErrChannelExists, topic)
	}
	secret, err := channel.NewSecret()
	if err != nil {
		return client.ChannelEntry{}, err
	}
	e, _, err := s.state.JoinChannel(channel.Share{Topic: topic, Secret: secret}, now)
	if err != nil {
		return client.ChannelEntry{}, err
	}
	return e, s.Save()
}

// JoinChannel joins the channel of sh and keeps it in the state. Joining
// it again changes nothing (added is false); a topic joined with another
// secret is an error wrapping client.ErrChannelConflict.
func (s *Session) JoinChannel(sh channel.Share, now time.Time) (e client.ChannelEntry, added bool, err error) {
	e, added, err = s.state.JoinChannel(sh, now)
	if err != nil || !added {
		return e, added, err
	}
	return e, true, s.Save()
}

// LeaveChannel forgets the channel of topic and its secret; one not
// joined is an error wrapping ErrNotJoined.
func (s *Session) LeaveChannel(topic string) error {
	if !s.state.LeaveChannel(topic) {
		return fmt.Errorf("%w: %s", ErrNotJoined, topic)
	}
	return s.Save()
}

// PostToChannel signs text with the account's identity key and posts it,
// sealed, to the joined channel of topic; it returns the post's id.
func (s *Session) PostToChannel(ctx context.Context, topic, text string, ttl time.Duration, maxHops uint8) (protocol.PostID, error) {
	e, err := s.Channel(topic)
	if err != nil {
		return protocol.PostID{}, err
	}
	return s.acct.PostToChannel(ctx, e.Secret.Keys(), text, ttl, maxHops)
}

// ChannelPosts reads the posts the node keeps of the channel of keys
// after sequence number after, oldest first, each opened and checked; it
// returns them and the sequence number of the last.
func (s *Session) ChannelPosts(ctx context.Context, keys channel.Keys, after uint64) ([]client.ReadPost, uint64, error) {
	id := protocol.ChannelID(keys.ID)
	var read []client.ReadPost
	for {
		posts, err := s.c.ChannelFetch(ctx, id, after, 0)
		if err != nil {
			return read, after, err
		}
		if len(posts) == 0 {
			return read, after, nil
		}
		for _, m := range posts {
			read = append(read, s.acct.ReadPost(ctx, keys, m))
		}
		after = posts[len(posts)-1].Seq
	}
}
