package store

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/quicprochat/qpc/protocol"
)

// Records of the store-and-forward buckets; the layouts are in the package
// doc.

const (
	meshIDLen = len(protocol.MeshID{})
	// heldHeader is the fixed part of a held record: version | held |
	// expires | id.
	heldHeader = 1 + 2*timeLen + meshIDLen
	seenLen    = 1 + 1 + timeLen
	// statusHeader is the fixed part of a status record: version | state |
	// reason | updated | expires.
	statusHeader = 1 + 2 + 2*timeLen
)

// heldVersion is the version byte of the held records this version
// writes. Version 1 records (before the per-neighbour quota) lack the from
// and origin id fields; they are still read, with From and OriginID "".
// Held records have their own version, apart from recordVersion, because
// only they changed.
const heldVersion = 2

// maxOriginIDLen bounds a held envelope's OriginID: a node id is 26
// characters (DESIGN §4); the bound leaves room without letting a record
// grow.
const maxOriginIDLen = 64

// encodeHeld: version (2) | held | expires | id | field origin | field
// sender | field recipient | field from | field origin id | data (rest).
// Domain and Seq are the record's place, not part of it. The buffer is
// new, so the data is copied.
func encodeHeld(e protocol.HeldEnvelope) []byte {
	b := make([]byte, heldHeader, heldHeader+20+len(e.Origin)+len(e.Sender)+len(e.Recipient)+len(e.From)+len(e.OriginID)+len(e.Data))
	b[0] = heldVersion
	putTime(b[1:], e.Held)
	putTime(b[1+timeLen:], e.Expires)
	copy(b[1+2*timeLen:], e.ID[:])
	for _, f := range []string{e.Origin, e.Sender, e.Recipient, e.From, e.OriginID} {
		b = appendField(b, []byte(f))
	}
	return append(b, e.Data...)
}

// decodeHeld decodes envelope seq of domain's queue, of version 1 or 2;
// Data aliases b, the rest does not.
func decodeHeld(domain string, seq uint64, b []byte) (protocol.HeldEnvelope, error) {
	if len(b) == 0 {
		return protocol.HeldEnvelope{}, fmt.Errorf("%w: empty held record", ErrCorrupt)
	}
	switch v := b[0]; {
	case v < minRecordVersion:
		return protocol.HeldEnvelope{}, fmt.Errorf("%w: held record version %d, oldest read is %d", ErrRecordTooOld, v, minRecordVersion)
	case v > heldVersion:
		return protocol.HeldEnvelope{}, fmt.Errorf("%w: held record version %d, newest known is %d", ErrRecordUnknown, v, heldVersion)
	}
	body := b[1:]
	if len(body) < heldHeader-1 {
		return protocol.HeldEnvelope{}, truncated("held", heldHeader-1, len(body))
	}
	e := protocol.HeldEnvelope{Domain: domain, Seq: seq}
	var err error
	if e.Held, err = getTime(body); err != nil {
		return protocol.HeldEnvelope{}, err
	}
	if e.Expires, err = getTime(body[timeLen:]); err != nil {
		return protocol.HeldEnvelope{}, err
	}
	copy(e.ID[:], body[2*timeLen:])
	rest := body[heldHeader-1:]
	fields := []*string{&e.Origin, &e.Sender, &e.Recipient}
	if b[0] >= 2 {
		fields = append(fields, &e.From, &e.OriginID)
	}
	for _, f := range fields {
		var field []byte
		if field, rest, err = takeField("held", rest); err != nil {
			return protocol.HeldEnvelope{}, err
		}
		*f = string(field)
	}
	e.Data = rest
	return e, nil
}

// originKey is the key of e's origin record: the claimed domain with the
// id of the key that signed, so that a forger claiming a domain counts
// apart from the node that owns it. Records of version 1 have no origin
// id and count by domain alone. '/' cannot occur in a domain, so no two
// origins share a key.
func originKey(e protocol.HeldEnvelope) string {
	if e.OriginID == "" {
		return e.Origin
	}
	return e.Origin + "/" + e.OriginID
}

