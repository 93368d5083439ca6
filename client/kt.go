package client

// This file checks the key transparency proof of every key answer
// (design 23, docs/kt.md): that the keys a node hands out for an address
// are the ones its append-only log holds, under a head signed by the node
// the client trusts to sign it, consistent with every head the client
// accepted before. It also keeps those heads (KTBook) between runs.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/quicprochat/qpc/crypto/attest"
	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
)

// Key transparency refusals. Each comes wrapped in a *KeyRefusedError
// that names the address and the node, and the keys are not used.
var (
	// ErrKeyNotInLog means the keys a node answered are not what its log
	// holds for the address: no proof, an entry of another address or of
	// other keys, or an inclusion proof that does not lead to the head.
	ErrKeyNotInLog = errors.New("keys not in the node's key transparency log")
	// ErrLogInconsistent means the node's log head contradicts one this
	// client accepted before: smaller, another root at the same size, or
	// no valid consistency proof from the earlier head to it. The log was
	// rewritten, or the node shows different logs to different people.
	ErrLogInconsistent = errors.New("the node's key transparency log contradicts what it showed before")
	// ErrHeadSigner means the log head is not signed by whom it has to
	// be: the home node's pinned key or a community CA certificate for
	// the head's domain.
	ErrHeadSigner = errors.New("key transparency head not signed by the node that keeps the log")
)

// HeadMaxSkew is how far in the future a head's time may lie. A head is
// signed only when its log grows, so a quiet log's head is old: there is no
// bound on age (gossip, not age, catches a node that hides a newer head).
const HeadMaxSkew = 10 * time.Minute

// KeyRefusedError says whose keys were refused, which node's log they
// were checked against, and why (Err wraps one of the sentinels above).
type KeyRefusedError struct {
	Address string
	Domain  string
	Err     error
}

func (e *KeyRefusedError) Error() string {
	why := "they are not in its key transparency log"
	switch {
	case errors.Is(e.Err, ErrLogInconsistent):
		why = "its key transparency log contradicts what it showed you before (it was rewritten, or it shows different logs to different people)"
	case errors.Is(e.Err, ErrHeadSigner):
		why = "its key transparency log head is not signed by the node's own key"
	}
	return fmt.Sprintf("the keys of %s from node %s were REFUSED: %s; nothing was sent to them. Tell the node's admin (run with --debug for details)",
		e.Address, e.Domain, why)
}

// Unwrap returns the reason, one of ErrKeyNotInLog, ErrLogInconsistent,
// ErrHeadSigner, wrapped with detail.
func (e *KeyRefusedError) Unwrap() error { return e.Err }

// KTHead is what a client keeps of one domain's key transparency log.
type KTHead struct {
	// Head is the latest signed head accepted (kt.SignedHead encoding).
	Head []byte `json:"head"`
	// Key is the node key the client pinned at the first head of its home
	// node signed by a node key (kind 1); later kind 1 heads must be
	// signed by it.
	Key []byte `json:"key,omitempty"`
}

// KTBook holds the latest accepted head of each domain's log, safe for
// concurrent use. Its JSON form is an object by domain (State.KT).
type KTBook struct {
	mu    sync.Mutex
	heads map[string]KTHead
}

