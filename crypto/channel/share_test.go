package channel

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestCheckTopicAcceptsOnlyTheTopicAlphabet(t *testing.T) {
	tests := []struct {
		topic string
		ok    bool
	}{
		{"kiez-news", true},
		{"a", true},
		{"9", true},
		{"berlin.neukoelln_2026-mesh", true},
		{strings.Repeat("x", MaxTopic), true},
		{"", false},
		{strings.Repeat("x", MaxTopic+1), false},
		{"-news", false},
		{".news", false},
		{"_news", false},
		{"Kiez", false},
		{"kiez news", false},
		{"kiez/news", false},
		{"kiez#news", false},
		{"kiez%20news", false},
		{"köln", false},
		{"news\n", false},
	}
	for _, tt := range tests {
		err := CheckTopic(tt.topic)
		if tt.ok && err != nil {
			t.Errorf("CheckTopic(%q): %v, want nil", tt.topic, err)
		}
		if !tt.ok && !errors.Is(err, ErrTopic) {
			t.Errorf("CheckTopic(%q): %v, want ErrTopic", tt.topic, err)
		}
	}
}

func TestNormalizeTopicLowercasesASCIIAndThenChecks(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Kiez-News", "kiez-news", true},
		{"KIEZ", "kiez", true},
		{"kiez", "kiez", true},
		{"Köln", "", false}, // only A-Z are lowercased, and ö is refused
		{" Kiez", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeTopic(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("NormalizeTopic(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok && (!errors.Is(err, ErrTopic) || got != "") {
			t.Errorf("NormalizeTopic(%q) = %q, %v; want ErrTopic", tt.in, got, err)
		}
	}
}

func TestAShareStringRoundTrips(t *testing.T) {
	sh := Share{Topic: "kiez-news", Secret: testSecret(0)}
	s := sh.String()
	const want = "qpc://channel/kiez-news#AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	if s != want {
		t.Fatalf("String() = %q, want %q", s, want)
	}
	for _, in := range []string{s, "  " + s + "\n", "QPC://Channel/Kiez-News#AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"} {
		got, err := ParseShare(in)
		if err != nil || got != sh {
			t.Errorf("ParseShare(%q) = %+v, %v; want %+v", in, got, err, sh)
		}
	}
	random := Share{Topic: "x", Secret: mustNewSecret(t)}
	if got, err := ParseShare(random.String()); err != nil || got != random {
		t.Errorf("random share: ParseShare = %+v, %v", got, err)
	}
}

func TestABadShareStringSaysWhatIsWrong(t *testing.T) {
	secret := base64.RawURLEncoding.EncodeToString(make([]byte, SecretSize))
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"an empty string", "", ErrShare},
		{"white space only", " \t\n", ErrShare},
		{"another scheme", "https://channel/kiez#" + secret, ErrShare},
		{"another kind of link", "qpc://chan/kiez#" + secret, ErrShare},
		{"the scheme alone", "qpc://channel/", ErrShare},
		{"no '#'", "qpc://channel/kiez" + secret, ErrShare},
		{"no secret", "qpc://channel/kiez#", ErrShare},
		{"a secret with characters outside base64url", "qpc://channel/kiez#" + secret[:42] + "+", ErrShare},
		{"a padded secret", "qpc://channel/kiez#" + secret + "=", ErrShare},
		{"a secret in standard base64", "qpc://channel/kiez#" + base64.StdEncoding.EncodeToString(make([]byte, SecretSize)), ErrShare},
		{"a secret whose last character has stray bits", "qpc://channel/kiez#" + secret[:42] + "B", ErrShare},
		{"a secret with a line break", "qpc://channel/kiez#" + secret[:20] + "\n" + secret[20:], ErrShare},
		{"a secret of 31 bytes", "qpc://channel/kiez#" + base64.RawURLEncoding.EncodeToString(make([]byte, 31)), ErrShare},
		{"a secret of 33 bytes", "qpc://channel/kiez#" + base64.RawURLEncoding.EncodeToString(make([]byte, 33)), ErrShare},
		{"a second '#'", "qpc://channel/kiez#" + secret + "#x", ErrShare},
		{"an empty topic", "qpc://channel/#" + secret, ErrTopic},
		{"a topic with a space", "qpc://channel/kiez news#" + secret, ErrTopic},
		{"a topic with a path", "qpc://channel/kiez/news#" + secret, ErrTopic},
		{"a topic starting with '-'", "qpc://channel/-kiez#" + secret, ErrTopic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseShare(tt.in)
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrShare) {
				t.Fatalf("ParseShare(%q): %v, want %v (and ErrShare)", tt.in, err, tt.want)
			}
			if got != (Share{}) {
				t.Fatalf("ParseShare returned %+v with its error", got)
			}
		})
	}
}
