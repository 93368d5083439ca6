package client

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/sealed"
)

// ContentDeviceSync is the sealed content type of a SyncBundle: what a
// device that approves a link sends the new device, so that it starts with
// the account's contacts, verification marks and channels.
const ContentDeviceSync uint16 = 3

// ErrBadSyncBundle means a device sync bundle does not decode or breaks
// one of its bounds.
var ErrBadSyncBundle = errors.New("malformed device sync bundle")

// SyncBundleVersion is the version ParseSyncBundle reads and
// SyncBundle.MarshalBinary writes.
const SyncBundleVersion = 1

// Bounds of a SyncBundle: the whole must fit one sealed message.
const (
	MaxSyncContacts = 256
	MaxSyncChannels = 64
)

// SyncBundle is what the approving device seals to a newly linked one
// (ContentDeviceSync). It is JSON, so that fields can be added; it starts
// with its version.
type SyncBundle struct {
	// Version is SyncBundleVersion.
	Version int `json:"v"`
	// AccountKeySeed is the account key's seed, only when the user asked
	// the new device to hold it (qpc device approve --with-account-key).
	AccountKeySeed []byte `json:"account_key_seed,omitempty"`
	// Contacts are the account's contacts with their verification marks.
	Contacts []SyncContact `json:"contacts,omitempty"`
	// Channels are the broadcast channels the account joined. (Groups and
	// DMs are not here: the new device joins them by the Welcome of the
	// approving device's commit.)
	Channels []ChannelEntry `json:"channels,omitempty"`
}

// SyncContact is one contact in a SyncBundle.
type SyncContact struct {
	// Address is user@domain.
	Address string `json:"address"`
	// AccountKey is the account key last seen for Address.
	AccountKey []byte `json:"account_key"`
	// Verified and VerifiedKey are the user's mark: they compared safety
	// numbers under VerifiedKey.
	Verified    bool   `json:"verified,omitempty"`
	VerifiedKey []byte `json:"verified_key,omitempty"`
}

// MarshalBinary checks b's bounds and encodes it; the result fits one
// sealed message.
func (b *SyncBundle) MarshalBinary() ([]byte, error) {
	c := *b
	c.Version = SyncBundleVersion
	if err := c.check(); err != nil {
		return nil, err
	}
	out, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSyncBundle, err)
	}
	if len(out) > sealed.MaxBodySize {
		return nil, fmt.Errorf("%w: %d bytes, more than a message holds (%d)", ErrBadSyncBundle, len(out), sealed.MaxBodySize)
	}
	return out, nil
}

// ParseSyncBundle decodes and checks what MarshalBinary wrote. Failures
// wrap ErrBadSyncBundle.
func ParseSyncBundle(raw []byte) (*SyncBundle, error) {
	if len(raw) > sealed.MaxBodySize {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadSyncBundle, len(raw))
	}
	var head struct {
		Version int `json:"v"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSyncBundle, err)
	}
	if head.Version != SyncBundleVersion {
		return nil, fmt.Errorf("%w: version %d, this qpc reads %d", ErrBadSyncBundle, head.Version, SyncBundleVersion)
	}
	var b SyncBundle
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSyncBundle, err)
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	return &b, nil
}

// check enforces the bounds and the shape of every field.
func (b *SyncBundle) check() error {
	if len(b.AccountKeySeed) != 0 && len(b.AccountKeySeed) != identity.AccountKeySeedSize {
		return fmt.Errorf("%w: account key seed of %d bytes", ErrBadSyncBundle, len(b.AccountKeySeed))
	}
	if len(b.Contacts) > MaxSyncContacts || len(b.Channels) > MaxSyncChannels {
		return fmt.Errorf("%w: %d contacts, %d channels (at most %d, %d)", ErrBadSyncBundle,
			len(b.Contacts), len(b.Channels), MaxSyncContacts, MaxSyncChannels)
	}
	seen := map[string]bool{}
	for i, c := range b.Contacts {
		if err := identity.CheckAddress(c.Address); err != nil {
			return fmt.Errorf("%w: contact %d: %w", ErrBadSyncBundle, i, err)
		}
		if seen[c.Address] {
			return fmt.Errorf("%w: contact %q twice", ErrBadSyncBundle, c.Address)
		}
		seen[c.Address] = true
		if len(c.AccountKey) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: contact %q: account key of %d bytes", ErrBadSyncBundle, c.Address, len(c.AccountKey))
		}
		if c.Verified != (len(c.VerifiedKey) != 0) || len(c.VerifiedKey) != 0 && len(c.VerifiedKey) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: contact %q: verified key of %d bytes", ErrBadSyncBundle, c.Address, len(c.VerifiedKey))
		}
	}
	topics := map[string]bool{}
	for i, ch := range b.Channels {
		t, err := channel.NormalizeTopic(ch.Topic)
		if err != nil || t != ch.Topic {
			return fmt.Errorf("%w: channel %d: topic %q", ErrBadSyncBundle, i, ch.Topic)
		}
		if topics[t] {
			return fmt.Errorf("%w: channel %q twice", ErrBadSyncBundle, t)
		}
		topics[t] = true
	}
	return nil
}
