package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// fakeLogNode serves a testLog's ktEntries and ktConsistency, as a node
// does, with served in place of the entries it logged when set (a store
// changed behind the log's back).
type fakeLogNode struct {
	schemas.NodeService_Server
	log    *testLog
	served [][]byte
}

func (f *fakeLogNode) KtEntries(ctx context.Context, call schemas.NodeService_ktEntries) error {
	entries := f.log.entries
	if f.served != nil {
		entries = f.served
	}
	start, count := call.Args().Start(), uint64(call.Args().Count())
	end := min(start+count, uint64(len(entries)), start+7) // a node's bound per call, smaller than asked
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	if start > end {
		start = end
	}
	return protocol.DataListToWire(entries[start:end], res.NewEntries)
}

func (f *fakeLogNode) KtConsistency(ctx context.Context, call schemas.NodeService_ktConsistency) error {
	first, second := call.Args().First(), call.Args().Second()
	size := f.log.tree.Size()
	if second == 0 {
		second = size
	}
	var proof []kt.Hash
	var err error
	if first > 0 && first < second {
		if proof, err = kt.ConsistencyProof(f.log.tree, first, second); err != nil {
			return err
		}
	}
	root, err := kt.Root(f.log.tree, second)
	if err != nil {
		return err
	}
	sh, err := kt.SignHead(kt.Head{Domain: f.log.domain, Size: second, Root: root, TimeMillis: 1}, f.log.key, f.log.cert)
	if err != nil {
		return err
	}
	res, err := call.AllocResults()
	if err != nil {
		return err
	}
	if err := res.SetHead(sh.Marshal()); err != nil {
		return err
	}
	return protocol.DataListToWire(hashes(proof), res.NewProof)
}

func auditOf(t *testing.T, f *fakeLogNode, dir string) (*AuditReport, error) {
	t.Helper()
	n := schemas.NodeService_ServerToClient(f)
	t.Cleanup(n.Release)
	var calls int
	a := &Auditor{Client: &Client{node: n}, Dir: dir, Batch: 10, Progress: func(done, total uint64) { calls++ }}
	r, err := a.Run(testCtx(t))
	if r != nil && r.Entries > 0 && calls == 0 {
		t.Error("no progress was reported")
	}
	return r, err
}

func TestAnAuditOfAnHonestLogPassesAndCountsEachAddressesChanges(t *testing.T) {
	l := newTestLog(t, "n1.mesh", nil, nil)
	l.fill(40)
	for range 3 {
		l.publish("user7@n1.mesh", randomKeys())
	}
	r, err := auditOf(t, &fakeLogNode{log: l}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Entries != 43 || r.Head.Size != 43 || len(r.Addresses) != 40 || len(r.Addresses["user7@n1.mesh"]) != 4 {
		t.Fatalf("report: ok %v, %d entries, size %d, %d addresses, user7 %d entries", r.OK(), r.Entries, r.Head.Size,
			len(r.Addresses), len(r.Addresses["user7@n1.mesh"]))
	}
}

func TestAnAuditNamesAnEntryChangedAfterItWasLogged(t *testing.T) {
	for _, index := range []int{0, 17, 31, 42} {
		t.Run(fmt.Sprint("entry ", index), func(t *testing.T) {
			l := newTestLog(t, "n1.mesh", nil, nil)
			l.fill(43)
			served := append([][]byte(nil), l.entries...)
			e, err := kt.ParseEntry(served[index])
			if err != nil {
				t.Fatal(err)
			}
			e.Keys = kt.KeysHash(randomKeys().IdentityKey, nil, nil, nil, nil)
			served[index] = e.Marshal()
			r, err := auditOf(t, &fakeLogNode{log: l, served: served}, "")
			if !errors.Is(err, ErrAuditFailed) {
				t.Fatalf("got %v, want ErrAuditFailed", err)
			}
			p := r.Problems[len(r.Problems)-1]
			if p.Index != int64(index) || p.Address != e.Address {
				t.Fatalf("the problem names entry %d of %q, want %d of %q: %s", p.Index, p.Address, index, e.Address, p.Reason)
			}
		})
	}
}

func TestAnAuditRefusesASeqGapAndARewriteSinceTheLastAudit(t *testing.T) {
	dir := t.TempDir()
	key := newTestLog(t, "n1.mesh", nil, nil).key
	l := newTestLog(t, "n1.mesh", nil, key)
	l.fill(20)
	if _, err := auditOf(t, &fakeLogNode{log: l}, dir); err != nil {
		t.Fatal(err)
	}
	// The node starts over with another history of more entries: each
	// entry is well formed and its own head verifies, but the first 20
	// are not those audited before.
	other := newTestLog(t, "n1.mesh", nil, key)
	other.fill(25)
	r, err := auditOf(t, &fakeLogNode{log: other}, dir)
	if !errors.Is(err, ErrAuditFailed) || r.Previous != 20 || !strings.Contains(r.Problems[0].Reason, "rewritten") {
		t.Fatalf("a rewritten log: %v, %+v", err, r)
	}
	// An address whose seq skips: an entry of it went missing.
	gap := newTestLog(t, "n1.mesh", nil, nil)
	gap.fill(3)
	gap.seq["user1@n1.mesh"]++
	gap.publish("user1@n1.mesh", randomKeys())
	r, err = auditOf(t, &fakeLogNode{log: gap}, "")
	if !errors.Is(err, ErrAuditFailed) || r.Problems[0].Index != 3 || r.Problems[0].Address != "user1@n1.mesh" {
		t.Fatalf("a seq gap: %v, %+v", err, r.Problems)
	}
}
