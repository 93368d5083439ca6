// Package msgtext checks the text of a message a person writes: chat
// messages (client/chat) and broadcast channel posts (crypto/channel) take
// 1 to some maximum bytes of UTF-8.
package msgtext

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// The ways a text can be wrong; callers wrap them under their own error.
var (
	ErrEmpty   = errors.New("nothing to send")
	ErrTooLong = errors.New("too long")
	ErrNotUTF8 = errors.New("the text is not UTF-8")
)

// Check accepts 1 to max bytes of valid UTF-8.
func Check(text string, max int) error {
	switch {
	case text == "":
		return ErrEmpty
	case len(text) > max:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(text), max)
	case !utf8.ValidString(text):
		return ErrNotUTF8
	}
	return nil
}
