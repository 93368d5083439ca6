package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/mesh/flood"
	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// Store is what the suite tests: every store a node keeps, as one value.
type Store interface {
	node.Store
	forward.MeshStore
	flood.ChannelStore
	// Totals returns how many messages and payload bytes all mailboxes
	// hold and how many accounts there are (for metrics).
	Totals() (messages, bytes int64, accounts int, err error)
}

// Config bounds a store under test. A zero field means the
// implementation's default, which must be node/store's (see its
// Options): the suite leaves some bounds at their defaults.
type Config struct {
	// Limits bound each mailbox and all of them.
	Limits node.MailboxLimits
	// MaxAccounts bounds the accounts.
	MaxAccounts int
	// MaxKeyPackages bounds a user's key packages of one suite, the
	// last-resort one not counted.
	MaxKeyPackages int
	// Mesh bounds the store-and-forward store.
	Mesh protocol.MeshQuota
	// Channels bounds the channel store.
	Channels protocol.ChannelQuota
	// MaxGroups bounds the MLS groups whose commits are ordered.
	MaxGroups int
	// MaxCommitsPerGroup bounds the commits kept per group.
	MaxCommitsPerGroup int
	// Now is the clock Fetch uses to leave out expired messages.
	Now func() time.Time
}

// Opener opens a new, empty store with c for one test. It registers
// whatever cleanup the store needs (Close, consistency checks) with t; a
// test may have closed the store already, so a second Close must be
// harmless there.
type Opener func(t *testing.T, c Config) Store

// Sentinels are the errors an implementation returns for input its
// contract refuses but that node has no sentinel of its own for. Every
// field must be set: the suite checks each with errors.Is.
type Sentinels struct {
	// InvalidUser refuses a user name that is empty or longer than
	// MaxUserLen.
	InvalidUser error
	// EmptyKeyPackage refuses a key package of no bytes.
	EmptyKeyPackage error
	// BadSuite refuses key packages of cipher suite 0.
	BadSuite error
	// PayloadTooLarge refuses a message larger than a mailbox ever
	// holds.
	PayloadTooLarge error
	// InvalidState refuses a seen or mesh state that Release or
	// SetStatus does not record.
	InvalidState error
	// MaxUserLen is the longest user name the store takes.
	MaxUserLen int
	// MaxDomainLen is the longest domain the store holds envelopes for.
	MaxDomainLen int
}

// Checker is a store that can check its own consistency; the suite calls
// CheckIntegrity where a test wants the store's books to agree with its contents.
type Checker interface {
	CheckIntegrity() error
}

// sentinel is the implementation's Sentinels, for the tests.
var sentinel Sentinels

