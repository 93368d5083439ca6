package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// bucketReports holds the reports to the node's admin (issue 30), keyed by
// their id (8 bytes, big endian, from 1), each a report record. Open adds
// it to files from before reports.
var bucketReports = []byte("reports")

// maxReportLen bounds a stored report's sealed bytes; crypto/report's
// bound is below it, and the node checks that first.
const maxReportLen = 64 << 10

// AddReport keeps r under the next id and drops the oldest reports beyond
// node.MaxReports, in one transaction.
func (s *Store) AddReport(r node.Report) error {
	if len(r.Sealed) == 0 || len(r.Sealed) > maxReportLen {
		return fmt.Errorf("store: add report: %w: %d bytes", protocol.ErrBadRequest, len(r.Sealed))
	}
	if err := checkUser(r.Account); err != nil {
		return err
	}
	return s.update("add report", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReports)
		var next uint64 = 1
		if k, _ := b.Cursor().Last(); k != nil {
			last, err := parseSeqKey(k)
			if err != nil {
				return err
			}
			next = last + 1
		}
		if err := b.Put(seqKey(next), encodeReport(r)); err != nil {
			return err
		}
		for n := countKeys(b); n > node.MaxReports; n-- {
			k, _ := b.Cursor().First()
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// Reports returns the reports kept, oldest first.
func (s *Store) Reports() ([]node.Report, error) {
	var out []node.Report
	err := s.view("reports", func(tx *bolt.Tx) error {
		out = nil
		return tx.Bucket(bucketReports).ForEach(func(k, v []byte) error {
			id, err := parseSeqKey(k)
			if err != nil {
				return err
			}
			r, err := decodeReport(v)
			if err != nil {
				return fmt.Errorf("report %d: %w", id, err)
			}
			r.ID = id
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// encodeReport: version | received | account length (1) | account |
// sealed report (rest).
func encodeReport(r node.Report) []byte {
	b := make([]byte, 1+timeLen, 1+timeLen+1+len(r.Account)+len(r.Sealed))
	b[0] = recordVersion
	putTime(b[1:], r.Received)
	b = append(b, byte(len(r.Account)))
	b = append(b, r.Account...)
	return append(b, r.Sealed...)
}

// decodeReport decodes what encodeReport wrote; the result does not
// alias b.
func decodeReport(b []byte) (node.Report, error) {
	body, err := recordBody("report", b)
	if err != nil {
		return node.Report{}, err
	}
	if len(body) < timeLen+1 {
		return node.Report{}, truncated("report", timeLen+1, len(body))
	}
	received, err := getTime(body)
	if err != nil {
		return node.Report{}, err
	}
	n := int(body[timeLen])
	rest := body[timeLen+1:]
	if n == 0 || len(rest) <= n {
		return node.Report{}, fmt.Errorf("%w: report record: account of %d bytes, %d bytes left", ErrCorrupt, n, len(rest))
	}
	return node.Report{Received: received, Account: string(rest[:n]), Sealed: bytes.Clone(rest[n:])}, nil
}

// checkReports checks every report record and the bound.
func checkReports(tx *bolt.Tx) error {
	b := tx.Bucket(bucketReports)
	if n := countKeys(b); n > node.MaxReports {
		return fmt.Errorf("%d reports, more than %d", n, node.MaxReports)
	}
	return b.ForEach(func(k, v []byte) error {
		if len(k) != seqLen || binary.BigEndian.Uint64(k) == 0 {
			return fmt.Errorf("report key %x", k)
		}
		if _, err := decodeReport(v); err != nil {
			return fmt.Errorf("report %x: %w", k, err)
		}
		return nil
	})
}
