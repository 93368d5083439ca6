package ktwatch

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/protocol"
)

// MaxKnown bounds the heads of other domains the watch remembers: one per
// domain, enough for a community.
const MaxKnown = 63

// EvidenceStore keeps evidence; node/store implements it.
type EvidenceStore interface {
	// AddKTEvidence keeps e unless the same two heads are kept already.
	AddKTEvidence(e protocol.KTEvidence) (added bool, err error)
	// KTEvidence returns the evidence kept, newest first, at most limit.
	KTEvidence(limit int) ([]protocol.KTEvidence, error)
}

// OwnLog is the node's own log; node/store implements it.
type OwnLog interface {
	// KTHead returns the latest signed head, nil without a log.
	KTHead() ([]byte, error)
	// KTConsistency returns the proof from first to second and the
	// signed head of second (0: the latest).
	KTConsistency(first, second uint64) (proof [][]byte, head []byte, err error)
}

// ConsistencyFunc asks the node of domain for the consistency proof of its
// log from tree size first to second (federation ktConsistency). An error
// that wraps protocol.ErrBadRequest is the node's own refusal (it has no
// such sizes), which proves as much as a proof that fails; any other
// error leaves the heads unjudged: one that wraps protocol.ErrUnknownDomain
// (no link to that domain) lets the watch follow the newer head, any other
// (the node out of reach for now) keeps the older one to judge the next
// head against.
type ConsistencyFunc func(ctx context.Context, domain string, first, second uint64) (proof [][]byte, err error)

