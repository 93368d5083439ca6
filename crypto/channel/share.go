package channel

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// shareScheme starts every share string.
const shareScheme = "qpc://channel/"

// secretEncoding writes a secret in a share string: base64url without
// padding, strict, so that each secret has exactly one spelling.
var secretEncoding = base64.RawURLEncoding.Strict()

// Share is what a channel's members pass around (as text or a QR code) to
// invite someone: the topic and the secret.
type Share struct {
	Topic  string
	Secret Secret
}

// String returns the share as "qpc://channel/<topic>#<secret>", the secret
// in base64url without padding (43 characters). The string holds the
// secret: whoever sees it can read and post.
func (s Share) String() string {
	return shareScheme + s.Topic + "#" + secretEncoding.EncodeToString(s.Secret[:])
}

// ParseShare reads a share string as Share.String writes it. It ignores
// surrounding white space (pasted text), accepts the "qpc://channel/"
// prefix in any case and normalizes the topic with NormalizeTopic. The
// error wraps ErrShare, and also ErrTopic when the topic is what is wrong.
func ParseShare(s string) (Share, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Share{}, fmt.Errorf("%w: empty", ErrShare)
	}
	if len(s) < len(shareScheme) || !strings.EqualFold(s[:len(shareScheme)], shareScheme) {
		return Share{}, fmt.Errorf("%w: does not start with %q", ErrShare, shareScheme)
	}
	topic, enc, ok := strings.Cut(s[len(shareScheme):], "#")
	if !ok {
		return Share{}, fmt.Errorf("%w: no '#' before the secret", ErrShare)
	}
	topic, err := NormalizeTopic(topic)
	if err != nil {
		return Share{}, both(ErrShare, err)
	}
	// The decoder skips line breaks; a share string has none.
	if strings.ContainsAny(enc, "\r\n") {
		return Share{}, fmt.Errorf("%w: line break in the secret", ErrShare)
	}
	raw, err := secretEncoding.DecodeString(enc)
	if err != nil {
		return Share{}, fmt.Errorf("%w: secret is not unpadded base64url: %v", ErrShare, err)
	}
	if len(raw) != SecretSize {
		return Share{}, fmt.Errorf("%w: secret is %d bytes, want %d", ErrShare, len(raw), SecretSize)
	}
	sh := Share{Topic: topic}
	copy(sh.Secret[:], raw)
	return sh, nil
}
