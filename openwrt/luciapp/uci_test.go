package luciapp

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// errUCISyntax means a line of a UCI file is not config, option or list.
var errUCISyntax = errors.New("not UCI syntax")

// uciSection is one section as ubus uci get answers it: its options, with
// .name and .type, and lists as []string.
type uciSection map[string]any

// parseUCI reads a UCI file (config TYPE 'NAME', option KEY 'VALUE', list
// KEY 'VALUE'; comments and blank lines) into its sections by name, for
// the ubus endpoint's `uci get`.
func parseUCI(text string) (map[string]uciSection, error) {
	out := map[string]uciSection{}
	var cur uciSection
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kw, rest, _ := strings.Cut(line, " ")
		words, err := uciWords(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		switch {
		case kw == "config" && (len(words) == 1 || len(words) == 2):
			name := fmt.Sprintf("cfg%02d", len(out))
			if len(words) == 2 {
				name = words[1]
			}
			cur = uciSection{".name": name, ".type": words[0]}
			out[name] = cur
		case (kw == "option" || kw == "list") && len(words) == 2 && cur != nil:
			if kw == "option" {
				cur[words[0]] = words[1]
			} else {
				l, _ := cur[words[0]].([]string)
				cur[words[0]] = append(l, words[1])
			}
		default:
			return nil, fmt.Errorf("line %d: %q: %w", n+1, line, errUCISyntax)
		}
	}
	return out, nil
}

// uciWords splits s into words, each bare or in single or double quotes.
func uciWords(s string) ([]string, error) {
	var out []string
	for s != "" {
		var w string
		switch q := s[0]; q {
		case '\'', '"':
			end := strings.IndexByte(s[1:], q)
			if end < 0 {
				return nil, fmt.Errorf("unclosed quote: %w", errUCISyntax)
			}
			w, s = s[1:end+1], s[end+2:]
		default:
			i := strings.IndexAny(s, " \t")
			if i < 0 {
				i = len(s)
			}
			w, s = s[:i], s[i:]
		}
		out = append(out, w)
		s = strings.TrimLeft(s, " \t")
	}
	return out, nil
}

func TestParseUCIReadsTheShippedConfig(t *testing.T) {
	cfg, err := parseUCI(shippedUCI(t))
	if err != nil {
		t.Fatal(err)
	}
	node := cfg["node"]
	if node[".type"] != "node" || node["listen"] != "[::]:7000" {
		t.Errorf("section node = %v; want type node and listen [::]:7000", node)
	}
	if l, _ := node["mdns_iface"].([]string); len(l) != 1 || l[0] != "br-lan" {
		t.Errorf("list mdns_iface = %v, want [br-lan]", node["mdns_iface"])
	}
}

func TestParseUCIRefusesWhatIsNotUCI(t *testing.T) {
	for _, text := range []string{
		"option x 'y'",                // an option outside a section
		"config node 'node'\nfoo bar", // an unknown keyword
		"config node 'node\n",         // an unclosed quote
		"config node 'node'\noption x",
	} {
		if _, err := parseUCI(text); !errors.Is(err, errUCISyntax) {
			t.Errorf("parseUCI(%q) = %v, want errUCISyntax", text, err)
		}
	}
}

func FuzzParseUCI(f *testing.F) {
	f.Add("config node 'node'\n\toption listen '[::]:7000'\n\tlist peer \"a:1\"\n")
	f.Add("config x\noption a b c\n")
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := parseUCI(text)
		if err != nil && !errors.Is(err, errUCISyntax) {
			t.Fatalf("an error that is not errUCISyntax: %v", err)
		}
		for name, s := range cfg {
			if s[".name"] != name {
				t.Fatalf("section %q is named %v", name, s[".name"])
			}
		}
	})
}
