package client

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/keystore"
	"github.com/quicprochat/qpc/internal/atomicfile"
	"github.com/quicprochat/qpc/internal/jsontree"
)

// State is what a client keeps of an account between runs: its private
// keys and session. On disk it is JSON sealed with crypto/keystore under the
// account's OPAQUE export key, so only the password opens it, in
// <state dir>/<user>@<domain>.keystore (mode 0600, dir 0700).
type State struct {
	// Version is the format of the JSON inside; see stateVersion.
	Version int `json:"version"`
	// User and Domain make the account's address, User@Domain.
	User   string `json:"user"`
	Domain string `json:"domain"`
	// Server is the node's address and Fingerprint its certificate's.
	Server      string `json:"server"`
	Fingerprint string `json:"fingerprint"`
	// Keys is this device's private keys (identity.UserKeys binary form).
	// In a version-1 state they were the account's only keys; they stay
	// this device's after the migration (Migrated).
	Keys []byte `json:"keys"`
	// DeviceName is what this device is called in the account's list.
	DeviceName string `json:"device_name,omitempty"`
	// AccountKeySeed is the account key's seed on a device that holds it
	// (the first one, unless the user chose otherwise); empty elsewhere.
	AccountKeySeed []byte `json:"account_key_seed,omitempty"`
	// DeviceList is the account's own device list as this device last
	// published or verified it, signed by the account key. Empty in a
	// state that has not migrated yet (a version-1 state).
	DeviceList []byte `json:"device_list,omitempty"`
	// SessionToken and SessionExpires are the last login's session.
	SessionToken   []byte    `json:"session_token,omitempty"`
	SessionExpires time.Time `json:"session_expires,omitzero"`
	// Contacts are the published keys of the addresses this account has
	// sent to, as last resolved, so that it can still seal to them when
	// their node is not reachable (Account.Known).
	Contacts map[string]identity.PublicBundle `json:"contacts,omitempty"`
	// ContactLists are the signed device lists of those contacts that
	// publish one, by address (Account.KnownLists).
	ContactLists map[string][]byte `json:"contact_lists,omitempty"`
	// Channels are the broadcast channels the account has joined, with
	// their secrets. A state written before channels existed has none.
	Channels []ChannelEntry `json:"channels,omitempty"`
	// CommunityCA holds the community CA certificates (DER) the home node
	// handed out on first use (TrustCommunityCA): key answers for users
	// of other domains must be signed by a node certificate of it.
	CommunityCA [][]byte `json:"community_ca,omitempty"`
	// KT holds the latest key transparency head this account accepted of
	// each domain's log, and the pinned key of its home node's heads
	// (Account.KT). A state written before key transparency has none:
	// the next resolve of each domain takes its head on trust, once.
	KT *KTBook `json:"kt,omitempty"`
}

// stateVersion is the format SaveState writes. Version 1 (before devices)
// had only Keys; LoadState reads it as a version 2 state without a device
// list, which the next login migrates (Migrated).
const stateVersion = 2

// oldestStateVersion is the oldest format LoadState reads.
const oldestStateVersion = 1

// ErrNoState means there is no saved state for an account on this machine.
var ErrNoState = errors.New("no saved keys for this account on this machine")

// ErrStateTooOld and ErrStateTooNew mean a saved state's format version is
// older or newer than this qpc reads.
var (
	ErrStateTooOld = errors.New("saved state format too old")
	ErrStateTooNew = errors.New("saved state format too new: written by a newer qpc")
)

// DefaultStateDir returns $XDG_STATE_HOME/qpc, by default
// ~/.local/state/qpc.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "qpc")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "qpc")
	}
	return "qpc-state"
}

func statePath(dir, user, domain string) string {
	return filepath.Join(dir, strings.ToLower(user+"@"+domain)+".keystore")
}