// Config configures a Watch.
type Config struct {
	// Domain is this node's domain: heads of it are checked against Own.
	Domain string
	// Own is this node's log.
	Own OwnLog
	// Store keeps the evidence.
	Store EvidenceStore
	// Roots is the community CA; nil accepts no head of another domain.
	Roots *x509.CertPool
	// Consistency asks another domain's node; nil leaves heads of
	// different sizes unjudged. It may be set later (SetConsistency),
	// once federation runs.
	Consistency ConsistencyFunc
	// OnEvidence, if set, is called once for each new piece of evidence
	// (the metric qpc_kt_inconsistency_total).
	OnEvidence func()
	// Log gets a warning for each new piece of evidence.
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// known is the latest head the watch holds of one domain.
type known struct {
	raw  []byte
	head kt.SignedHead
}

// Watch checks heads and keeps evidence. It is safe for concurrent use.
type Watch struct {
	cfg Config

	mu          sync.Mutex
	known       map[string]known
	consistency ConsistencyFunc
}

// New returns a Watch over cfg.
func New(cfg Config) (*Watch, error) {
	if cfg.Own == nil || cfg.Store == nil || cfg.Domain == "" {
		return nil, fmt.Errorf("ktwatch: Domain, Own and Store are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Watch{cfg: cfg, known: map[string]known{}, consistency: cfg.Consistency}, nil
}

// SetConsistency sets how the watch asks other domains for consistency
// proofs: federation, which is built after the node service.
func (w *Watch) SetConsistency(f ConsistencyFunc) {
	w.mu.Lock()
	w.consistency = f
	w.mu.Unlock()
}

// Heads returns the heads to gossip: the node's own latest first, then
// the latest known of each other domain, at most protocol.MaxKTHeads.
func (w *Watch) Heads() ([][]byte, error) {
	own, err := w.cfg.Own.KTHead()
	if err != nil {
		return nil, err
	}
	var out [][]byte
	if own != nil {
		out = append(out, own)
	}
	w.mu.Lock()
	domains := make([]string, 0, len(w.known))
	for d := range w.known {
		domains = append(domains, d)
	}
	slices.Sort(domains)
	for _, d := range domains {
		if len(out) >= protocol.MaxKTHeads {
			break
		}
		out = append(out, w.known[d].raw)
	}
	w.mu.Unlock()
	return out, nil
}

// Evidence returns the evidence kept, newest first, at most limit.
func (w *Watch) Evidence(limit int) ([]protocol.KTEvidence, error) {
	return w.cfg.Store.KTEvidence(limit)
}

// accept parses raw and checks that it may speak for its domain: a head
// of this node's domain is judged against the log itself (Observe), any
// other only with a certificate of its domain from the community CA.
func (w *Watch) accept(raw []byte) (kt.SignedHead, error) {
	sh, err := kt.ParseSignedHead(raw)
	if err != nil {
		return sh, err
	}
	if err := sh.Verify(); err != nil {
		return sh, err
	}
	if sh.Domain == w.cfg.Domain && w.ownKey(sh) {
		return sh, nil
	}
	if sh.Kind != kt.SignerCertificate {
		return sh, fmt.Errorf("%w: a head of %s signed by a bare key", ErrUntrustedHead, sh.Domain)
	}
	if err := checkSigner(sh, w.cfg.Roots, w.cfg.Now()); err != nil {
		return sh, err
	}
	return sh, nil
}

// ownKey reports whether sh is signed with the key this node signs its
// log's heads with now (its latest head's): anyone could sign a head
// naming this domain with a key of their own. A head of a federation
// certificate is checked like another domain's instead.
func (w *Watch) ownKey(sh kt.SignedHead) bool {
	own, err := w.cfg.Own.KTHead()
	if err != nil || own == nil {
		return false
	}
	oh, err := kt.ParseSignedHead(own)
	if err != nil {
		return false
	}
	a, errA := oh.PublicKey()
	b, errB := sh.PublicKey()
	return errA == nil && errB == nil && a.Equal(b)
}

// checkSigner checks that sh's certificate chains to roots at now and
// names exactly sh's domain, and that its key signed sh (sh.Verify checked
// the signature under the certificate's key already).
func checkSigner(sh kt.SignedHead, roots *x509.CertPool, now time.Time) error {
	if roots == nil {
		return fmt.Errorf("%w: no community CA to check a head of %s against", ErrUntrustedHead, sh.Domain)
	}
	c, err := x509.ParseCertificate(sh.Cert)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUntrustedHead, err)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return fmt.Errorf("%w: %v", ErrUntrustedHead, err)
	}
	if len(c.DNSNames) != 1 || !strings.EqualFold(c.DNSNames[0], sh.Domain) {
		return fmt.Errorf("%w: the certificate names %v, the head %s", ErrUntrustedHead, c.DNSNames, sh.Domain)
	}
	if _, ok := c.PublicKey.(ed25519.PublicKey); !ok {
		return fmt.Errorf("%w: the certificate has no Ed25519 key", ErrUntrustedHead)
	}
	return nil
}

// Observe checks a head that reached the node, from whoever (reporter
// names them for the log). It returns an error when the head itself is
// refused; a head that contradicts another becomes evidence and is not an
// error. The latest head of each other domain is remembered for gossip.
func (w *Watch) Observe(ctx context.Context, raw []byte) error {
	sh, err := w.accept(raw)
	if err != nil {
		return err
	}
	if sh.Domain == w.cfg.Domain {
		return w.observeOwn(raw, sh)
	}
	w.mu.Lock()
	k, ok := w.known[sh.Domain]
	consistency := w.consistency
	w.mu.Unlock()
	if !ok {
		w.remember(raw, sh)
		return nil
	}
	if reason, bad := kt.Contradicts(k.head, sh); bad {
		w.found(k.raw, raw, reason, sh.Domain)
		return nil
	}
	if k.head.Size == sh.Size {
		if sh.TimeMillis > k.head.TimeMillis {
			w.remember(raw, sh)
		}
		return nil
	}
	small, large, smallRaw, largeRaw := k.head, sh, k.raw, raw
	if small.Size > large.Size {
		small, large, smallRaw, largeRaw = large, small, largeRaw, smallRaw
	}
	if consistency != nil && small.Size > 0 {
		proof, err := consistency(ctx, sh.Domain, small.Size, large.Size)
		switch {
		case errors.Is(err, protocol.ErrBadRequest):
			// The domain's node says it has no such sizes: it
			// signed a head of a log it no longer has.
			w.found(smallRaw, largeRaw, kt.ReasonInconsistent, sh.Domain)
			return nil
		case errors.Is(err, protocol.ErrUnknownDomain):
			// No link to the domain's node at all: this node can
			// never judge the pair, and follows the newer head.
			w.cfg.Log.Debug("kt: no consistency proof", "domain", sh.Domain, "first", small.Size, "second", large.Size, "err", err)
		case err != nil:
			// The domain's node is out of reach for now (its link is
			// down, or still coming up: a peer gossips on a new link
			// before this side has registered it). The head known
			// stays, so that the next head of the domain (the next
			// gossip, a key answer relayed) is judged against it:
			// taking the newer would lose the one head that could
			// prove the log rewritten.
			w.cfg.Log.Debug("kt: no consistency proof yet", "domain", sh.Domain, "first", small.Size, "second", large.Size, "err", err)
			return nil
		case verifyConsistency(small, large, proof) != nil:
			w.found(smallRaw, largeRaw, kt.ReasonInconsistent, sh.Domain)
			return nil
		}
	}
	if large.Size == sh.Size {
		w.remember(raw, sh)
	}
	return nil
}

// observeOwn compares a head of this node's own log with the log: a head
// the node's key signed that its log does not have means the log was
// changed behind its back, or its key is used elsewhere.
func (w *Watch) observeOwn(raw []byte, sh kt.SignedHead) error {
	latest, err := w.cfg.Own.KTHead()
	if err != nil || latest == nil {
		return err
	}
	lh, err := kt.ParseSignedHead(latest)
	if err != nil {
		return err
	}
	if sh.Size > lh.Size {
		w.found(latest, raw, kt.ReasonInconsistent, sh.Domain)
		return nil
	}
	if sh.Size == 0 {
		// KTConsistency reads a second size of 0 as "the latest": the
		// empty tree has one root, and no head of it to ask for.
		if sh.Root != kt.EmptyRoot {
			w.found(latest, raw, kt.ReasonFork, sh.Domain)
		}
		return nil
	}
	_, mine, err := w.cfg.Own.KTConsistency(0, sh.Size)
	if err != nil {
		return err
	}
	mh, err := kt.ParseSignedHead(mine)
	if err != nil {
		return err
	}
	if mh.Root != sh.Root {
		w.found(mine, raw, kt.ReasonFork, sh.Domain)
	}
	return nil
}

func (w *Watch) remember(raw []byte, sh kt.SignedHead) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.known[sh.Domain]; !ok && len(w.known) >= MaxKnown {
		return // a community's domains fit; more is someone filling memory
	}
	w.known[sh.Domain] = known{raw: bytes.Clone(raw), head: sh}
}