// decodeHeldEntry decodes the entry k → v of domain's queue bucket, as
// decodeHeld.
func decodeHeldEntry(domain string, k, v []byte) (protocol.HeldEnvelope, error) {
	seq, err := parseSeqKey(k)
	if err != nil {
		return protocol.HeldEnvelope{}, fmt.Errorf("queue of %q: %w", domain, err)
	}
	e, err := decodeHeld(domain, seq, v)
	if err != nil {
		return protocol.HeldEnvelope{}, fmt.Errorf("envelope %d for %q: %w", seq, domain, err)
	}
	return e, nil
}

// seenVersion is the version byte of the seen records this version
// writes. Version 1 records (before the per-neighbour share) end after
// the expiry; they are still read, as from no neighbour.
const seenVersion = 2

// encodeSeen: version (2) | state | expires | from (rest: the neighbour
// whose envelope put the id there; empty for one made or delivered here).
func encodeSeen(state protocol.SeenState, expires time.Time, from string) []byte {
	b := make([]byte, seenLen, seenLen+len(from))
	b[0] = seenVersion
	b[1] = seenCode(state)
	putTime(b[2:], expires)
	return append(b, from...)
}

// decodeSeen decodes a seen record of version 1 or 2.
func decodeSeen(b []byte) (protocol.SeenState, time.Time, string, error) {
	if len(b) == 0 {
		return 0, time.Time{}, "", fmt.Errorf("%w: empty seen record", ErrCorrupt)
	}
	switch v := b[0]; {
	case v < minRecordVersion:
		return 0, time.Time{}, "", fmt.Errorf("%w: seen record version %d, oldest read is %d", ErrRecordTooOld, v, minRecordVersion)
	case v > seenVersion:
		return 0, time.Time{}, "", fmt.Errorf("%w: seen record version %d, newest known is %d", ErrRecordUnknown, v, seenVersion)
	}
	switch {
	case len(b) < seenLen || b[0] == 1 && len(b) != seenLen:
		return 0, time.Time{}, "", fmt.Errorf("%w: seen record of version %d of %d bytes, want %d", ErrCorrupt, b[0], len(b), seenLen)
	case len(b) > seenLen+MaxDomainLen:
		return 0, time.Time{}, "", fmt.Errorf("%w: seen record names a neighbour of %d bytes", ErrCorrupt, len(b)-seenLen)
	}
	state, err := seenStateOf(b[1])
	if err != nil {
		return 0, time.Time{}, "", err
	}
	expires, err := getTime(b[2:])
	if err != nil {
		return 0, time.Time{}, "", err
	}
	return state, expires, string(b[seenLen:]), nil
}

// statusReasons are the reasons a status records, indexed by the code
// that stands for them in a status record; 0 is no reason, the last is
// every error without a code of its own. A code once given keeps its
// meaning.
var statusReasons = [...]error{
	nil,
	protocol.ErrExpired,
	protocol.ErrHopLimit,
	protocol.ErrUnknownUser,
	protocol.ErrBadEnvelope,
	protocol.ErrMeshFull,
	protocol.ErrMailboxFull,
	protocol.ErrUnknownDomain,
	ErrOtherReason,
}

// reasonCode is the code of the first of statusReasons that reason is.
func reasonCode(reason error) byte {
	if reason == nil {
		return 0
	}
	for code, r := range statusReasons[1 : len(statusReasons)-1] {
		if errors.Is(reason, r) {
			return byte(code + 1)
		}
	}
	return byte(len(statusReasons) - 1)
}

// meshStatus is a status record: the status and the user it belongs to.
type meshStatus struct {
	sender string
	protocol.MessageStatus
}

// encodeStatus: version | state | reason code | updated | expires | field
// sender | field at | recipient (rest). The id is the record's key.
func encodeStatus(s meshStatus) []byte {
	b := make([]byte, statusHeader, statusHeader+8+len(s.sender)+len(s.At)+len(s.Recipient))
	b[0] = recordVersion
	b[1] = meshCode(s.State)
	b[2] = reasonCode(s.Reason)
	putTime(b[3:], s.Updated)
	putTime(b[3+timeLen:], s.Expires)
	b = appendField(b, []byte(s.sender))
	b = appendField(b, []byte(s.At))
	return append(b, s.Recipient...)
}

