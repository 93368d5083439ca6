package client

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// ErrCommunityCAChanged means the home node handed out another community
// CA than the one this account recorded on first use.
var ErrCommunityCAChanged = errors.New("community CA changed")

// CommunityCAChangedError says which account's community CA changed, from
// what to what. It matches ErrCommunityCAChanged.
type CommunityCAChangedError struct {
	Account   string
	Server    string
	Known     string // fingerprints of the recorded CA certificates
	Presented string
}

func (e *CommunityCAChangedError) Error() string {
	return fmt.Sprintf("%v: the node %s hands %s a community CA (%s) other than the one recorded on first use (%s): "+
		"someone may be trying to pass off keys of other domains. Ask your node's admin whether the community "+
		"really has a new CA; nothing was sent", ErrCommunityCAChanged, e.Server, e.Account, e.Presented, e.Known)
}

func (e *CommunityCAChangedError) Unwrap() error { return ErrCommunityCAChanged }

// CAFingerprints names CA certificates (DER) by the SHA-256 of each, in
// hex, comma-separated.
func CAFingerprints(ders [][]byte) string {
	var b bytes.Buffer
	for i, der := range ders {
		if i > 0 {
			b.WriteString(",")
		}
		sum := sha256.Sum256(der)
		b.WriteString(hex.EncodeToString(sum[:]))
	}
	return b.String()
}

// TrustCommunityCA records presented, the community CA the account's home
// node (pinned by its certificate) hands out, on first use, and refuses a
// CA other than the recorded one with *CommunityCAChangedError. It
// reports whether it recorded the CA now; the caller saves the state
// then. A node that hands out none (federation off) changes nothing.
func (s *State) TrustCommunityCA(presented [][]byte) (recorded bool, err error) {
	if len(presented) == 0 {
		return false, nil
	}
	for i, der := range presented {
		if _, err := x509.ParseCertificate(der); err != nil {
			return false, fmt.Errorf("community CA certificate %d from %s: %w", i, s.Server, err)
		}
	}
	if len(s.CommunityCA) == 0 {
		s.CommunityCA = presented
		return true, nil
	}
	if !slices.EqualFunc(s.CommunityCA, presented, bytes.Equal) {
		return false, &CommunityCAChangedError{
			Account: s.User + "@" + s.Domain, Server: s.Server,
			Known: CAFingerprints(s.CommunityCA), Presented: CAFingerprints(presented),
		}
	}
	return false, nil
}

// communityRoots returns the pool of the community CA certificates.
func communityRoots(ders [][]byte) (*x509.CertPool, error) {
	if len(ders) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	for _, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("community CA: %w", err)
		}
		pool.AddCert(c)
	}
	return pool, nil
}
