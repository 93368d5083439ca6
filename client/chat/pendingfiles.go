package chat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/files"
)

// pendingFilesKey is the chat database setting that keeps the downloads
// which could not run because the file's home node was out of reach
// (issue 28): the message is acknowledged on the node, so this record is
// what keeps the file from being lost until a route appears.
const pendingFilesKey = "files-pending"

// maxPendingFiles bounds that record; a file beyond it is refused with
// ErrPendingFull rather than pushing out one already waiting.
const maxPendingFiles = 64

// ErrPendingFiles means the record of pending downloads is malformed.
var ErrPendingFiles = errors.New("malformed record of pending downloads")

// ErrPendingFull means maxPendingFiles downloads already wait.
var ErrPendingFull = errors.New("too many downloads already wait for their sender's node")

// PendingFile is a download that waits for a route to its home node.
type PendingFile struct {
	// ID is the file line's message id.
	ID chatdb.MsgID
	// Dest is the path the file is saved to: chosen once, so that the
	// retry resumes the same part file and the file never gets two names.
	Dest string
	// Ref is the file's reference.
	Ref files.Reference
}

// Record layout: entries, each 16 bytes of message id, 2 bytes (big
// endian) of path length, the path (UTF-8, 1 to 4096 bytes), 2 bytes of
// reference length, then the reference (files.MarshalReference).
func marshalPendingFiles(ps []PendingFile) ([]byte, error) {
	var b []byte
	for _, p := range ps {
		ref, err := files.MarshalReference(p.Ref)
		if err != nil {
			return nil, err
		}
		if len(ref) > 0xffff {
			return nil, fmt.Errorf("%w: reference of %d bytes", ErrPendingFiles, len(ref))
		}
		b = append(b, p.ID[:]...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Dest)))
		b = append(b, p.Dest...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(ref)))
		b = append(b, ref...)
	}
	return b, nil
}

func parsePendingFiles(b []byte) ([]PendingFile, error) {
	var ps []PendingFile
	for len(b) > 0 {
		if len(ps) == maxPendingFiles {
			return nil, fmt.Errorf("%w: more than %d entries", ErrPendingFiles, maxPendingFiles)
		}
		if len(b) < 18 {
			return nil, fmt.Errorf("%w: %d bytes left", ErrPendingFiles, len(b))
		}
		var p PendingFile
		copy(p.ID[:], b[:16])
		n := int(binary.BigEndian.Uint16(b[16:18]))
		if n == 0 || n > 4096 || len(b) < 18+n+2 || !utf8.Valid(b[18:18+n]) {
			return nil, fmt.Errorf("%w: path of %d bytes", ErrPendingFiles, n)
		}
		p.Dest = string(b[18 : 18+n])
		b = b[18+n:]
		m := int(binary.BigEndian.Uint16(b[:2]))
		if len(b) < 2+m {
			return nil, fmt.Errorf("%w: reference of %d bytes, %d left", ErrPendingFiles, m, len(b)-2)
		}
		ref, err := files.ParseReference(b[2 : 2+m])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPendingFiles, err)
		}
		p.Ref = ref
		b = b[2+m:]
		ps = append(ps, p)
	}
	return ps, nil
}

// PendingFiles returns the downloads that wait for their home node, in
// the order they were added.
func (e *Engine) PendingFiles() ([]PendingFile, error) {
	var ps []PendingFile
	err := e.db.View(func(tx *chatdb.Tx) error {
		v, err := tx.Meta(pendingFilesKey)
		if err != nil {
			return err
		}
		ps, err = parsePendingFiles(v)
		return err
	})
	return ps, err
}

// AddPendingFile keeps p until DropPendingFile; adding a file line that
// already waits does nothing (its first destination stays).
func (e *Engine) AddPendingFile(p PendingFile) error {
	if p.Dest == "" || len(p.Dest) > 4096 || !utf8.ValidString(p.Dest) {
		return fmt.Errorf("%w: path of %d bytes", ErrPendingFiles, len(p.Dest))
	}
	return e.db.Update(func(tx *chatdb.Tx) error {
		v, err := tx.Meta(pendingFilesKey)
		if err != nil {
			return err
		}
		// A damaged record is not started afresh, unlike the saved-files
		// one: it holds files not yet fetched.
		ps, err := parsePendingFiles(v)
		if err != nil {
			return err
		}
		for _, q := range ps {
			if q.ID == p.ID {
				return nil
			}
		}
		if len(ps) >= maxPendingFiles {
			return fmt.Errorf("%w (%d)", ErrPendingFull, maxPendingFiles)
		}
		b, err := marshalPendingFiles(append(ps, p))
		if err != nil {
			return err
		}
		return tx.PutMeta(pendingFilesKey, b)
	})
}

// DropPendingFile forgets the pending download of file line id (saved,
// or expired).
func (e *Engine) DropPendingFile(id chatdb.MsgID) error {
	return e.db.Update(func(tx *chatdb.Tx) error {
		v, err := tx.Meta(pendingFilesKey)
		if err != nil {
			return err
		}
		ps, err := parsePendingFiles(v)
		if err != nil {
			return err
		}
		kept := ps[:0]
		for _, q := range ps {
			if q.ID != id {
				kept = append(kept, q)
			}
		}
		b, err := marshalPendingFiles(kept)
		if err != nil {
			return err
		}
		return tx.PutMeta(pendingFilesKey, b)
	})
}
