package client

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/quicprochat/qpc/transport"
)

// KnownNodes is a trust-on-first-use record of node certificates, like
// ssh's known_hosts: the first contact with a server records its
// certificate fingerprint, and later contacts must present the same one.
//
// The file has one "host:port fingerprint" pair a line; blank lines and
// lines starting with '#' are ignored.
type KnownNodes struct {
	Path string
	// Warn is told about each server trusted for the first time.
	Warn func(server, fingerprint string)

	mu sync.Mutex
}

// DefaultKnownNodesPath returns $XDG_CONFIG_HOME/qpc/known_nodes, by default
// ~/.config/qpc/known_nodes.
func DefaultKnownNodesPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "known_nodes"
	}
	return filepath.Join(dir, "qpc", "known_nodes")
}

// Check accepts fingerprint for server if it matches the record, or records
// it when server is new.
func (k *KnownNodes) Check(server, fingerprint string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	known, line, err := k.lookup(server)
	if err != nil {
		return err
	}
	if known != "" {
		if known != fingerprint {
			return &KnownNodeChangedError{Server: server, File: k.Path, Line: line, Known: known, Presented: fingerprint}
		}
		return nil
	}
	if err := k.add(server, fingerprint); err != nil {
		return err
	}
	if k.Warn != nil {
		k.Warn(server, fingerprint)
	}
	return nil
}

func (k *KnownNodes) lookup(server string) (fingerprint string, line int, err error) {
	f, err := os.Open(k.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("known nodes: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return "", 0, fmt.Errorf("%s:%d: %w: want \"host:port fingerprint\"", k.Path, n, ErrBadKnownNodes)
		}
		fp, err := transport.ParseFingerprint(fields[1])
		if err != nil {
			return "", 0, fmt.Errorf("%s:%d: %w: %v", k.Path, n, ErrBadKnownNodes, err)
		}
		if fields[0] == server {
			return fp, n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", 0, fmt.Errorf("known nodes: %w", err)
	}
	return "", 0, nil
}

func (k *KnownNodes) add(server, fingerprint string) error {
	if err := os.MkdirAll(filepath.Dir(k.Path), 0o700); err != nil {
		return fmt.Errorf("known nodes: %w", err)
	}
	f, err := os.OpenFile(k.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("known nodes: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s %s\n", server, fingerprint)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("known nodes: %w", err)
	}
	return nil
}
