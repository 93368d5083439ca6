package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// Bounds of published keys: an Ed25519 key, an X-Wing key and an Ed25519
// signature, with room for other key types later. A key package of the
// post-quantum suite is about 2.6 KiB (its X-Wing init and leaf keys are
// 1216 bytes each), one of suite 1 about 0.3 KiB; 8 KiB leaves room for
// extensions and keeps what one account can hold, two suites of
// store.Options.MaxKeyPackages packages and a last-resort one each, where
// one suite of 16 KiB packages had it: about 1.6 MiB.
const (
	maxIdentityKey = 64
	maxHPKEKey     = 4096
	maxSignature   = 256
	maxKeyPackage  = 8 << 10
)

// ResolveUser returns the published keys of a user of this node, or of
// another node through federation, with the proof of the home node's key
// transparency log (consistent from knownSize, the size of the latest
// head of that log the client accepted). It is rate-limited per
// connection and never answers faster than ResolveMinTime, found or not.
func (c *Conn) ResolveUser(ctx context.Context, addr string, knownSize uint64) (protocol.PublishedKeys, error) {
	start := c.svc.now()
	if _, err := c.user(); err != nil {
		return protocol.PublishedKeys{}, err
	}
	if !c.resolve.take(1, start) {
		return protocol.PublishedKeys{}, protocol.ErrRateLimited
	}
	defer c.svc.resolveFloor(start)
	a, err := c.svc.parseAddress(addr)
	if err != nil {
		return protocol.PublishedKeys{}, err
	}
	a.device = "" // keys are the account's: its list names every device
	if !a.local {
		return c.svc.fed.ResolveUser(ctx, a.String(), knownSize)
	}
	return c.svc.localKeys(a.user, knownSize)
}

// localKeys returns the published keys of a user of this node. "No such
// user" and "published no keys" are one answer, ErrNoSuchKeys, so that a
// lookup does not tell which names exist; whether a name is taken is
// still visible to registration, which is throttled per source.
func (s *Service) localKeys(user string, knownSize uint64) (protocol.PublishedKeys, error) {
	k, err := s.store.Keys(user)
	if errors.Is(err, protocol.ErrUnknownUser) || errors.Is(err, protocol.ErrNoKeys) {
		return protocol.PublishedKeys{}, protocol.ErrNoSuchKeys
	}
	if err != nil {
		return k, err
	}
	return s.withProof(user, k, knownSize)
}

// resolveFloor sleeps until ResolveMinTime has passed since start, so that
// a lookup takes as long whether the user exists or not.
func (s *Service) resolveFloor(start time.Time) {
	if wait := s.limits.ResolveMinTime - s.now().Sub(start); wait > 0 {
		time.Sleep(wait)
	}
}

// UploadKeyPackages adds MLS key packages for the logged-in user. The
// packages of one upload, the last-resort one included, are of one cipher
// suite (KeyPackageSuite reads it); a client that publishes several suites
// uploads each on its own, so that each suite's bound and last-resort
// package stand alone.
func (c *Conn) UploadKeyPackages(pkgs [][]byte, lastResort []byte) error {
	_, queue, err := c.queue()
	if err != nil {
		return err
	}
	var suite uint16
	same := func(what string, p []byte) error {
		s, err := KeyPackageSuite(p)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if suite != 0 && s != suite {
			return errorf(protocol.ErrBadRequest, "%s is of cipher suite 0x%04x, the upload's others of 0x%04x (one suite per upload)", what, s, suite)
		}
		suite = s
		return nil
	}
	for i, p := range pkgs {
		if len(p) == 0 || len(p) > maxKeyPackage {
			return errorf(protocol.ErrBadRequest, "key package %d has %d bytes (1-%d)", i, len(p), maxKeyPackage)
		}
		if err := same(fmt.Sprintf("key package %d", i), p); err != nil {
			return err
		}
	}
	if len(lastResort) > maxKeyPackage {
		return errorf(protocol.ErrBadRequest, "last-resort key package has %d bytes (at most %d)", len(lastResort), maxKeyPackage)
	}
	if len(lastResort) == 0 {
		lastResort = nil
	} else if err := same("the last-resort key package", lastResort); err != nil {
		return err
	}
	if suite == 0 {
		return nil // nothing to add
	}
	return c.svc.store.AddKeyPackages(queue, suite, pkgs, lastResort)
}

// FetchKeyPackage takes one key package of MLS cipher suite suite (0 means
// SuiteClassic) of a user of this node, or of another node through
// federation.
func (c *Conn) FetchKeyPackage(ctx context.Context, addr string, suite uint16) (pkg []byte, lastResort bool, err error) {
	if _, err := c.user(); err != nil {
		return nil, false, err
	}
	a, err := c.svc.parseAddress(addr)
	if err != nil {
		return nil, false, err
	}
	if !a.local {
		return c.svc.fed.FetchKeyPackage(ctx, a.String(), fetchSuite(suite))
	}
	return c.svc.store.TakeKeyPackage(a.queue(), fetchSuite(suite))
}
