package chat

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/files"
)

// A file travels as a chat line whose text is FilePrefix followed by the
// file reference (client/files.MarshalReference) in unpadded base64url.
// A line of text rather than a frame of its own, so that it goes every way
// text goes with nothing else to change: sealed to every device of a
// recipient with sent copies to the account's own devices, in a DM's or a
// group's MLS group, through the outbox, filed in the one history every
// surface reads. A client that predates files shows the line as text,
// which is harmless: the key in it opens only that file.
const FilePrefix = "qpc-file:v1:"

// ErrFileLine means a line that starts like a file line does not hold a
// valid file reference.
var ErrFileLine = fmt.Errorf("%w: file reference line", ErrFrame)

// FileText is the chat text that carries ref.
func FileText(ref files.Reference) (string, error) {
	b, err := files.MarshalReference(ref)
	if err != nil {
		return "", err
	}
	s := FilePrefix + base64.RawURLEncoding.EncodeToString(b)
	if err := checkText(s); err != nil {
		return "", err
	}
	return s, nil
}

// ParseFileText reports whether text is a file line and, when it is,
// the reference in it; a file line that does not decode is an error
// (wrapping ErrFileLine and client/files' reason).
func ParseFileText(text string) (files.Reference, bool, error) {
	rest, ok := strings.CutPrefix(text, FilePrefix)
	if !ok {
		return files.Reference{}, false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return files.Reference{}, true, fmt.Errorf("%w: %v", ErrFileLine, err)
	}
	ref, err := files.ParseReference(b)
	if err != nil {
		return files.Reference{}, true, fmt.Errorf("%w: %w", ErrFileLine, err)
	}
	return ref, true, nil
}

// FileSummary is how a file line reads in a conversation: name, size and
// media type. The name is the sender's: print it through termtext.
func FileSummary(ref files.Reference) string {
	mime := ref.MIME
	if mime == "" {
		mime = "unknown type"
	}
	return fmt.Sprintf("[file] %s (%s, %s)", ref.Name, HumanSize(int64(ref.Size)), mime)
}

// HumanSize writes n bytes with a binary unit.
func HumanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// savedFilesKey is the chat database setting that remembers where the
// files of file lines were saved on this machine, so that the REPL shows
// "saved PATH" for a file that qpc recv --save-dir or an earlier /download
// saved.
const savedFilesKey = "files-saved"

// maxSavedFiles bounds that record; the oldest entries go first.
const maxSavedFiles = 256

// savedFile is one entry of the record: the file line's message id and
// the path its file was saved to.
type savedFile struct {
	ID   chatdb.MsgID
	Path string
}

// Record layout: entries, each 16 bytes of message id, 2 bytes (big
// endian) of path length, then the path (UTF-8, 1 to 4096 bytes).
func marshalSavedFiles(fs []savedFile) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.ID[:]...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(f.Path)))
		b = append(b, f.Path...)
	}
	return b
}

// ErrSavedFiles means the record of saved files is malformed.
var ErrSavedFiles = errors.New("malformed record of saved files")

func parseSavedFiles(b []byte) ([]savedFile, error) {
	var fs []savedFile
	for len(b) > 0 {
		if len(b) < 18 {
			return nil, fmt.Errorf("%w: %d bytes left", ErrSavedFiles, len(b))
		}
		var f savedFile
		copy(f.ID[:], b[:16])
		n := int(binary.BigEndian.Uint16(b[16:18]))
		if n == 0 || n > 4096 || len(b) < 18+n || !utf8.Valid(b[18:18+n]) {
			return nil, fmt.Errorf("%w: path of %d bytes", ErrSavedFiles, n)
		}
		f.Path = string(b[18 : 18+n])
		b = b[18+n:]
		if len(fs) == maxSavedFiles {
			return nil, fmt.Errorf("%w: more than %d entries", ErrSavedFiles, maxSavedFiles)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// FileSaved returns where the file of the file line id was saved on this
// machine, "" if it was not (or the record is unreadable).
func (e *Engine) FileSaved(id chatdb.MsgID) string {
	var path string
	_ = e.db.View(func(tx *chatdb.Tx) error {
		v, err := tx.Meta(savedFilesKey)
		if err != nil {
			return err
		}
		fs, err := parseSavedFiles(v)
		if err != nil {
			return err
		}
		for _, f := range fs {
			if f.ID == id {
				path = f.Path
			}
		}
		return nil
	})
	return path
}

// SetFileSaved records that the file of the file line id was saved to
// path, keeping the last maxSavedFiles such records.
func (e *Engine) SetFileSaved(id chatdb.MsgID, path string) error {
	if path == "" || len(path) > 4096 || !utf8.ValidString(path) {
		return fmt.Errorf("%w: path of %d bytes", ErrSavedFiles, len(path))
	}
	return e.db.Update(func(tx *chatdb.Tx) error {
		v, err := tx.Meta(savedFilesKey)
		if err != nil {
			return err
		}
		fs, err := parseSavedFiles(v)
		if err != nil {
			fs = nil // a damaged record is started afresh: it is a convenience
		}
		fs = append(fs, savedFile{ID: id, Path: path})
		if len(fs) > maxSavedFiles {
			fs = fs[len(fs)-maxSavedFiles:]
		}
		return tx.PutMeta(savedFilesKey, marshalSavedFiles(fs))
	})
}
