package memstore_test

import (
	"errors"
	"testing"

	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/node/storetest"
	"github.com/quicprochat/qpc/protocol"
)

// TestSemantics holds the twin to the semantics node/store is held to.
func TestSemantics(t *testing.T) {
	storetest.Run(t, func(t *testing.T, c storetest.Config) storetest.Store {
		s := memstore.New(memstore.Options{
			Limits:             c.Limits,
			MaxAccounts:        c.MaxAccounts,
			MaxKeyPackages:     c.MaxKeyPackages,
			Mesh:               c.Mesh,
			Channels:           c.Channels,
			MaxGroups:          c.MaxGroups,
			MaxCommitsPerGroup: c.MaxCommitsPerGroup,
			Now:                c.Now,
		})
		t.Cleanup(func() {
			if err := s.CheckIntegrity(); err != nil && !errors.Is(err, protocol.ErrStoreClosed) {
				t.Errorf("Check: %v", err)
			}
			if err := s.Close(); err != nil && !errors.Is(err, protocol.ErrStoreClosed) {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}, storetest.Sentinels{
		InvalidUser:     memstore.ErrInvalidUser,
		EmptyKeyPackage: memstore.ErrEmptyKeyPackage,
		BadSuite:        memstore.ErrBadSuite,
		PayloadTooLarge: memstore.ErrPayloadTooLarge,
		InvalidState:    memstore.ErrInvalidState,
		MaxUserLen:      memstore.MaxUserLen,
		MaxDomainLen:    memstore.MaxDomainLen,
	})
}