// found keeps new evidence that this node found.
func (w *Watch) found(first, second []byte, reason, domain string) {
	w.keep(protocol.KTEvidence{First: bytes.Clone(first), Second: bytes.Clone(second), Reason: reason,
		Domain: domain, Found: w.cfg.Now(), ReportedBy: w.cfg.Domain})
}

func (w *Watch) keep(e protocol.KTEvidence) {
	added, err := w.cfg.Store.AddKTEvidence(e)
	if err != nil {
		w.cfg.Log.Error("kt: keeping evidence", "domain", e.Domain, "err", err)
		return
	}
	if !added {
		return
	}
	if w.cfg.OnEvidence != nil {
		w.cfg.OnEvidence()
	}
	w.cfg.Log.Warn("kt: a key transparency log misbehaves", "domain", e.Domain, "reason", e.Reason, "reported_by", e.ReportedBy)
}

// Take checks evidence that a peer handed over and keeps what holds: both
// heads parse, verify and may speak for their domain, and they
// contradict: a fork on their own; an inconsistency when the domain's
// node (asked again here) gives no proof that verifies. ErrBadEvidence
// for evidence that does not hold.
func (w *Watch) Take(ctx context.Context, e protocol.KTEvidence) error {
	a, err := w.acceptEvidenceHead(e.First)
	if err != nil {
		return err
	}
	b, err := w.acceptEvidenceHead(e.Second)
	if err != nil {
		return err
	}
	if !kt.SameLog(a, b) {
		return fmt.Errorf("%w: heads of %s and %s", ErrBadEvidence, a.Domain, b.Domain)
	}
	if reason, bad := kt.Contradicts(a, b); bad {
		e.Reason = reason
	} else {
		if a.Size > b.Size {
			a, b = b, a
		}
		w.mu.Lock()
		consistency := w.consistency
		w.mu.Unlock()
		if consistency == nil || a.Size == b.Size || a.Size == 0 {
			return fmt.Errorf("%w: the heads do not contradict on their own", ErrBadEvidence)
		}
		proof, err := consistency(ctx, a.Domain, a.Size, b.Size)
		if err != nil {
			return fmt.Errorf("%w: cannot ask %s: %w", ErrBadEvidence, a.Domain, err)
		}
		if verifyConsistency(a, b, proof) == nil {
			return fmt.Errorf("%w: %s proves the heads consistent", ErrBadEvidence, a.Domain)
		}
		e.Reason = kt.ReasonInconsistent
	}
	e.Domain = a.Domain
	if e.Found.IsZero() {
		e.Found = w.cfg.Now()
	}
	w.keep(e)
	return nil
}

// acceptEvidenceHead parses and verifies one head of evidence. A head of
// this node's own domain must carry a key the node itself signs with:
// its own latest head's.
func (w *Watch) acceptEvidenceHead(raw []byte) (kt.SignedHead, error) {
	sh, err := w.accept(raw)
	if err != nil {
		return sh, fmt.Errorf("%w: %w", ErrBadEvidence, err)
	}
	return sh, nil
}

// verifyConsistency checks a proof as the wire carried it: a proof that
// does not parse fails like one that does not verify, as the log's own
// node gave it.
func verifyConsistency(small, large kt.SignedHead, proof [][]byte) error {
	p, err := kt.ParseProof(proof)
	if err != nil {
		return err
	}
	return kt.VerifyConsistency(small.Size, large.Size, small.Root, large.Root, p)
}
