package protocol

import (
	"errors"
	"strings"
	"testing"
)

// domainCases is the table of domains that every copy of the domain rule
// must judge alike (config and crypto/ca run it too). ok is whether the
// domain is valid as written.
var domainCases = []struct {
	name, domain string
	ok           bool
}{
	{"a one-label name", "localhost", true},
	{"a mesh domain", "node1.example.mesh", true},
	{"inner hyphens", "a-b.c-d", true},
	{"digits in labels", "1node.2mesh", true},
	{"a numeric label that is not the last", "10.node", true},
	{"a label of 63 characters", strings.Repeat("a", 63) + ".mesh", true},
	{"253 characters", strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 61), true},
	{"empty", "", false},
	{"254 characters", strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 62), false},
	{"a label of 64 characters", strings.Repeat("a", 64) + ".mesh", false},
	{"an IPv4 address", "10.0.0.1", false},
	{"a numeric last label", "node.123", false},
	{"all digits", "1234", false},
	{"upper case", "Node1.Mesh", false},
	{"a trailing dot", "node.mesh.", false},
	{"a leading dot", ".node.mesh", false},
	{"a double dot", "node..mesh", false},
	{"a label starting with '-'", "-node.mesh", false},
	{"a label ending with '-'", "node-.mesh", false},
	{"an underscore", "my_node.mesh", false},
	{"a space", "my node", false},
	{"an IPv6 address", "::1", false},
	{"a port", "node.mesh:7000", false},
	{"an address", "bob@node.mesh", false},
	{"non-ASCII", "nöde.mesh", false},
}

func TestTheDomainRule(t *testing.T) {
	for _, c := range domainCases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidDomain(c.domain)
			if (err == nil) != c.ok {
				t.Fatalf("ValidDomain(%q) = %v, want ok %v", c.domain, err, c.ok)
			}
			if err != nil && (!errors.Is(err, ErrBadDomain) || !errors.Is(err, ErrBadRequest)) {
				t.Errorf("%v is not ErrBadDomain and ErrBadRequest", err)
			}
		})
	}
}

func TestParseDomainFoldsCaseAndNothingElse(t *testing.T) {
	for in, want := range map[string]string{"Node1.Mesh": "node1.mesh", "node1.mesh": "node1.mesh", "LOCALHOST": "localhost"} {
		if got, err := ParseDomain(in); err != nil || got != want {
			t.Errorf("ParseDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"10.0.0.1", "Node.Mesh.", "a_b.mesh", ""} {
		if got, err := ParseDomain(in); !errors.Is(err, ErrBadDomain) {
			t.Errorf("ParseDomain(%q) = %q, %v; want ErrBadDomain", in, got, err)
		}
	}
}

func TestParseAddress(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     Address
		bad      string // what the error must mention; "" for success
	}{
		{"a plain address", "bob@node1.mesh", Address{"bob", "node1.mesh"}, ""},
		{"upper case is folded in both parts", "Bob@Node1.MESH", Address{"bob", "node1.mesh"}, ""},
		{"the user's allowed punctuation", "b.o_b-1@a.mesh", Address{"b.o_b-1", "a.mesh"}, ""},
		{"a user of 64 characters", strings.Repeat("b", 64) + "@a.mesh", Address{strings.Repeat("b", 64), "a.mesh"}, ""},
		{"a bare name", "bob", Address{}, "want user@domain"},
		{"an empty user", "@a.mesh", Address{}, "1-64"},
		{"a user of 65 characters", strings.Repeat("b", 65) + "@a.mesh", Address{}, "1-64"},
		{"a user starting with '.'", ".bob@a.mesh", Address{}, "starting with a letter or digit"},
		{"a user with a space", "bo b@a.mesh", Address{}, "use a-z"},
		{"an empty domain", "bob@", Address{}, "empty"},
		{"a domain that is an IP address", "bob@10.0.0.1", Address{}, "numeric label"},
		{"two '@'", "bob@a@b.mesh", Address{}, "holds '@'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseAddress(c.in)
			if c.bad == "" {
				if err != nil || got != c.want {
					t.Fatalf("ParseAddress(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
				}
				if again, err := ParseAddress(got.String()); err != nil || again != got {
					t.Errorf("%q does not parse back to itself: %+v, %v", got, again, err)
				}
				return
			}
			if !errors.Is(err, ErrBadAddress) || !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), c.bad) {
				t.Fatalf("ParseAddress(%q) = %+v, %v; want ErrBadAddress saying %q", c.in, got, err, c.bad)
			}
		})
	}
}

