package store

import (
	"testing"

	"github.com/quicprochat/qpc/node/memstore"
	"github.com/quicprochat/qpc/node/storetest"
	"github.com/quicprochat/qpc/protocol"
)

// TestSemantics holds the bbolt store to the semantics every store of a
// node shares, with small expiry chunks so that Expire, ExpireMesh and
// ExpireChannels run in several transactions.
func TestSemantics(t *testing.T) {
	storetest.Run(t, func(t *testing.T, c storetest.Config) storetest.Store {
		s := openTest(t, optionsOf(c))
		s.expireChunk = 2
		return s
	}, sentinels)
}

// TestSemanticsWithoutWAL runs the suite on the old path: every group
// commit a bbolt transaction (Options.NoWAL).
func TestSemanticsWithoutWAL(t *testing.T) {
	storetest.Run(t, func(t *testing.T, c storetest.Config) storetest.Store {
		opts := optionsOf(c)
		opts.NoWAL = true
		s := openTest(t, opts)
		s.expireChunk = 2
		return s
	}, sentinels)
}

// TestSemanticsWALCheckpointEveryGroup runs the suite with a log that
// checkpoints after every group, so that reads meet queues whose acks and
// messages were just folded into bbolt as well as ones only the log holds.
func TestSemanticsWALCheckpointEveryGroup(t *testing.T) {
	storetest.Run(t, func(t *testing.T, c storetest.Config) storetest.Store {
		opts := optionsOf(c)
		opts.WALMaxBytes = 1
		s := openTest(t, opts)
		s.expireChunk = 2
		return s
	}, sentinels)
}

// sentinels are this store's errors for what the contract refuses.
var sentinels = storetest.Sentinels{
	InvalidUser:     ErrInvalidUser,
	EmptyKeyPackage: ErrEmptyKeyPackage,
	BadSuite:        ErrBadSuite,
	PayloadTooLarge: ErrPayloadTooLarge,
	InvalidState:    ErrInvalidState,
	MaxUserLen:      MaxUserLen,
	MaxDomainLen:    MaxDomainLen,
}

// optionsOf is the Options of the suite's bounds c.
func optionsOf(c storetest.Config) Options {
	return Options{
		Limits:             c.Limits,
		MaxAccounts:        c.MaxAccounts,
		MaxKeyPackages:     c.MaxKeyPackages,
		Mesh:               c.Mesh,
		Channels:           c.Channels,
		MaxGroups:          c.MaxGroups,
		MaxCommitsPerGroup: c.MaxCommitsPerGroup,
		Now:                c.Now,
	}
}

// meshOptions are the suite's store-and-forward test bounds.
func meshOptions() Options { return optionsOf(storetest.MeshConfig()) }

// chanOptions are the suite's test bounds with channel bounds quota.
func chanOptions(quota protocol.ChannelQuota) Options { return optionsOf(storetest.ChanConfig(quota)) }

// mlsOptions are the suite's test bounds with small sequencer bounds.
func mlsOptions(maxGroups, maxCommits int) Options {
	return optionsOf(storetest.MLSConfig(maxGroups, maxCommits))
}

// TestTheTwinHasTheseDefaults keeps memstore's defaults, which the suite
// leaves some bounds at, equal to this store's.
func TestTheTwinHasTheseDefaults(t *testing.T) {
	ours, twin := (&Options{}).WithDefaults(), memstore.Options{}.WithDefaults()
	for _, c := range []struct {
		name        string
		ours, twins any
	}{
		{"Limits", ours.Limits, twin.Limits},
		{"MaxAccounts", ours.MaxAccounts, twin.MaxAccounts},
		{"MaxKeyPackages", ours.MaxKeyPackages, twin.MaxKeyPackages},
		{"Mesh", ours.Mesh, twin.Mesh},
		{"Channels", ours.Channels, twin.Channels},
		{"MaxGroups", ours.MaxGroups, twin.MaxGroups},
		{"MaxCommitsPerGroup", ours.MaxCommitsPerGroup, twin.MaxCommitsPerGroup},
		{"MaxUserLen", MaxUserLen, memstore.MaxUserLen},
		{"MaxDomainLen", MaxDomainLen, memstore.MaxDomainLen},
	} {
		if c.ours != c.twins {
			t.Errorf("%s: memstore's default %+v, node/store's %+v", c.name, c.twins, c.ours)
		}
	}
}
