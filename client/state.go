package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/crypto/keystore"
	"github.com/quicprochat/qpc/internal/atomicfile"
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
	// Keys is the account's private keys (identity.UserKeys binary form).
	Keys []byte `json:"keys"`
	// SessionToken and SessionExpires are the last login's session.
	SessionToken   []byte    `json:"session_token,omitempty"`
	SessionExpires time.Time `json:"session_expires,omitzero"`
	// Contacts are the published keys of the addresses this account has
	// sent to, as last resolved, so that it can still seal to them when
	// their node is not reachable (Account.Known).
	Contacts map[string]identity.PublicBundle `json:"contacts,omitempty"`
}

const stateVersion = 1

// ErrNoState means there is no saved state for an account on this machine.
var ErrNoState = errors.New("no saved keys for this account on this machine")

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
	if s.Version != stateVersion {
		return nil, fmt.Errorf("state of %s@%s: format version %d, this qpc reads %d", user, domain, s.Version, stateVersion)
	}
	return &s, nil
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
	if err := json.Unmarshal(data, &cur); err != nil {
		return cur, fmt.Errorf("%s: %w", filepath.Join(dir, "current"), err)
	}
	return cur, nil
}