func TestValidAddressWantsItNormalised(t *testing.T) {
	if err := ValidAddress("bob@a.mesh"); err != nil {
		t.Errorf("bob@a.mesh: %v", err)
	}
	for _, s := range []string{"Bob@a.mesh", "bob@A.mesh", "bob", "bob@10.0.0.1", " bob@a.mesh"} {
		if err := ValidAddress(s); !errors.Is(err, ErrBadAddress) {
			t.Errorf("ValidAddress(%q) = %v, want ErrBadAddress", s, err)
		}
	}
}

func TestParseRecipientGivesABareNameTheHomeDomain(t *testing.T) {
	for in, want := range map[string]Address{
		"bob":          {"bob", "home.mesh"},
		"@Bob":         {"bob", "home.mesh"},
		" bob@b.mesh ": {"bob", "b.mesh"},
		"@bob@B.mesh":  {"bob", "b.mesh"},
	} {
		if got, err := ParseRecipient(in, "Home.Mesh"); err != nil || got != want {
			t.Errorf("ParseRecipient(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if _, err := ParseRecipient("b@d", "bad_home"); err != nil {
		t.Errorf("a domain given replaces the home: %v", err)
	}
	if _, err := ParseRecipient("bob", "bad_home"); !errors.Is(err, ErrBadAddress) {
		t.Errorf("a bare name of a bad home domain: %v, want ErrBadAddress", err)
	}
}

func TestParseUserIsTheRegistrationRule(t *testing.T) {
	for _, name := range []string{"bob", "Bob", "", ".bob", "b@b", strings.Repeat("b", 65)} {
		user, perr := ParseUser(name)
		verr := ValidateUserName(strings.ToLower(name))
		if (perr == nil) != (verr == nil) {
			t.Errorf("%q: ParseUser says %v, ValidateUserName %v", name, perr, verr)
		}
		if perr == nil && user != strings.ToLower(name) {
			t.Errorf("ParseUser(%q) = %q", name, user)
		}
		if verr != nil && !errors.Is(verr, ErrBadRequest) {
			t.Errorf("ValidateUserName(%q) = %v, not ErrBadRequest", name, verr)
		}
	}
}

// FuzzParseAddress holds the parsers to their promises on any input: no
// panic, a typed error, and what they accept is normalised, valid and
// parses back to itself.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"bob@node1.mesh", "Bob@Node1.Mesh", "bob", "@bob", "bob@10.0.0.1", "a@b@c", "", "b.o_b-1@x-y.z"} {
		f.Add(s)
	}
	for _, c := range domainCases {
		f.Add("u@" + c.domain)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if (ValidAddress(s) == nil) != (err == nil && a.String() == s) {
			t.Fatalf("ValidAddress(%q) disagrees with ParseAddress: %+v, %v", s, a, err)
		}
		if err != nil {
			if !errors.Is(err, ErrBadAddress) {
				t.Fatalf("ParseAddress(%q): %v is not ErrBadAddress", s, err)
			}
		} else {
			if ValidDomain(a.Domain) != nil || ValidateUserName(a.User) != nil {
				t.Fatalf("ParseAddress(%q) = %+v, which is not valid", s, a)
			}
			if b, err := ParseAddress(a.String()); err != nil || b != a {
				t.Fatalf("%q parsed to %+v, which parses back to %+v, %v", s, a, b, err)
			}
		}
		d, err := ParseDomain(s)
		if err != nil {
			if !errors.Is(err, ErrBadDomain) {
				t.Fatalf("ParseDomain(%q): %v is not ErrBadDomain", s, err)
			}
			return
		}
		if ValidDomain(d) != nil || d != strings.ToLower(s) {
			t.Fatalf("ParseDomain(%q) = %q", s, d)
		}
	})
}