// Run runs the semantics suite against the stores open opens: ordering,
// bounds, dedup, expiry, name holds, sessions, commit ordering and typed
// errors, each as a subtest.
func Run(t *testing.T, open Opener, sentinels Sentinels) {
	if sentinels.InvalidUser == nil || sentinels.EmptyKeyPackage == nil || sentinels.BadSuite == nil ||
		sentinels.PayloadTooLarge == nil || sentinels.InvalidState == nil || sentinels.MaxUserLen <= 0 || sentinels.MaxDomainLen <= 0 {
		t.Fatalf("storetest.Run: every Sentinels field must be set: %+v", sentinels)
	}
	sentinel = sentinels
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// tests are the suite's tests, by area; names read as sentences.
var tests = []struct {
	name string
	fn   func(*testing.T, Opener)
}{
	// Accounts, name holds, sessions.
	{"Accounts", testAccounts},
	{"DeleteAccountRemovesEverythingOfTheUserOnly", testDeleteAccountRemovesEverythingOfTheUserOnly},
	{"AccountsBeyondMaxAccountsAreRefused", testAccountsBeyondMaxAccountsAreRefused},
	{"ADeletedNameIsHeldUntilItsTimeAndExpireForgetsTheHold", testADeletedNameIsHeldUntilItsTimeAndExpireForgetsTheHold},
	{"Sessions", testSessions},
	{"ExpiredSessionsAreReturnedUntilExpireRemovesThem", testExpiredSessionsAreReturnedUntilExpireRemovesThem},
	{"ASessionIsBoundToTheAccountItWasGrantedTo", testASessionIsBoundToTheAccountItWasGrantedTo},
	{"ChangeRecordReplacesTheRecordAndEndsEverySessionButTheKeptOnes", testChangeRecordReplacesTheRecordAndEndsEverySessionButTheKeptOnes},
	{"EndSessionsEndsOneAccountsSessionsOnly", testEndSessionsEndsOneAccountsSessionsOnly},

	// Key directory.
	{"PublishedKeys", testPublishedKeys},
	{"KeyPackagesAreTakenOldestFirstOnce", testKeyPackagesAreTakenOldestFirstOnce},
	{"TheLastResortKeyPackageStays", testTheLastResortKeyPackageStays},
	{"TooManyKeyPackagesAddsNothing", testTooManyKeyPackagesAddsNothing},
	{"EmptyKeyPackagesAreRefused", testEmptyKeyPackagesAreRefused},
	{"KeyPackagesOfEachSuiteStandApart", testKeyPackagesOfEachSuiteStandApart},
	{"KeyPackageCountCountsAllButTheLastResort", testKeyPackageCountCountsAllButTheLastResort},

	// Mailboxes.
	{"SequenceNumbersAreConsecutiveFromOneAndNeverReused", testSequenceNumbersAreConsecutiveFromOneAndNeverReused},
	{"FetchHonoursAfterSeqAndLimit", testFetchHonoursAfterSeqAndLimit},
	{"FetchLeavesOutExpiredMessages", testFetchLeavesOutExpiredMessages},
	{"Ack", testAck},
	{"MailboxFullByCount", testMailboxFullByCount},
	{"MailboxFullByBytes", testMailboxFullByBytes},
	{"UnknownRecipientsFailOnlyTheirMessages", testUnknownRecipientsFailOnlyTheirMessages},
	{"Expire", testExpire},
	{"TotalsSumEveryMailbox", testTotalsSumEveryMailbox},
	{"EnqueueOfNothingReturnsNoReceipts", testEnqueueOfNothingReturnsNoReceipts},
	{"EnqueueDoesNotKeepTheCallersPayload", testEnqueueDoesNotKeepTheCallersPayload},
	{"TheNodeWideCapRefusesWithStoreFull", testTheNodeWideCapRefusesWithStoreFull},
	{"ConcurrentEnqueuesGetUniqueConsecutiveSeqs", testConcurrentEnqueuesGetUniqueConsecutiveSeqs},

	// Devices: a queue and key packages per device.
	{"EachDeviceHasItsOwnQueueAndAPlainRecipientIsThePrimarys", testEachDeviceHasItsOwnQueueAndAPlainRecipientIsThePrimarys},
	{"MessagesFromBeforeDevicesStayWithTheFirstPrimaryAndItsSeqsGoOn", testMessagesFromBeforeDevicesStayWithTheFirstPrimaryAndItsSeqsGoOn},
	{"ARevokedDeviceGetsNothingAndLosesItsQueue", testARevokedDeviceGetsNothingAndLosesItsQueue},
	{"TheBoundsOfAMailboxHoldForAllTheAccountsQueues", testTheBoundsOfAMailboxHoldForAllTheAccountsQueues},
	{"EachDeviceHasItsOwnKeyPackages", testEachDeviceHasItsOwnKeyPackages},
	{"DeleteAccountRemovesEveryDevicesQueueAndKeyPackages", testDeleteAccountRemovesEveryDevicesQueueAndKeyPackages},
	{"DevicesAreCheckedAndTyped", testDevicesAreCheckedAndTyped},
	{"MessagesOfEveryDevicesQueueExpire", testMessagesOfEveryDevicesQueueExpire},

	// Messages that come through the mesh.
	{"EnqueueFromTheMeshStoresAnIDOnce", testEnqueueFromTheMeshStoresAnIDOnce},
	{"ConcurrentEnqueuesOfOneIDStoreItOnce", testConcurrentEnqueuesOfOneIDStoreItOnce},
	{"AMessageTheMailboxRefusesLeavesItsIDUnseen", testAMessageTheMailboxRefusesLeavesItsIDUnseen},
	{"EnqueueFromTheMeshStopsAtMaxSeen", testEnqueueFromTheMeshStopsAtMaxSeen},
	{"HoldAndEnqueueOfOneIDHaveOneWinner", testHoldAndEnqueueOfOneIDHaveOneWinner},
	{"MessagesDeliveredFromTheMeshCountAgainstTheNeighboursSeenShare", testMessagesDeliveredFromTheMeshCountAgainstTheNeighboursSeenShare},

	// Store-and-forward.
	{"HeldEnvelopesComeBackInOrderWithEveryField", testHeldEnvelopesComeBackInOrderWithEveryField},
	{"HeldSeqsAreNeverReusedAfterRelease", testHeldSeqsAreNeverReusedAfterRelease},
	{"HoldStopsExactlyAtEachBound", testHoldStopsExactlyAtEachBound},
	{"HoldRefusesSeenIDs", testHoldRefusesSeenIDs},
	{"HoldRefusesEnvelopesItCannotStore", testHoldRefusesEnvelopesItCannotStore},
	{"ReleaseSetsTheSeenStateAndIgnoresUnknownSeqs", testReleaseSetsTheSeenStateAndIgnoresUnknownSeqs},
	{"MeshStatsDescribeEachQueue", testMeshStatsDescribeEachQueue},
	{"ExpireMeshRemovesWhatExpiredAndNothingElse", testExpireMeshRemovesWhatExpiredAndNothingElse},
	{"SetStatusKeepsFinalStates", testSetStatusKeepsFinalStates},
	{"SetStatusRecordsWhereWhenAndWhy", testSetStatusRecordsWhereWhenAndWhy},
	{"StatusesOfAnotherSenderAreUnknown", testStatusesOfAnotherSenderAreUnknown},
	{"HoldOfNothingAndAfterClose", testHoldOfNothingAndAfterClose},
	{"NeighbourQuotaCapsOneNeighboursForgedOriginsAndNotTheOthers", testNeighbourQuotaCapsOneNeighboursForgedOriginsAndNotTheOthers},
	{"OriginQuotaKeepsAForgerOfADomainApartFromItsNode", testOriginQuotaKeepsAForgerOfADomainApartFromItsNode},
	{"EnvelopeSeenSetHasAShareForEachNeighbourAndRoomForLocalEnvelopes", testEnvelopeSeenSetHasAShareForEachNeighbourAndRoomForLocalEnvelopes},

	// Broadcast channels.
	{"KeptPostsComeBackInOrderWithEveryField", testKeptPostsComeBackInOrderWithEveryField},
	{"PostSeqsIncreaseAndAreNeverReused", testPostSeqsIncreaseAndAreNeverReused},
	{"AddPostsKeepsEachBoundExactly", testAddPostsKeepsEachBoundExactly},
	{"AddPostsRefusesSeenIDs", testAddPostsRefusesSeenIDs},
	{"ExpireChannelsRemovesWhatExpiredAndNothingElse", testExpireChannelsRemovesWhatExpiredAndNothingElse},
	{"ChannelMethodsOfNothingAfterCancelAndAfterClose", testChannelMethodsOfNothingAfterCancelAndAfterClose},
	{"ChannelSeenSetHasAShareForEachNeighbourAndRoomForLocalPosts", testChannelSeenSetHasAShareForEachNeighbourAndRoomForLocalPosts},

	// The commit sequencer.
	{"TheFirstClaimOfAnEpochWinsAndTheLoserGetsWhatItMissed", testTheFirstClaimOfAnEpochWinsAndTheLoserGetsWhatItMissed},
	{"ARefusalReturnsAtMostMaxMissingCommits", testARefusalReturnsAtMostMaxMissingCommits},
	{"AGroupKeepsOnlyItsLastCommits", testAGroupKeepsOnlyItsLastCommits},
	{"ANewGroupBeyondMaxGroupsEvictsTheGroupClaimedLongestAgo", testANewGroupBeyondMaxGroupsEvictsTheGroupClaimedLongestAgo},
	{"BadClaimsAreRefusedWithErrBadRequestAndChangeNothing", testBadClaimsAreRefusedWithErrBadRequestAndChangeNothing},
	{"OnlyAMemberOfTheEpochMovesTheSequencer", testOnlyAMemberOfTheEpochMovesTheSequencer},
	{"ConcurrentClaimsOfOneEpochAcceptExactlyOne", testConcurrentClaimsOfOneEpochAcceptExactlyOne},

	// Every method after Close.
	{"EveryMethodFailsAfterClose", testEveryMethodFailsAfterClose},
}

// T0 is the suite's "now": the clock of testConfig and the time stamps of
// its records.
var T0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// t0 is T0, short for the tests.
var t0 = T0

// testConfig is small mailbox and key-package bounds and a fixed clock at
// t0; everything else at its default.
func testConfig() Config {
	return Config{
		Limits:         node.MailboxLimits{MaxMessages: 50, MaxBytes: 4096},
		MaxKeyPackages: 5,
		Now:            func() time.Time { return t0 },
	}
}

// check fails the test if s checks its consistency and finds it broken.
func check(s Store) error {
	if c, ok := s.(Checker); ok {
		return c.CheckIntegrity()
	}
	return nil
}

// mustCreate creates accounts for users, created at t0.
func mustCreate(t testing.TB, s Store, users ...string) {
	t.Helper()
	for _, u := range users {
		if err := s.CreateAccount(node.Account{User: u, Record: []byte("record of " + u), Created: t0}); err != nil {
			t.Fatalf("CreateAccount(%q): %v", u, err)
		}
	}
}

// msg is a message to user enqueued at t0 that expires after ttl.
func msg(user string, payload string, ttl time.Duration) protocol.NewMessage {
	return protocol.NewMessage{Recipient: user, Payload: []byte(payload), Enqueued: t0, Expires: t0.Add(ttl)}
}

// enqueue enqueues msgs and fails the test on a store error.
func enqueue(t testing.TB, s Store, msgs ...protocol.NewMessage) []protocol.Receipt {
	t.Helper()
	rs, err := s.Enqueue(context.Background(), msgs)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if len(rs) != len(msgs) {
		t.Fatalf("Enqueue returned %d receipts for %d messages", len(rs), len(msgs))
	}
	return rs
}

// seqs returns the seqs of msgs, space-separated.
func seqs(msgs []protocol.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, m.Seq)
	}
	return b.String()
}

// isClosed reports whether err says the store is closed.
func isClosed(err error) bool { return errors.Is(err, protocol.ErrStoreClosed) }

// sampleKeys are published keys of the sizes clients publish.
var sampleKeys = protocol.PublishedKeys{
	IdentityKey: bytes.Repeat([]byte{1}, 32),
	HPKEKey:     bytes.Repeat([]byte{2}, 1216),
	Signature:   bytes.Repeat([]byte{3}, 64),
	Published:   t0.Add(time.Nanosecond),
}

// EqualHeld compares envelopes, times by instant.
func EqualHeld(a, b protocol.HeldEnvelope) bool {
	return a.Expires.Equal(b.Expires) && a.Held.Equal(b.Held) && bytes.Equal(a.Data, b.Data) &&
		a.ID == b.ID && a.Domain == b.Domain && a.Origin == b.Origin && a.Sender == b.Sender &&
		a.Recipient == b.Recipient && a.From == b.From && a.OriginID == b.OriginID && a.Seq == b.Seq
}
