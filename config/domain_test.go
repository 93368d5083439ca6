package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/crypto/ca"
	"github.com/quicprochat/qpc/protocol"
)

// The node's domain has one rule, protocol.ValidDomain. crypto/ca may not
// import protocol, so it keeps its own copy for the certificates it
// issues; this table holds the two, and --domain, to the same verdicts.
// Before, --domain took what the CA refused (10.0.0.1, Node1.Mesh), and
// such a node started but could not sign envelopes or channel posts.
func TestTheDomainRuleIsOneForConfigCAAndProtocol(t *testing.T) {
	long := strings.Repeat(strings.Repeat("a", 63)+".", 3)
	for _, c := range []struct {
		name, domain string
		ok           bool
	}{
		{"a one-label name", "localhost", true},
		{"a community domain", "node-1.ffm.freifunk.net", true},
		{"digits in labels", "1node.2mesh", true},
		{"a numeric label before the last", "10.node", true},
		{"253 characters", long + strings.Repeat("b", 61), true},
		{"254 characters", long + strings.Repeat("b", 62), false},
		{"a label of 64 characters", strings.Repeat("a", 64) + ".mesh", false},
		{"an IPv4 address", "10.0.0.1", false},
		{"a numeric last label", "node.123", false},
		{"a name of digits only", "1234", false},
		{"upper case", "Node1.Mesh", false},
		{"a trailing dot", "node.mesh.", false},
		{"a double dot", "node..mesh", false},
		{"a label ending with '-'", "node-.mesh", false},
		{"an underscore", "my_node.mesh", false},
		{"a space", "my node", false},
		{"an IPv6 address", "fd00::1", false},
		{"non-ASCII", "nöde.mesh", false},
		{"empty", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			perr := protocol.ValidDomain(c.domain)
			cerr := ca.ValidateDomain(c.domain)
			_, lerr := load(t, []string{"--domain", c.domain}, nil)
			if (perr == nil) != c.ok || (cerr == nil) != c.ok || (lerr == nil) != c.ok {
				t.Fatalf("%q: protocol says %v, crypto/ca %v, --domain %v; want ok %v", c.domain, perr, cerr, lerr, c.ok)
			}
			if c.ok {
				return
			}
			if !errors.Is(perr, protocol.ErrBadDomain) || !errors.Is(cerr, ca.ErrBadDomain) || !errors.Is(lerr, protocol.ErrBadDomain) {
				t.Errorf("errors are not typed: %v / %v / %v", perr, cerr, lerr)
			}
			var fe *FlagError
			if !errors.As(lerr, &fe) || fe.Flag != "domain" || !strings.Contains(lerr.Error(), "--domain") {
				t.Errorf("--domain %q: %v does not name the flag", c.domain, lerr)
			}
		})
	}
}

func TestTheDomainFlagSaysWhyAnIPAddressIsRefused(t *testing.T) {
	_, err := load(t, []string{"--domain", "10.0.0.1"}, nil)
	for _, want := range []string{"--domain", "10.0.0.1", "numeric label", "DNS name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--domain 10.0.0.1: %v, want a message mentioning %q", err, want)
		}
	}
}
