package client

// This file is the auditor behind `qpc kt audit` (docs/kt.md): it
// downloads a node's whole key transparency log, replays it, and holds the
// node to the head it signs and to the head seen at the last audit.

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quicprochat/qpc/internal/atomicfile"
	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
)

// ErrAuditFailed means an audit found the log not to be what its head
// says, or not consistent with the last audit; AuditReport.Problems says
// where.
var ErrAuditFailed = errors.New("key transparency audit failed")

// AuditProblem is one thing an audit found wrong: at a leaf (Index, and
// the entry's Address when it parses) or of the log as a whole (Index -1).
type AuditProblem struct {
	Index   int64  `json:"index"`
	Address string `json:"address,omitempty"`
	Reason  string `json:"reason"`
}

// AuditEntry is an entry of the log with its leaf index.
type AuditEntry struct {
	Index uint64
	kt.Entry
}

// AuditReport is what an audit found.
type AuditReport struct {
	// Head is the node's signed head the audit checked the log against.
	Head kt.SignedHead
	// Entries is the number of entries downloaded and replayed.
	Entries uint64
	// Addresses holds each address's entries in log order.
	Addresses map[string][]AuditEntry
	// Previous is the size of the head of the last audit (0: none).
	Previous uint64
	// Problems lists what is wrong; none means the log verified.
	Problems []AuditProblem
}

// OK reports whether everything verified.
func (r *AuditReport) OK() bool { return len(r.Problems) == 0 }

func (r *AuditReport) problem(index int64, addr, format string, args ...any) {
	r.Problems = append(r.Problems, AuditProblem{Index: index, Address: addr, Reason: fmt.Sprintf(format, args...)})
}

// Auditor audits one node's log. Its fields are set by the caller.
type Auditor struct {
	// Client is the connection to the node; no login is needed.
	Client *Client
	// Dir keeps the head of each node's last audit that verified
	// (<Dir>/kt-audit/<domain>.head): the next audit must be consistent
	// with it. Empty keeps nothing.
	Dir string
	// Batch is how many entries to ask for per call (at most
	// MaxKTEntriesPerCall; 0 means that).
	Batch uint32
	// Progress, when set, is told after each batch how many entries of
	// how many are done.
	Progress func(done, total uint64)
}

// auditPath is where the head of domain's last audit is kept.
func auditPath(dir, domain string) string {
	return filepath.Join(dir, "kt-audit", strings.ToLower(domain)+".head")
}

