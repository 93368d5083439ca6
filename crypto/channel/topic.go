package channel

import "fmt"

// MaxTopic is the longest topic, in bytes.
const MaxTopic = 64

// CheckTopic reports whether topic is a valid channel topic: 1 to MaxTopic
// bytes of a-z, 0-9, '.', '_' and '-', starting with a letter or a digit.
// The error wraps ErrTopic.
//
// The alphabet is small so that a topic reads the same everywhere it is
// shown or typed, needs no escaping in a share string, and cannot hide
// look-alike characters.
func CheckTopic(topic string) error {
	if topic == "" {
		return fmt.Errorf("%w: empty", ErrTopic)
	}
	if len(topic) > MaxTopic {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTopic, len(topic), MaxTopic)
	}
	if !isLowerAlnum(topic[0]) {
		return fmt.Errorf("%w: %q does not start with a letter or digit", ErrTopic, topic)
	}
	for i := 1; i < len(topic); i++ {
		if c := topic[i]; !isLowerAlnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("%w: %q has %q at byte %d (allowed: a-z 0-9 . _ -)", ErrTopic, topic, c, i)
		}
	}
	return nil
}

// NormalizeTopic lowercases the ASCII letters A-Z of topic and checks the
// result with CheckTopic, so that "Kiez-News" names the channel
// "kiez-news". Other characters are left alone, and are refused unless
// CheckTopic allows them.
func NormalizeTopic(topic string) (string, error) {
	b := []byte(topic)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	t := string(b)
	if err := CheckTopic(t); err != nil {
		return "", err
	}
	return t, nil
}

func isLowerAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}