func decodeStatus(id protocol.MeshID, b []byte) (meshStatus, error) {
	body, err := recordBody("status", b)
	if err != nil {
		return meshStatus{}, err
	}
	if len(body) < statusHeader-1 {
		return meshStatus{}, truncated("status", statusHeader-1, len(body))
	}
	state, err := meshStateOf(body[0])
	if err != nil {
		return meshStatus{}, err
	}
	s := meshStatus{MessageStatus: protocol.MessageStatus{ID: id, State: state}}
	if int(body[1]) >= len(statusReasons) {
		return meshStatus{}, fmt.Errorf("%w: status reason code %d", ErrCorrupt, body[1])
	}
	s.Reason = statusReasons[body[1]]
	if s.Updated, err = getTime(body[2:]); err != nil {
		return meshStatus{}, err
	}
	if s.Expires, err = getTime(body[2+timeLen:]); err != nil {
		return meshStatus{}, err
	}
	rest := body[statusHeader-1:]
	for _, f := range []*string{&s.sender, &s.At} {
		var field []byte
		if field, rest, err = takeField("status", rest); err != nil {
			return meshStatus{}, err
		}
		*f = string(field)
	}
	s.Recipient = string(rest)
	return s, nil
}

// meshTally counts the envelopes and Data bytes held from one origin, or
// handed over by one neighbour.
type meshTally struct {
	envelopes uint64
	bytes     uint64
}

// encodeMeshTally: version | envelopes | bytes (see encodeCounters).
func encodeMeshTally(t meshTally) []byte {
	return encodeCounters(t.envelopes, t.bytes)
}

func decodeMeshTally(b []byte) (meshTally, error) {
	return decodeTally("origin", b)
}

// neighbourTally is what one neighbour handed over: the envelopes and
// bytes held, and the ids its envelopes put in the seen-set.
type neighbourTally struct {
	meshTally
	seen uint64
}

// empty reports whether the neighbour's record can go.
func (t neighbourTally) empty() bool { return t.envelopes == 0 && t.seen == 0 }

// encodeNeighbourTally: version | envelopes | bytes | seen ids (see
// encodeCounters).
func encodeNeighbourTally(t neighbourTally) []byte {
	return encodeCounters(t.envelopes, t.bytes, t.seen)
}

func decodeNeighbourTally(b []byte) (neighbourTally, error) {
	v, err := decodeCounters("neighbour", b, 3)
	if err != nil {
		return neighbourTally{}, err
	}
	if v[1] > math.MaxInt64 || v[0] > v[2] {
		// Every held envelope's id is in the seen-set.
		return neighbourTally{}, fmt.Errorf("%w: neighbour record of %d envelopes, %d bytes, %d seen ids", ErrCorrupt, v[0], v[1], v[2])
	}
	return neighbourTally{meshTally{v[0], v[1]}, v[2]}, nil
}

func decodeTally(kind string, b []byte) (meshTally, error) {
	v, err := decodeCounters(kind, b, 2)
	if err != nil {
		return meshTally{}, err
	}
	if v[1] > math.MaxInt64 {
		return meshTally{}, fmt.Errorf("%w: %s record holds %d bytes", ErrCorrupt, kind, v[1])
	}
	return meshTally{envelopes: v[0], bytes: v[1]}, nil
}

// meshTotals is the whole store-and-forward store's bookkeeping, so that
// quota checks and MeshStats read one record.
type meshTotals struct {
	meshTally
	seen uint64 // ids in the seen-set
}

// encodeMeshTotals: version | envelopes | bytes | seen ids (see
// encodeCounters).
func encodeMeshTotals(t meshTotals) []byte {
	return encodeCounters(t.envelopes, t.bytes, t.seen)
}

func decodeMeshTotals(b []byte) (meshTotals, error) {
	v, err := decodeCounters("mesh totals", b, 3)
	if err != nil {
		return meshTotals{}, err
	}
	if v[1] > math.MaxInt64 || v[0] > v[2] {
		return meshTotals{}, fmt.Errorf("%w: mesh totals of %d envelopes, %d bytes, %d seen ids", ErrCorrupt, v[0], v[1], v[2])
	}
	return meshTotals{meshTally{v[0], v[1]}, v[2]}, nil
}
