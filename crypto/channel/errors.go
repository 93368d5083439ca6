package channel

import (
	"errors"
	"strings"
)

// ErrTopic means a topic is empty, longer than 64 bytes, holds a character
// other than a-z, 0-9, '.', '_' and '-', or does not start with a letter or
// a digit.
var ErrTopic = errors.New("channel: bad topic")

// ErrShare means a share string is not of the form
// "qpc://channel/<topic>#<secret>", or its secret is not 32 bytes in
// unpadded base64url. A share whose only fault is its topic also wraps
// ErrTopic.
var ErrShare = errors.New("channel: bad share string")

// ErrText means a post's text is empty, longer than MaxText bytes, or not
// valid UTF-8.
var ErrText = errors.New("channel: bad text")

// ErrAuthor means a post's author is not a valid "user@domain" address.
var ErrAuthor = errors.New("channel: bad author")

// ErrKey means the author's Ed25519 private key has the wrong size, or its
// public half does not belong to its seed.
var ErrKey = errors.New("channel: bad identity key")

// ErrBody means a body's size is not a multiple of Quantum, or is below
// Quantum or above MaxBody.
var ErrBody = errors.New("channel: bad body size")

// ErrVersionTooOld means a body carries version 0, which no build writes.
var ErrVersionTooOld = errors.New("channel: body version too old")

// ErrVersion means a body carries a version newer than this build knows:
// the author's client is newer than the reader's.
var ErrVersion = errors.New("channel: unknown body version")

// ErrDecrypt means a body does not decrypt under the channel's keys: it was
// made for another channel, or altered on the way.
var ErrDecrypt = errors.New("channel: cannot decrypt (another channel, or tampered)")

// ErrMalformed means a body decrypted but its content does not follow the
// layout: a length that overruns, nonzero or excess padding, or an author
// or text that Seal would refuse (then ErrAuthor or ErrText is wrapped too).
// Only someone holding the channel secret can make such a body.
var ErrMalformed = errors.New("channel: malformed message")

// ErrBadSignature means a body decrypted and parsed but its signature does
// not verify under the identity key it carries: someone who holds the
// channel secret, but not the author's identity key, changed the message or
// moved it from another channel.
var ErrBadSignature = errors.New("channel: bad author signature")

// both returns an error that is outer and inner (errors.Is finds either)
// and says so once: "channel: malformed message: bad text: empty", not
// "channel: malformed message: channel: bad text: empty".
func both(outer, inner error) error { return twoErrors{outer, inner} }

type twoErrors struct{ outer, inner error }

func (e twoErrors) Error() string {
	return e.outer.Error() + ": " + strings.TrimPrefix(e.inner.Error(), "channel: ")
}

func (e twoErrors) Unwrap() []error { return []error{e.outer, e.inner} }