// Run audits the node's log: it takes its latest signed head, downloads
// every entry up to the head's size, checks each entry's encoding and each
// address's seq continuity, replays the tree and compares its root with
// the head's, and checks that the head extends the one of the last audit.
// A root that differs is traced to the first changed entry with the node's
// own consistency proofs. It returns the report, and an error wrapping
// ErrAuditFailed when there are problems (other errors: the audit could
// not run). A head that verified is kept for the next audit.
func (a *Auditor) Run(ctx context.Context) (*AuditReport, error) {
	_, raw, err := a.Client.KTConsistency(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	sh, err := kt.ParseSignedHead(raw)
	r := &AuditReport{Head: sh, Addresses: map[string][]AuditEntry{}}
	if err != nil {
		r.problem(-1, "", "the node's head does not parse: %v", err)
		return r, fmt.Errorf("%w: %s", ErrAuditFailed, r.Problems[0].Reason)
	}
	if err := sh.Verify(); err != nil {
		r.problem(-1, "", "the head's signature does not verify: %v", err)
		return r, fmt.Errorf("%w: %s", ErrAuditFailed, r.Problems[0].Reason)
	}
	prev, prevKey := a.previous(sh.Domain, r)
	if prevKey != nil {
		if key, err := sh.PublicKey(); err == nil && sh.Kind == kt.SignerNodeKey && !key.Equal(prevKey) {
			r.problem(-1, "", "the head is signed by node key %x, the last audit's by %x", []byte(key), []byte(prevKey))
		}
	}
	tree := kt.NewMemory()
	batch := a.Batch
	if batch == 0 || batch > MaxKTEntriesPerCall {
		batch = MaxKTEntriesPerCall
	}
	for tree.Size() < sh.Size {
		start := tree.Size()
		var entries [][]byte
		err := patient(ctx, func() (err error) {
			entries, err = a.Client.KTEntries(ctx, start, uint32(min(uint64(batch), sh.Size-start)))
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			r.problem(int64(start), "", "the node serves no entry at %d of a head of size %d", start, sh.Size)
			break
		}
		for _, enc := range entries {
			if tree.Size() == sh.Size {
				break
			}
			r.replay(tree, enc)
		}
		if a.Progress != nil {
			a.Progress(tree.Size(), sh.Size)
		}
	}
	if tree.Size() == sh.Size {
		if root := tree.Root(); root != sh.Root {
			r.traceRoot(ctx, a.Client, tree)
		}
		if prev != nil && prev.Size <= sh.Size && tree.Size() >= prev.Size {
			if root, err := kt.Root(tree, prev.Size); err != nil || root != prev.Root {
				r.problem(-1, "", "the log's first %d entries are not those of the last audit: it was rewritten since", prev.Size)
			}
		}
	}
	if !r.OK() {
		return r, fmt.Errorf("%w: %d problems, the first: %s", ErrAuditFailed, len(r.Problems), r.Problems[0].Reason)
	}
	if a.Dir != "" {
		if err := os.MkdirAll(filepath.Dir(auditPath(a.Dir, sh.Domain)), 0o700); err != nil {
			return r, err
		}
		if err := atomicfile.Write(auditPath(a.Dir, sh.Domain), raw, 0o600); err != nil {
			return r, err
		}
	}
	return r, nil
}

// patient runs call, again after a pause while the node answers that it
// is rate limited: the node bounds the key transparency calls of one
// connection, and an audit of a large log makes many.
func patient(ctx context.Context, call func() error) error {
	pause := 100 * time.Millisecond
	for {
		err := call()
		if !errors.Is(err, protocol.ErrRateLimited) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// previous reads the head of the last audit of domain's log, if any, and
// notes in r when the current head cannot follow it; it returns the head
// and, for one signed by a node key, that key.
func (a *Auditor) previous(domain string, r *AuditReport) (*kt.SignedHead, ed25519.PublicKey) {
	if a.Dir == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(auditPath(a.Dir, domain))
	if err != nil {
		return nil, nil
	}
	prev, err := kt.ParseSignedHead(raw)
	if err != nil || !kt.SameLog(prev, r.Head) {
		return nil, nil
	}
	r.Previous = prev.Size
	if prev.Size > r.Head.Size {
		r.problem(-1, "", "the log has %d entries, fewer than the %d of the last audit: it was cut back", r.Head.Size, prev.Size)
	}
	if reason, bad := kt.Contradicts(prev, r.Head); bad {
		r.problem(-1, "", "%s: the head has another root than the last audit's at size %d", reason, prev.Size)
	}
	var key ed25519.PublicKey
	if prev.Kind == kt.SignerNodeKey {
		key = prev.Key
	}
	return &prev, key
}

// replay checks one downloaded entry and appends it to tree.
func (r *AuditReport) replay(tree *kt.Memory, enc []byte) {
	index := tree.Size()
	if _, err := tree.Append(kt.LeafHash(enc)); err != nil {
		r.problem(int64(index), "", "append: %v", err)
		return
	}
	r.Entries++
	e, err := kt.ParseEntry(enc)
	if err != nil {
		r.problem(int64(index), "", "the entry does not parse: %v", err)
		return
	}
	hist := r.Addresses[e.Address]
	want := uint64(1)
	if len(hist) > 0 {
		want = hist[len(hist)-1].Seq + 1
	}
	if e.Seq != want {
		r.problem(int64(index), e.Address, "seq %d, want %d", e.Seq, want)
	}
	r.Addresses[e.Address] = append(hist, AuditEntry{Index: index, Entry: e})
}

// traceRoot finds the first entry that makes the replayed tree differ from
// the node's: the smallest size k whose replayed root the node's
// consistency proof from k to the head does not lead to means leaf k-1 is
// not what the node's tree was built of. Binary search, O(log n) calls.
func (r *AuditReport) traceRoot(ctx context.Context, c *Client, tree *kt.Memory) {
	size, root := r.Head.Size, r.Head.Root
	consistent := func(k uint64) (bool, error) {
		mine, err := kt.Root(tree, k)
		if err != nil {
			return false, err
		}
		var proof [][]byte
		err = patient(ctx, func() (err error) {
			proof, _, err = c.KTConsistency(ctx, k, size)
			return err
		})
		if err != nil {
			return false, err
		}
		hashes, err := toHashes(proof)
		if err != nil {
			return false, nil
		}
		return kt.VerifyConsistency(k, size, mine, root, hashes) == nil, nil
	}
	// Sizes lo and below are consistent (size 0 always is); hi is not
	// (the whole tree is not: its root differs).
	lo, hi := uint64(0), size
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := consistent(mid)
		if err != nil {
			r.problem(-1, "", "the replayed root differs from the head's, and tracing the changed entry failed: %v", err)
			return
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	index := hi - 1
	addr := ""
	for a, hist := range r.Addresses {
		for _, e := range hist {
			if e.Index == index {
				addr = a
			}
		}
	}
	r.problem(int64(index), addr, "entry %d is not the one the signed head covers: it was changed after it was logged", index)
}
