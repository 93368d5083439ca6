package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/protocol"
)

// MaxAuditEntries is how many entries the audit log keeps: the newest.
const MaxAuditEntries = 1000

// maxAuditField bounds each text field of an audit entry.
const maxAuditField = 1024

// encodeAudit: version | time | action length (2) | action | target
// length (2) | target | detail (rest). Keys are the bucket's sequence, 8
// bytes big endian, so that cursor order is the order of the actions.
func encodeAudit(e protocol.AuditEntry) []byte {
	clip := func(s string) string {
		if len(s) > maxAuditField {
			return s[:maxAuditField]
		}
		return s
	}
	action, target, detail := clip(e.Action), clip(e.Target), clip(e.Detail)
	b := make([]byte, 1+timeLen, 1+timeLen+4+len(action)+len(target)+len(detail))
	b[0] = recordVersion
	putTime(b[1:], time.Unix(e.Time, 0))
	b = binary.BigEndian.AppendUint16(b, uint16(len(action)))
	b = append(b, action...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(target)))
	b = append(b, target...)
	return append(b, detail...)
}

// decodeAudit decodes an audit record.
func decodeAudit(b []byte) (protocol.AuditEntry, error) {
	body, err := recordBody("audit", b)
	if err != nil {
		return protocol.AuditEntry{}, err
	}
	if len(body) < timeLen {
		return protocol.AuditEntry{}, truncated("audit", timeLen, len(body))
	}
	t, err := getTime(body)
	if err != nil {
		return protocol.AuditEntry{}, err
	}
	body = body[timeLen:]
	field := func() (string, error) {
		if len(body) < 2 {
			return "", truncated("audit", 2, len(body))
		}
		n := int(binary.BigEndian.Uint16(body))
		if len(body) < 2+n {
			return "", truncated("audit", 2+n, len(body))
		}
		s := string(body[2 : 2+n])
		body = body[2+n:]
		return s, nil
	}
	action, err := field()
	if err != nil {
		return protocol.AuditEntry{}, err
	}
	target, err := field()
	if err != nil {
		return protocol.AuditEntry{}, err
	}
	if len(body) > maxAuditField {
		return protocol.AuditEntry{}, fmt.Errorf("%w: audit detail of %d bytes", ErrCorrupt, len(body))
	}
	return protocol.AuditEntry{Time: t.Unix(), Action: action, Target: target, Detail: string(body)}, nil
}

// AppendAudit adds e to the audit log and drops the oldest entries beyond
// max (MaxAuditEntries when max is 0).
func (s *Store) AppendAudit(e protocol.AuditEntry, max int) error {
	if max <= 0 {
		max = MaxAuditEntries
	}
	return s.update("audit", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(seq), encodeAudit(e)); err != nil {
			return err
		}
		// The keys are consecutive from the oldest kept: seq-max and
		// below go.
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.First() {
			old, err := parseSeqKey(k)
			if err != nil {
				return err
			}
			if old+uint64(max) > seq {
				break
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Audit returns the newest limit entries of the audit log, newest first.
func (s *Store) Audit(limit int) ([]protocol.AuditEntry, error) {
	var out []protocol.AuditEntry
	err := s.view("audit log", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			e, err := decodeAudit(v)
			if err != nil {
				return fmt.Errorf("audit entry %x: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
