package chat

import (
	"encoding/base64"
	"fmt"
	"strings"

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
