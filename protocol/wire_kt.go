package protocol

import (
	"bytes"
	"fmt"
	"time"

	"capnproto.org/go/capnp/v3"

	"github.com/quicprochat/qpc/schemas"
)

// DataListToWire writes items into a new Data list made by alloc (a
// struct's NewX); the proofs, heads and entries of key transparency.
func DataListToWire(items [][]byte, alloc func(int32) (capnp.DataList, error)) error {
	list, err := alloc(int32(len(items)))
	if err != nil {
		return err
	}
	for i, it := range items {
		if err := list.Set(i, it); err != nil {
			return err
		}
	}
	return nil
}

// DataListFromWire copies a Data list out of its message, refusing more
// than maxItems items or an item of more than maxBytes bytes with
// ErrBadRequest: what a peer sends is bounded before it is kept.
func DataListFromWire(what string, list capnp.DataList, maxItems, maxBytes int) ([][]byte, error) {
	if list.Len() > maxItems {
		return nil, fmt.Errorf("%w: %s has %d items (at most %d)", ErrBadRequest, what, list.Len(), maxItems)
	}
	out := make([][]byte, 0, list.Len())
	for i := 0; i < list.Len(); i++ {
		b, err := list.At(i)
		if err != nil {
			return nil, fmt.Errorf("%s %d: %w", what, i, err)
		}
		if len(b) > maxBytes {
			return nil, fmt.Errorf("%w: %s %d has %d bytes (at most %d)", ErrBadRequest, what, i, len(b), maxBytes)
		}
		out = append(out, bytes.Clone(b))
	}
	return out, nil
}

// KeyProofToWire writes p into w.
func KeyProofToWire(p KeyProof, w schemas.KeyProof) error {
	if err := w.SetEntry(p.Entry); err != nil {
		return err
	}
	w.SetIndex(p.Index)
	if err := DataListToWire(p.Inclusion, w.NewInclusion); err != nil {
		return err
	}
	if err := w.SetHead(p.Head); err != nil {
		return err
	}
	if len(p.Consistency) == 0 {
		return nil
	}
	return DataListToWire(p.Consistency, w.NewConsistency)
}

// KeyProofFromWire reads a key proof, bounded by the MaxKT constants.
func KeyProofFromWire(w schemas.KeyProof) (KeyProof, error) {
	var p KeyProof
	entry, err := w.Entry()
	if err != nil {
		return p, err
	}
	head, err := w.Head()
	if err != nil {
		return p, err
	}
	if len(entry) > MaxKTEntryBytes || len(head) > MaxKTHeadBytes {
		return p, fmt.Errorf("%w: key proof entry of %d bytes, head of %d", ErrBadRequest, len(entry), len(head))
	}
	p.Entry, p.Head, p.Index = bytes.Clone(entry), bytes.Clone(head), w.Index()
	inc, err := w.Inclusion()
	if err != nil {
		return p, err
	}
	if p.Inclusion, err = DataListFromWire("inclusion proof hash", inc, MaxKTProofHashes, 32); err != nil {
		return p, err
	}
	if w.HasConsistency() {
		cons, err := w.Consistency()
		if err != nil {
			return p, err
		}
		if p.Consistency, err = DataListFromWire("consistency proof hash", cons, MaxKTProofHashes, 32); err != nil {
			return p, err
		}
	}
	return p, nil
}

// KTEvidenceToWire writes ev into a new evidence list made by alloc.
func KTEvidenceToWire(ev []KTEvidence, alloc func(int32) (schemas.KtEvidence_List, error)) error {
	list, err := alloc(int32(len(ev)))
	if err != nil {
		return err
	}
	for i, e := range ev {
		w := list.At(i)
		for _, set := range []func() error{
			func() error { return w.SetFirst(e.First) },
			func() error { return w.SetSecond(e.Second) },
			func() error { return w.SetReason(e.Reason) },
			func() error { return w.SetDomain(e.Domain) },
			func() error { return w.SetReportedBy(e.ReportedBy) },
		} {
			if err := set(); err != nil {
				return err
			}
		}
		if !e.Found.IsZero() {
			w.SetFoundMillis(e.Found.UnixMilli())
		}
	}
	return nil
}

// KTEvidenceFromWire reads an evidence list, at most MaxKTEvidence items.
func KTEvidenceFromWire(list schemas.KtEvidence_List) ([]KTEvidence, error) {
	if list.Len() > MaxKTEvidence {
		return nil, fmt.Errorf("%w: %d pieces of evidence (at most %d)", ErrBadRequest, list.Len(), MaxKTEvidence)
	}
	out := make([]KTEvidence, 0, list.Len())
	for i := 0; i < list.Len(); i++ {
		w := list.At(i)
		var e KTEvidence
		first, err := w.First()
		if err != nil {
			return nil, err
		}
		second, err := w.Second()
		if err != nil {
			return nil, err
		}
		if len(first) > MaxKTHeadBytes || len(second) > MaxKTHeadBytes {
			return nil, fmt.Errorf("%w: evidence %d: head of %d/%d bytes", ErrBadRequest, i, len(first), len(second))
		}
		e.First, e.Second = bytes.Clone(first), bytes.Clone(second)
		if e.Reason, err = w.Reason(); err != nil {
			return nil, err
		}
		if e.Domain, err = w.Domain(); err != nil {
			return nil, err
		}
		if e.ReportedBy, err = w.ReportedBy(); err != nil {
			return nil, err
		}
		if ms := w.FoundMillis(); ms != 0 {
			e.Found = time.UnixMilli(ms)
		}
		out = append(out, e)
	}
	return out, nil
}
