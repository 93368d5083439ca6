package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// AddKTEvidence keeps e, unless the same two heads are kept already
// (added false). Beyond MaxKTEvidence the oldest goes: evidence is for
// people to see, and the newest says the log misbehaves as well as all.
func (s *Store) AddKTEvidence(e protocol.KTEvidence) (added bool, err error) {
	id := ktEvidenceID(e)
	err = s.update("add kt evidence", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKTEvidence)
		c := b.Cursor()
		n := 0
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) == 16 && bytes.Equal(k[8:], id) {
				return nil
			}
			n++
		}
		key := binary.BigEndian.AppendUint64(nil, uint64(e.Found.UnixMilli()))
		if err := b.Put(append(key, id...), encodeKTEvidence(e)); err != nil {
			return err
		}
		added = true
		for ; n >= MaxKTEvidence; n-- {
			k, _ := b.Cursor().First()
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return added, err
}

// KTEvidence returns the evidence kept, newest first, at most limit.
func (s *Store) KTEvidence(limit int) ([]protocol.KTEvidence, error) {
	var out []protocol.KTEvidence
	err := s.view("kt evidence", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketKTEvidence).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			e, err := decodeKTEvidence(v)
			if err != nil {
				return fmt.Errorf("kt evidence %x: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// ktEvidenceID names a pair of heads, in either order.
func ktEvidenceID(e protocol.KTEvidence) []byte {
	a, b := e.First, e.Second
	if bytes.Compare(a, b) > 0 {
		a, b = b, a
	}
	h := sha256.New()
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(a))))
	h.Write(a)
	h.Write(b)
	return h.Sum(nil)[:8]
}

// encodeKTEvidence: version | found millis(8) | field first | field
// second | field reason | field domain | field reported by.
func encodeKTEvidence(e protocol.KTEvidence) []byte {
	b := binary.BigEndian.AppendUint64([]byte{recordVersion}, uint64(e.Found.UnixMilli()))
	for _, f := range [][]byte{e.First, e.Second, []byte(e.Reason), []byte(e.Domain), []byte(e.ReportedBy)} {
		b = appendField(b, f)
	}
	return b
}

func decodeKTEvidence(b []byte) (protocol.KTEvidence, error) {
	body, err := recordBody("kt evidence", b)
	if err != nil {
		return protocol.KTEvidence{}, err
	}
	if len(body) < 8 {
		return protocol.KTEvidence{}, truncated("kt evidence", 8, len(body))
	}
	e := protocol.KTEvidence{Found: time.UnixMilli(int64(binary.BigEndian.Uint64(body)))}
	rest := body[8:]
	var fields [5][]byte
	for i := range fields {
		if fields[i], rest, err = takeField("kt evidence", rest); err != nil {
			return protocol.KTEvidence{}, err
		}
	}
	if len(rest) != 0 {
		return protocol.KTEvidence{}, fmt.Errorf("%w: kt evidence record has %d trailing bytes", ErrCorrupt, len(rest))
	}
	e.First, e.Second = bytes.Clone(fields[0]), bytes.Clone(fields[1])
	e.Reason, e.Domain, e.ReportedBy = string(fields[2]), string(fields[3]), string(fields[4])
	return e, nil
}