// Get returns what the book holds of domain's log.
func (b *KTBook) Get(domain string) (KTHead, bool) {
	if b == nil {
		return KTHead{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	h, ok := b.heads[strings.ToLower(domain)]
	return h, ok
}

// put records h for domain.
func (b *KTBook) put(domain string, h KTHead) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.heads == nil {
		b.heads = map[string]KTHead{}
	}
	b.heads[strings.ToLower(domain)] = h
}

// Heads returns every kept signed head, in the order of their domains,
// for gossip.
func (b *KTBook) Heads() [][]byte {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	domains := make([]string, 0, len(b.heads))
	for d := range b.heads {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	out := make([][]byte, 0, len(domains))
	for _, d := range domains {
		out = append(out, bytes.Clone(b.heads[d].Head))
	}
	return out
}

// MarshalJSON writes the book as an object by domain.
func (b *KTBook) MarshalJSON() ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return json.Marshal(b.heads)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (b *KTBook) UnmarshalJSON(data []byte) error {
	var m map[string]KTHead
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.heads = m
	return nil
}

// knownSize is the size of the head kept for domain, 0 for none (or one
// that no longer parses, which then counts as none).
func (b *KTBook) knownSize(domain string) uint64 {
	h, ok := b.Get(domain)
	if !ok {
		return 0
	}
	sh, err := kt.ParseSignedHead(h.Head)
	if err != nil {
		return 0
	}
	return sh.Size
}

// ktBook returns the account's book, made on first use.
func (a *Account) ktBook() *KTBook {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.KT == nil {
		a.KT = &KTBook{}
	}
	return a.KT
}

// checkTransparency checks the transparency proof of k, keys answered
// for pa (checkProof), and names pa and its domain when it fails.
func (a *Account) checkTransparency(ctx context.Context, pa protocol.Address, k protocol.PublishedKeys) error {
	if err := a.checkProof(ctx, pa, k); err != nil {
		return &KeyRefusedError{Address: pa.String(), Domain: pa.Domain, Err: err}
	}
	return nil
}

// checkProof checks the transparency proof of k, keys answered for pa,
// and, when it holds, keeps its head as the latest accepted of pa's
// domain.
func (a *Account) checkProof(ctx context.Context, pa protocol.Address, k protocol.PublishedKeys) error {
	p := k.Transparency
	if p == nil {
		return fmt.Errorf("%w: the answer carries no proof", ErrKeyNotInLog)
	}
	sh, err := kt.ParseSignedHead(p.Head)
	if err != nil {
		return fmt.Errorf("%w: head: %w", ErrHeadSigner, err)
	}
	book := a.ktBook()
	kept, hasKept := book.Get(pa.Domain)
	pin, err := a.checkSigner(ctx, pa.Domain, sh, kept.Key)
	if err != nil {
		return err
	}
	if err := CheckEntry(pa.String(), k, p, sh); err != nil {
		return err
	}
	next := KTHead{Head: p.Head, Key: pin}
	if hasKept {
		old, err := kt.ParseSignedHead(kept.Head)
		if err == nil {
			grew, err := CheckConsistency(old, sh, p.Consistency)
			if err != nil {
				return err
			}
			if !grew {
				next.Head = kept.Head
			}
		}
	}
	book.put(pa.Domain, next)
	return nil
}

// checkSigner checks who signed sh, a head of domain's log: a federation
// certificate of the community CA naming domain (kind 2), or, for the
// home node only, its node key (kind 1), which must be pinned, the pin
// made at the first such head. It returns the pin to keep.
func (a *Account) checkSigner(ctx context.Context, domain string, sh kt.SignedHead, pinned []byte) ([]byte, error) {
	if !strings.EqualFold(sh.Domain, domain) {
		return nil, fmt.Errorf("%w: a head of %s's log, not %s's", ErrHeadSigner, sh.Domain, domain)
	}
	switch sh.Kind {
	case kt.SignerCertificate:
		roots, err := a.communityRoots(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := attest.CheckHeadSigner(sh.Cert, roots, time.Now(), strings.ToLower(domain)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHeadSigner, err)
		}
	case kt.SignerNodeKey:
		if !strings.EqualFold(domain, a.Domain) {
			return nil, fmt.Errorf("%w: %s's head is signed by a bare node key, which only the home node may use", ErrHeadSigner, domain)
		}
		if pinned != nil && !bytes.Equal(pinned, sh.Key) {
			return nil, fmt.Errorf("%w: signed by node key %x, not the pinned %x", ErrHeadSigner, sh.Key, pinned)
		}
		if pinned == nil {
			pinned = bytes.Clone(sh.Key)
		}
	default:
		return nil, fmt.Errorf("%w: signer kind %d", ErrHeadSigner, sh.Kind)
	}
	if err := sh.Verify(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHeadSigner, err)
	}
	if t := time.UnixMilli(sh.TimeMillis); t.After(time.Now().Add(HeadMaxSkew)) {
		return nil, fmt.Errorf("%w: head signed for %s, in the future", ErrHeadSigner, t.UTC().Format(time.RFC3339))
	}
	return pinned, nil
}

// CheckEntry checks that proof shows k, the keys answered for addr, in
// the log whose head is sh: the entry parses, is addr's, not a deletion,
// has k's account key and keys hash, and its inclusion proof leads to
// sh's root. Who signed sh is the caller's check.
func CheckEntry(addr string, k protocol.PublishedKeys, proof *protocol.KeyProof, sh kt.SignedHead) error {
	e, err := kt.ParseEntry(proof.Entry)
	if err != nil {
		return fmt.Errorf("%w: entry: %w", ErrKeyNotInLog, err)
	}
	if e.Address != strings.ToLower(addr) {
		return fmt.Errorf("%w: the entry is %s's, not %s's", ErrKeyNotInLog, e.Address, addr)
	}
	if e.Kind == kt.KindDelete {
		return fmt.Errorf("%w: the log says %s was deleted", ErrKeyNotInLog, addr)
	}
	if !bytes.Equal(e.AccountKey, k.AccountKey) {
		return fmt.Errorf("%w: the entry's account key is not the answer's", ErrKeyNotInLog)
	}
	if e.Keys != kt.KeysHash(k.IdentityKey, k.HPKEKey, k.Signature, k.AccountKey, k.DeviceList) {
		return fmt.Errorf("%w: the entry's keys hash is not the answer's keys", ErrKeyNotInLog)
	}
	hashes, err := toHashes(proof.Inclusion)
	if err != nil {
		return fmt.Errorf("%w: inclusion: %w", ErrKeyNotInLog, err)
	}
	if err := kt.VerifyInclusion(kt.LeafHash(proof.Entry), proof.Index, sh.Size, hashes, sh.Root); err != nil {
		return fmt.Errorf("%w: inclusion at index %d in size %d: %w", ErrKeyNotInLog, proof.Index, sh.Size, err)
	}
	return nil
}

// CheckConsistency checks that head next of a log may follow old, a head
// of the same log accepted before: not smaller, the same root at the same
// size, else a consistency proof from old to next. It reports whether next
// is larger (and so the one to keep).
func CheckConsistency(old, next kt.SignedHead, proof [][]byte) (grew bool, err error) {
	switch {
	case next.Size < old.Size:
		return false, fmt.Errorf("%w: size %d after %d", ErrLogInconsistent, next.Size, old.Size)
	case next.Size == old.Size:
		if next.Root != old.Root {
			return false, fmt.Errorf("%w: fork: two roots for size %d", ErrLogInconsistent, old.Size)
		}
		return false, nil
	}
	hashes, err := toHashes(proof)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrLogInconsistent, err)
	}
	if err := kt.VerifyConsistency(old.Size, next.Size, old.Root, next.Root, hashes); err != nil {
		return false, fmt.Errorf("%w: from size %d to %d: %w", ErrLogInconsistent, old.Size, next.Size, err)
	}
	return true, nil
}

// toHashes reads a proof's hashes, each exactly 32 bytes.
func toHashes(proof [][]byte) ([]kt.Hash, error) {
	out := make([]kt.Hash, len(proof))
	for i, b := range proof {
		if len(b) != len(kt.Hash{}) {
			return nil, fmt.Errorf("%w: proof hash %d is %d bytes", kt.ErrEncoding, i, len(b))
		}
		copy(out[i][:], b)
	}
	return out, nil
}