// SaveState seals s under exportKey and writes it to dir.
func SaveState(dir string, exportKey []byte, s *State) error {
	s.Version = stateVersion
	plain, err := json.Marshal(s)
	if err != nil {
		return err
	}
	sealed, err := keystore.Seal(exportKey, plain)
	if err != nil {
		return fmt.Errorf("seal state: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return atomicfile.Write(statePath(dir, s.User, s.Domain), sealed, 0o600)
}

// HasState reports whether dir holds a saved state of user@domain, which
// tells an account used on this machine before from one never seen here.
func HasState(dir, user, domain string) bool {
	_, err := os.Stat(statePath(dir, user, domain))
	return err == nil
}

// LoadState reads and opens the state of user@domain with exportKey.
func LoadState(dir, user, domain string, exportKey []byte) (*State, error) {
	data, err := os.ReadFile(statePath(dir, user, domain))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s@%s: %w", user, domain, ErrNoState)
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	plain, err := keystore.Open(exportKey, data)
	if err != nil {
		return nil, fmt.Errorf("state of %s@%s: %w", user, domain, err)
	}
	var s State
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, fmt.Errorf("state of %s@%s: %w", user, domain, err)
	}
	switch {
	case s.Version < oldestStateVersion:
		return nil, fmt.Errorf("state of %s@%s: %w: format version %d", user, domain, ErrStateTooOld, s.Version)
	case s.Version > stateVersion:
		return nil, fmt.Errorf("state of %s@%s: %w: format version %d, this qpc reads up to %d", user, domain, ErrStateTooNew, s.Version, stateVersion)
	}
	return &s, nil
}

// Migrated reports whether s belongs to an account with a device list;
// false for a state written before devices (version 1), whose keys become
// the account key and first device at the next login.
func (s *State) Migrated() bool { return len(s.DeviceList) > 0 }

// UserKeys decodes this device's keys.
func (s *State) UserKeys() (*identity.UserKeys, error) {
	k, err := identity.UnmarshalUserKeys(s.Keys)
	if err != nil {
		return nil, fmt.Errorf("saved keys: %w", err)
	}
	return k, nil
}

// Device returns this device's id, derived from its identity key.
func (s *State) Device() (identity.DeviceID, error) {
	k, err := s.UserKeys()
	if err != nil {
		return identity.DeviceID{}, err
	}
	return identity.DeviceIDOf(k.IdentityPublic()), nil
}

// AccountKey returns the account key on a device that holds it, nil
// elsewhere.
func (s *State) AccountKey() (*identity.AccountKey, error) {
	if len(s.AccountKeySeed) == 0 {
		return nil, nil
	}
	k, err := identity.AccountKeyFromSeed(s.AccountKeySeed)
	if err != nil {
		return nil, fmt.Errorf("saved account key: %w", err)
	}
	return &k, nil
}

// OwnList verifies the saved device list for the state's address; nil
// for a state without one.
func (s *State) OwnList() (*identity.DeviceList, error) {
	if len(s.DeviceList) == 0 {
		return nil, nil
	}
	l, err := identity.VerifyDeviceList(s.DeviceList, strings.ToLower(s.User+"@"+s.Domain))
	if err != nil {
		return nil, fmt.Errorf("saved device list: %w", err)
	}
	return l, nil
}

// Current names the account commands use when none is given: written in
// the clear to <state dir>/current, since it must be read before the
// password is asked for. It holds no secret.
type Current struct {
	User        string `json:"user"`
	Domain      string `json:"domain"`
	Server      string `json:"server"`
	Fingerprint string `json:"fingerprint"`
}

// Address returns user@domain.
func (c Current) Address() string { return c.User + "@" + c.Domain }

// SaveCurrent records cur as the default account.
func SaveCurrent(dir string, cur Current) error {
	data, err := json.MarshalIndent(cur, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return atomicfile.Write(filepath.Join(dir, "current"), append(data, '\n'), 0o600)
}

// LoadCurrent reads the default account; ErrNoState if there is none.
func LoadCurrent(dir string) (Current, error) {
	var cur Current
	data, err := os.ReadFile(filepath.Join(dir, "current"))
	if errors.Is(err, fs.ErrNotExist) {
		return cur, fmt.Errorf("no account yet (qpc register or qpc login first): %w", ErrNoState)
	}
	if err != nil {
		return cur, err
	}
	// jsontree, not encoding/json: the router build's `qpc status` and
	// `qpc mesh state` read this file, and encoding/json's decoder costs
	// its flash about 100 KB (issue 25); SaveCurrent still writes it.
	o, err := jsontree.ParseObject(data)
	if err == nil {
		for _, f := range []struct {
			key string
			v   *string
		}{{"user", &cur.User}, {"domain", &cur.Domain}, {"server", &cur.Server}, {"fingerprint", &cur.Fingerprint}} {
			if *f.v, err = o.StringField(f.key); err != nil {
				break
			}
		}
	}
	if err != nil {
		return Current{}, fmt.Errorf("%s: %w", filepath.Join(dir, "current"), err)
	}
	return cur, nil
}

// ChannelEntry is a broadcast channel the account has joined. Its secret
// reads and posts: it never leaves the sealed state except in a share
// string the user asks for.
type ChannelEntry struct {
	// Topic is the channel's name, normalized (channel.NormalizeTopic).
	Topic string
	// Secret is the channel secret; in the state's JSON as unpadded
	// base64url.
	Secret channel.Secret
	// Joined is when the account created or joined the channel.
	Joined time.Time
}

// Share returns the share string parts of e.
func (e ChannelEntry) Share() channel.Share { return channel.Share{Topic: e.Topic, Secret: e.Secret} }

// channelEntryJSON is ChannelEntry as the state stores it.
type channelEntryJSON struct {
	Topic  string    `json:"topic"`
	Secret string    `json:"secret"`
	Joined time.Time `json:"joined,omitzero"`
}

var secretEncoding = base64.RawURLEncoding.Strict()

// MarshalJSON writes the secret as unpadded base64url.
func (e ChannelEntry) MarshalJSON() ([]byte, error) {
	return json.Marshal(channelEntryJSON{Topic: e.Topic, Secret: secretEncoding.EncodeToString(e.Secret[:]), Joined: e.Joined})
}

// UnmarshalJSON reads what MarshalJSON writes; a secret that is not 32
// bytes of unpadded base64url is an error.
func (e *ChannelEntry) UnmarshalJSON(data []byte) error {
	var j channelEntryJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	raw, err := secretEncoding.DecodeString(j.Secret)
	if err != nil || len(raw) != channel.SecretSize {
		return fmt.Errorf("channel %q: secret is not %d bytes of unpadded base64url", j.Topic, channel.SecretSize)
	}
	*e = ChannelEntry{Topic: j.Topic, Joined: j.Joined}
	copy(e.Secret[:], raw)
	return nil
}

// Channel returns the joined channel of topic (normalized first).
func (s *State) Channel(topic string) (ChannelEntry, bool) {
	topic, err := channel.NormalizeTopic(topic)
	if err != nil {
		return ChannelEntry{}, false
	}
	for _, e := range s.Channels {
		if e.Topic == topic {
			return e, true
		}
	}
	return ChannelEntry{}, false
}

// JoinChannel adds the channel of sh, joined at now, and returns its
// entry. Joining a channel again with the same secret changes nothing
// (added is false); a topic already joined with another secret fails with
// an error wrapping ErrChannelConflict, since one topic names one channel
// in the state.
func (s *State) JoinChannel(sh channel.Share, now time.Time) (e ChannelEntry, added bool, err error) {
	topic, err := channel.NormalizeTopic(sh.Topic)
	if err != nil {
		return ChannelEntry{}, false, err
	}
	if old, ok := s.Channel(topic); ok {
		if old.Secret != sh.Secret {
			return old, false, fmt.Errorf("%w: %q (leave it first to join this one)", ErrChannelConflict, topic)
		}
		return old, false, nil
	}
	e = ChannelEntry{Topic: topic, Secret: sh.Secret, Joined: now}
	s.Channels = append(s.Channels, e)
	return e, true, nil
}

// LeaveChannel removes the channel of topic; false if it was not joined.
func (s *State) LeaveChannel(topic string) bool {
	topic, err := channel.NormalizeTopic(topic)
	if err != nil {
		return false
	}
	n := len(s.Channels)
	s.Channels = slices.DeleteFunc(s.Channels, func(e ChannelEntry) bool { return e.Topic == topic })
	return len(s.Channels) != n
}
