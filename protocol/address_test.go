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
		{"a plain address", "bob@node1.mesh", Address{User: "bob", Domain: "node1.mesh"}, ""},
		{"upper case is folded in both parts", "Bob@Node1.MESH", Address{User: "bob", Domain: "node1.mesh"}, ""},
		{"the user's allowed punctuation", "b.o_b-1@a.mesh", Address{User: "b.o_b-1", Domain: "a.mesh"}, ""},
		{"a user of 64 characters", strings.Repeat("b", 64) + "@a.mesh", Address{User: strings.Repeat("b", 64), Domain: "a.mesh"}, ""},
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
		"bob":          {User: "bob", Domain: "home.mesh"},
		"@Bob":         {User: "bob", Domain: "home.mesh"},
		" bob@b.mesh ": {User: "bob", Domain: "b.mesh"},
		"@bob@B.mesh":  {User: "bob", Domain: "b.mesh"},
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

func TestParseRecipientReadsADevice(t *testing.T) {
	cases := []struct {
		name, in string
		want     Address
		ok       bool
	}{
		{"a plain user", "alice", Address{User: "alice", Domain: "home.mesh"}, true},
		{"a device of a local user", "alice#0123456789abcdef", Address{User: "alice", Domain: "home.mesh", Device: "0123456789abcdef"}, true},
		{"a device with a domain, folded to lower case", "Alice#0123456789ABCDEF@Far.Mesh", Address{User: "alice", Domain: "far.mesh", Device: "0123456789abcdef"}, true},
		{"a device id too short", "alice#0123", Address{}, false},
		{"a device id too long", "alice#0123456789abcdef0", Address{}, false},
		{"a device id that is not hex", "alice#0123456789abcdeg", Address{}, false},
		{"an empty device", "alice#@a.mesh", Address{}, false},
		{"a device without a user", "#0123456789abcdef", Address{}, false},
		{"two devices", "alice#0123456789abcdef#0123456789abcdef", Address{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseRecipient(c.in, "home.mesh")
			if (err == nil) != c.ok {
				t.Fatalf("ParseRecipient(%q) = %+v, %v; want ok %v", c.in, got, err, c.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrBadAddress) {
					t.Errorf("%v is not ErrBadAddress", err)
				}
				return
			}
			if got != c.want {
				t.Errorf("ParseRecipient(%q) = %+v, want %+v", c.in, got, c.want)
			}
		})
	}
	if _, err := ParseAddress("alice#0123456789abcdef@a.mesh"); !errors.Is(err, ErrBadAddress) {
		t.Errorf("ParseAddress took a device address: %v", err)
	}
	a := Address{User: "alice", Domain: "a.mesh", Device: "0123456789abcdef"}
	if a.String() != "alice#0123456789abcdef@a.mesh" || a.Account().String() != "alice@a.mesh" {
		t.Errorf("texts %q and %q", a, a.Account())
	}
}

func TestParseQueue(t *testing.T) {
	for in, want := range map[string][2]string{"alice": {"alice", ""}, "alice#0123456789abcdef": {"alice", "0123456789abcdef"}} {
		u, d, err := ParseQueue(in)
		if err != nil || u != want[0] || d != want[1] || QueueName(u, d) != in {
			t.Errorf("ParseQueue(%q) = %q, %q, %v", in, u, d, err)
		}
	}
	for _, in := range []string{"", "alice#", "alice#xyz", "al ice", "alice#0123456789abcdef#0123456789abcdef"} {
		if _, _, err := ParseQueue(in); !errors.Is(err, ErrBadAddress) {
			t.Errorf("ParseQueue(%q) = %v, want ErrBadAddress", in, err)
		}
	}
}
