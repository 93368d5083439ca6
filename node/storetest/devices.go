package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// Device ids of the device tests: devA is the primary of alice's first
// list, devB her second device, devC one she never had.
const (
	devA = "00000000000000aa"
	devB = "00000000000000bb"
	devC = "00000000000000cc"
)

// putDevices publishes sampleKeys for user with devices current and
// primary first.
func putDevices(t testing.TB, s Store, user string, current ...string) {
	t.Helper()
	d := node.Devices{}
	if len(current) > 0 {
		d = node.Devices{Primary: current[0], Current: current}
	}
	if err := s.PutKeys(user, sampleKeys, d); err != nil {
		t.Fatalf("PutKeys(%q, %v): %v", user, current, err)
	}
}

// mustFetch fetches all of queue's messages and returns their payloads.
func mustFetch(t testing.TB, s Store, queue string) []string {
	t.Helper()
	msgs, err := s.Fetch(queue, 0, 100)
	if err != nil {
		t.Fatalf("Fetch(%q): %v", queue, err)
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Payload)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testEachDeviceHasItsOwnQueueAndAPlainRecipientIsThePrimarys(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	putDevices(t, s, "alice", devA, devB)
	if d, err := s.Devices("alice"); err != nil || d.Primary != devA || !equalStrings(d.Current, []string{devA, devB}) {
		t.Fatalf("Devices = %+v, %v", d, err)
	}
	rs := enqueue(t, s, msg("alice", "to the primary", time.Hour), msg("alice#"+devB, "to b", time.Hour),
		msg("alice#"+devA, "to a by name", time.Hour), msg("alice#"+devB, "to b again", time.Hour))
	for i, want := range []uint64{1, 1, 2, 2} {
		if rs[i].Err != nil || rs[i].Seq != want {
			t.Errorf("receipt %d: %+v, want seq %d (each queue numbers its own)", i, rs[i], want)
		}
	}
	if got := mustFetch(t, s, "alice"); !equalStrings(got, []string{"to the primary", "to a by name"}) {
		t.Errorf("the primary's queue, unnamed: %q", got)
	}
	if got := mustFetch(t, s, "alice#"+devA); !equalStrings(got, []string{"to the primary", "to a by name"}) {
		t.Errorf("the primary's queue, by name: %q", got)
	}
	if got := mustFetch(t, s, "alice#"+devB); !equalStrings(got, []string{"to b", "to b again"}) {
		t.Errorf("b's queue: %q", got)
	}
	// An ack is per queue: b's leaves a's alone.
	if n, err := s.Ack("alice#"+devB, 2); err != nil || n != 2 {
		t.Errorf("Ack of b's queue = %d, %v; want 2", n, err)
	}
	if got := mustFetch(t, s, "alice"); len(got) != 2 {
		t.Errorf("the primary's queue after b acked: %q", got)
	}
	if n, b, err := s.Depth("alice#" + devB); err != nil || n != 0 || b != 0 {
		t.Errorf("Depth of b's queue after its ack = %d, %d, %v", n, b, err)
	}
	if last, err := s.LastSeq("alice#" + devB); err != nil || last != 2 {
		t.Errorf("LastSeq of b's queue = %d, %v; want 2", last, err)
	}
	if rs := enqueue(t, s, msg("alice#"+devB, "after the ack", time.Hour)); rs[0].Err != nil || rs[0].Seq != 3 {
		t.Errorf("b's seqs go on after an ack: %+v", rs[0])
	}
	if err := check(s); err != nil {
		t.Error(err)
	}
}

func testMessagesFromBeforeDevicesStayWithTheFirstPrimaryAndItsSeqsGoOn(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	putDevices(t, s, "alice") // keys without a list, as clients before devices publish them
	enqueue(t, s, msg("alice", "old 1", time.Hour), msg("alice", "old 2", time.Hour), msg("alice", "old 3", time.Hour))
	if _, err := s.Ack("alice", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fetch("alice#"+devA, 0, 10); !errors.Is(err, protocol.ErrDeviceRevoked) {
		t.Errorf("a device of an account without a list: %v, want ErrDeviceRevoked", err)
	}
	putDevices(t, s, "alice", devA)
	if got := mustFetch(t, s, "alice#"+devA); !equalStrings(got, []string{"old 2", "old 3"}) {
		t.Errorf("the first primary's queue holds %q, want the messages from before devices", got)
	}
	if rs := enqueue(t, s, msg("alice", "new", time.Hour)); rs[0].Err != nil || rs[0].Seq != 4 {
		t.Errorf("the first message after the list: %+v, want seq 4", rs[0])
	}
	// A later list with another primary: plain recipients go to it, the
	// first primary keeps its queue.
	putDevices(t, s, "alice", devB, devA)
	if rs := enqueue(t, s, msg("alice", "to the new primary", time.Hour)); rs[0].Err != nil || rs[0].Seq != 1 {
		t.Errorf("to the new primary: %+v, want seq 1", rs[0])
	}
	if got := mustFetch(t, s, "alice"); !equalStrings(got, []string{"to the new primary"}) {
		t.Errorf("the new primary's queue: %q", got)
	}
	if got := mustFetch(t, s, "alice#"+devA); !equalStrings(got, []string{"old 2", "old 3", "new"}) {
		t.Errorf("the first primary's queue: %q", got)
	}
	if err := check(s); err != nil {
		t.Error(err)
	}
}

func testARevokedDeviceGetsNothingAndLosesItsQueue(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	putDevices(t, s, "alice", devA, devB)
	enqueue(t, s, msg("alice#"+devB, "for b", time.Hour), msg("alice", "for a", time.Hour))
	if err := s.AddKeyPackages("alice#"+devB, node.SuiteClassic, [][]byte{[]byte("kp of b")}, nil); err != nil {
		t.Fatal(err)
	}
	putDevices(t, s, "alice", devA)
	revoked := map[string]error{}
	_, revoked["Fetch"] = s.Fetch("alice#"+devB, 0, 10)
	_, revoked["Ack"] = s.Ack("alice#"+devB, 10)
	_, _, revoked["Depth"] = s.Depth("alice#" + devB)
	_, revoked["LastSeq"] = s.LastSeq("alice#" + devB)
	_, _, revoked["TakeKeyPackage"] = s.TakeKeyPackage("alice#"+devB, node.SuiteClassic)
	_, _, revoked["KeyPackageCount"] = s.KeyPackageCount("alice#"+devB, node.SuiteClassic)
	revoked["AddKeyPackages"] = s.AddKeyPackages("alice#"+devB, node.SuiteClassic, [][]byte{[]byte("kp")}, nil)
	revoked["Enqueue"] = enqueue(t, s, msg("alice#"+devB, "too late", time.Hour))[0].Err
	_, revoked["Fetch of a device never listed"] = s.Fetch("alice#"+devC, 0, 10)
	for name, err := range revoked {
		if !errors.Is(err, protocol.ErrDeviceRevoked) {
			t.Errorf("%s for a revoked device: %v, want ErrDeviceRevoked", name, err)
		}
	}
	if got := mustFetch(t, s, "alice"); !equalStrings(got, []string{"for a"}) {
		t.Errorf("the current device's queue: %q", got)
	}
	// The revoked device's messages no longer count against the account
	// or the node.
	if msgs, bytes, _, err := s.Totals(); err != nil || msgs != 1 || bytes != int64(len("for a")) {
		t.Errorf("Totals after the revocation = %d messages, %d bytes, %v", msgs, bytes, err)
	}
	// Linked again, it starts over: nothing from before comes back.
	putDevices(t, s, "alice", devA, devB)
	if got := mustFetch(t, s, "alice#"+devB); len(got) != 0 {
		t.Errorf("a device linked again finds %q", got)
	}
	if n, _, err := s.KeyPackageCount("alice#"+devB, node.SuiteClassic); err != nil || n != 0 {
		t.Errorf("a device linked again has %d key packages, %v", n, err)
	}
	if err := check(s); err != nil {
		t.Error(err)
	}
}

func testTheBoundsOfAMailboxHoldForAllTheAccountsQueues(t *testing.T, open Opener) {
	opts := testConfig()
	opts.Limits = node.MailboxLimits{MaxMessages: 3, MaxBytes: 100}
	s := open(t, opts)
	mustCreate(t, s, "alice", "bob")
	putDevices(t, s, "alice", devA, devB)
	rs := enqueue(t, s, msg("alice", "1", time.Hour), msg("alice#"+devB, "1", time.Hour),
		msg("bob", "b", time.Hour), msg("alice#"+devB, "2", time.Hour), msg("alice", "2", time.Hour))
	for i := range 4 {
		if rs[i].Err != nil {
			t.Errorf("receipt %d: %v", i, rs[i].Err)
		}
	}
	if !errors.Is(rs[4].Err, protocol.ErrMailboxFull) {
		t.Errorf("a fourth message to alice's devices: %+v, want ErrMailboxFull", rs[4])
	}
	// An ack of one queue makes room in the account.
	if _, err := s.Ack("alice#"+devB, 1); err != nil {
		t.Fatal(err)
	}
	if rs := enqueue(t, s, msg("alice", "2", time.Hour)); rs[0].Err != nil {
		t.Errorf("after b's ack: %v", rs[0].Err)
	}
	// Bytes too: 60 in one queue and 50 in another pass 100 together.
	s2 := open(t, opts)
	mustCreate(t, s2, "alice")
	putDevices(t, s2, "alice", devA, devB)
	rs = enqueue(t, s2, msg("alice", string(make([]byte, 60)), time.Hour), msg("alice#"+devB, string(make([]byte, 50)), time.Hour))
	if rs[0].Err != nil || !errors.Is(rs[1].Err, protocol.ErrMailboxFull) {
		t.Errorf("receipts %+v, want the second refused as the account's bytes pass the bound", rs)
	}
	for _, st := range []Store{s, s2} {
		if err := check(st); err != nil {
			t.Error(err)
		}
	}
}

func testEachDeviceHasItsOwnKeyPackages(t *testing.T, open Opener) {
	s := open(t, testConfig()) // 5 key packages per device and suite
	mustCreate(t, s, "alice")
	putDevices(t, s, "alice", devA, devB)
	five := [][]byte{[]byte("1"), []byte("2"), []byte("3"), []byte("4"), []byte("5")}
	if err := s.AddKeyPackages("alice", node.SuiteClassic, five, []byte("last of a")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKeyPackages("alice#"+devB, node.SuiteClassic, five, nil); err != nil {
		t.Fatalf("b's packages are bounded apart from a's: %v", err)
	}
	if err := s.AddKeyPackages("alice#"+devB, node.SuiteClassic, [][]byte{[]byte("6")}, nil); !errors.Is(err, protocol.ErrTooManyKeyPackages) {
		t.Errorf("a sixth for b: %v, want ErrTooManyKeyPackages", err)
	}
	for range 5 {
		if p, last, err := s.TakeKeyPackage("alice#"+devB, node.SuiteClassic); err != nil || last {
			t.Fatalf("take of b's: %q, %v, %v", p, last, err)
		}
	}
	if _, _, err := s.TakeKeyPackage("alice#"+devB, node.SuiteClassic); !errors.Is(err, protocol.ErrNoKeyPackage) {
		t.Errorf("b has none left and no last resort: %v, want ErrNoKeyPackage (a's do not stand in)", err)
	}
	if n, last, err := s.KeyPackageCount("alice#"+devA, node.SuiteClassic); err != nil || n != 5 || !last {
		t.Errorf("a's count = %d, %v, %v; want 5 and a last resort", n, last, err)
	}
	if err := check(s); err != nil {
		t.Error(err)
	}
}

func testDeleteAccountRemovesEveryDevicesQueueAndKeyPackages(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice", "alice2")
	putDevices(t, s, "alice", devA, devB)
	putDevices(t, s, "alice2", devB)
	enqueue(t, s, msg("alice#"+devB, "b", time.Hour), msg("alice", "a", time.Hour), msg("alice2", "other", time.Hour))
	if err := s.AddKeyPackages("alice#"+devB, node.SuiteClassic, [][]byte{[]byte("kp")}, []byte("last")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKeyPackages("alice#"+devB, node.SuitePQ, [][]byte{[]byte("pq")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount("alice", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if msgs, bytes, _, err := s.Totals(); err != nil || msgs != 1 || bytes != int64(len("other")) {
		t.Errorf("Totals after the deletion = %d, %d, %v; want alice2's message alone", msgs, bytes, err)
	}
	mustCreate(t, s, "alice")
	if d, err := s.Devices("alice"); err != nil || d.Primary != "" || len(d.Current) != 0 {
		t.Errorf("a new account of the name has devices %+v, %v", d, err)
	}
	if got := mustFetch(t, s, "alice2"); !equalStrings(got, []string{"other"}) {
		t.Errorf("alice2's queue: %q", got)
	}
	if err := check(s); err != nil {
		t.Error(err)
	}
}

func testDevicesAreCheckedAndTyped(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	if _, err := s.Devices("nobody"); !errors.Is(err, protocol.ErrUnknownUser) {
		t.Errorf("Devices of nobody: %v, want ErrUnknownUser", err)
	}
	if err := s.PutKeys("alice", sampleKeys, node.Devices{Primary: devC, Current: []string{devA}}); !errors.Is(err, protocol.ErrBadRequest) {
		t.Errorf("a primary that is not current: %v, want ErrBadRequest", err)
	}
	for _, q := range []string{"alice#", "alice#xyz", "nobody#" + devA} {
		if _, err := s.Fetch(q, 0, 1); !errors.Is(err, protocol.ErrUnknownUser) {
			t.Errorf("Fetch(%q): %v, want ErrUnknownUser", q, err)
		}
	}
	if rs := enqueue(t, s, msg("alice#"+devA, "x", time.Hour)); !errors.Is(rs[0].Err, protocol.ErrDeviceRevoked) {
		t.Errorf("a device of an account without a list: %v, want ErrDeviceRevoked", rs[0].Err)
	}
}

func testMessagesOfEveryDevicesQueueExpire(t *testing.T, open Opener) {
	s := open(t, testConfig())
	mustCreate(t, s, "alice")
	putDevices(t, s, "alice", devA, devB)
	enqueue(t, s, msg("alice#"+devB, "short", time.Minute), msg("alice#"+devB, "long", time.Hour), msg("alice", "short too", time.Minute))
	n, err := s.Expire(t0.Add(time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("Expire = %d, %v; want the two short ones", n, err)
	}
	if d, _, err := s.Depth("alice#" + devB); err != nil || d != 1 {
		t.Errorf("b's queue after Expire holds %d, %v", d, err)
	}
	if d, _, err := s.Depth("alice"); err != nil || d != 0 {
		t.Errorf("the primary's queue after Expire holds %d, %v", d, err)
	}
	if msgs, _, _, err := s.Totals(); err != nil || msgs != 1 {
		t.Errorf("Totals after Expire = %d, %v", msgs, err)
	}
	if err := check(s); err != nil {
		t.Error(err)
	}
}
