package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func load(t *testing.T, args []string, vars map[string]string) (Node, error) {
	t.Helper()
	c := Default()
	c.Domain = "node1.example.mesh"
	c.DataDir = t.TempDir()
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := c.Load(fs, args, env(vars))
	return c, err
}

func TestFlagBeatsEnvironmentWhichBeatsDefault(t *testing.T) {
	c, err := load(t, []string{"--listen", "127.0.0.1:7100"}, map[string]string{
		"QPC_LISTEN":    "127.0.0.1:7200",
		"QPC_LOG_LEVEL": "debug",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:7100" {
		t.Errorf("listen = %q, want the flag's 127.0.0.1:7100", c.Listen)
	}
	if c.LogLevel != "debug" {
		t.Errorf("log level = %q, want the environment's debug", c.LogLevel)
	}
	if c.LogFormat != "text" {
		t.Errorf("log format = %q, want the default text", c.LogFormat)
	}
}

func TestEveryFlagHasAnEnvironmentTwin(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	c.BindFlags(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(f.Usage, EnvName(f.Name)) {
			t.Errorf("usage of --%s does not name %s: %q", f.Name, EnvName(f.Name), f.Usage)
		}
	})
	if got := EnvName("tls-cert"); got != "QPC_TLS_CERT" {
		t.Errorf("EnvName(tls-cert) = %q", got)
	}
}

func TestBadValuesNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	unreadable := filepath.Join(dir, "missing.crt")
	key := filepath.Join(dir, "node.key")
	if err := os.WriteFile(key, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		flag     string
		fromEnv  string
		sentinel error
		mention  string
	}{
		{name: "a port above 65535 is refused", args: []string{"--listen", "[::]:99999"}, flag: "listen", mention: "99999"},
		{name: "a listen address without a port is refused", args: []string{"--listen", "localhost"}, flag: "listen", mention: "host:port"},
		{name: "a non-numeric port is refused", args: []string{"--listen", ":http"}, flag: "listen", mention: "http"},
		{name: "an unreadable certificate is refused", args: []string{"--tls-cert", unreadable, "--tls-key", key}, flag: "tls-cert", mention: unreadable},
		{name: "a certificate without a key is refused", args: []string{"--tls-cert", key}, flag: "tls-key", mention: "--tls-cert is set"},
		{name: "an unknown log level is refused", args: []string{"--log-level", "chatty"}, flag: "log-level", mention: "chatty"},
		{name: "an unknown log format is refused", args: []string{"--log-format", "xml"}, flag: "log-format", mention: "xml"},
		{name: "a domain with a space is refused", args: []string{"--domain", "my node"}, flag: "domain", mention: "my node"},
		{name: "an empty data dir is refused", args: []string{"--data-dir", ""}, flag: "data-dir"},
		{name: "production without a certificate is refused", args: []string{"--production"}, flag: "production", sentinel: ErrSelfSignedInProduction},
		{name: "a bad value from the environment names the variable", env: map[string]string{"QPC_LISTEN": "[::]:99999"}, flag: "listen", fromEnv: "QPC_LISTEN"},
		{name: "a federation certificate without its key and CA is refused", args: []string{"--federation-cert", key}, flag: "federation-key", mention: "go together"},
		{name: "an unreadable federation CA is refused", args: []string{"--federation-cert", key, "--federation-key", key, "--federation-ca", unreadable}, flag: "federation-ca", mention: unreadable},
		{name: "a peer without federation is refused", args: []string{"--peer", "node2.example.mesh:7000"}, flag: "peer", sentinel: ErrNoFederation},
		{name: "a deny-list entry without federation is refused", args: []string{"--federation-deny", strings.Repeat("ab", 32)}, flag: "federation-deny", sentinel: ErrNoFederation},
		{name: "a peer without a port is refused", args: []string{"--federation-cert", key, "--federation-key", key, "--federation-ca", key, "--peer", "node2.example.mesh"}, flag: "peer", mention: "host:port"},
		{name: "a peer with port 0 is refused", args: []string{"--federation-cert", key, "--federation-key", key, "--federation-ca", key, "--peer", "node2:0"}, flag: "peer", mention: "1-65535"},
		{name: "a deny-list entry that is not a SHA-256 is refused", args: []string{"--federation-cert", key, "--federation-key", key, "--federation-ca", key, "--federation-deny", "abc"}, flag: "federation-deny", mention: "64 hex"},
		{name: "a zero federation rate is refused", args: []string{"--federation-rate", "0"}, flag: "federation-rate", mention: "positive"},
		{name: "an unparsable boolean from the environment names the variable", env: map[string]string{"QPC_PRODUCTION": "maybe"}, flag: "production", fromEnv: "QPC_PRODUCTION"},
		{name: "more connections per source than in all is refused", args: []string{"--max-connections", "32"}, flag: "max-connections-per-source", mention: "64 exceeds --max-connections 32"},
		{name: "a bigger unauthenticated pool than all connections is refused", args: []string{"--max-connections", "128", "--max-unauthenticated", "200"}, flag: "max-unauthenticated", mention: "200 exceeds --max-connections 128"},
		{name: "no connections per source is refused", args: []string{"--max-connections-per-source", "0"}, flag: "max-connections-per-source", mention: "positive"},
		{name: "a zero login timeout is refused", env: map[string]string{"QPC_LOGIN_TIMEOUT": "0s"}, flag: "login-timeout", fromEnv: "QPC_LOGIN_TIMEOUT", mention: "positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			var fe *FlagError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FlagError", err)
			}
			if fe.Flag != tt.flag || fe.Env != tt.fromEnv {
				t.Errorf("error names --%s (env %q), want --%s (env %q): %v", fe.Flag, fe.Env, tt.flag, tt.fromEnv, err)
			}
			if !strings.Contains(err.Error(), "--"+tt.flag) {
				t.Errorf("message %q does not name --%s", err, tt.flag)
			}
			if tt.fromEnv != "" && !strings.Contains(err.Error(), tt.fromEnv) {
				t.Errorf("message %q does not name %s", err, tt.fromEnv)
			}
			if tt.mention != "" && !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("message %q does not mention %q", err, tt.mention)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("err = %v, want %v", err, tt.sentinel)
			}
		})
	}
}

func TestGoodValuesAreAccepted(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "[::]:7000"},
		{"--listen", "127.0.0.1:0"},
		{"--listen", ":7000"},
		{"--listen", "localhost:65535"},
		{"--domain", "node-1.ffm.freifunk.net"},
		{"--log-level", "WARN", "--log-format", "json"},
		// The 128 MB router setting of docs/node.md.
		{"--max-connections", "64", "--max-connections-per-source", "8", "--max-unauthenticated", "16", "--login-timeout", "5s"},
	} {
		if _, err := load(t, args, nil); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestFederationOptionsAreNormalised(t *testing.T) {
	key := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(key, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fp := strings.Repeat("AB:", 31) + "AB"
	c, err := load(t, []string{"--federation-cert", key, "--federation-key", key, "--federation-ca", key,
		"--peer", "n2.example.mesh:7000", "--federation-deny", fp},
		map[string]string{"QPC_PEER": "ignored:1"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Federation() {
		t.Error("Federation() = false with all three files set")
	}
	if len(c.Peers) != 1 || c.Peers[0] != "n2.example.mesh:7000" {
		t.Errorf("peers = %q, want only the flag's", c.Peers)
	}
	if want := strings.Repeat("ab", 32); len(c.FederationDeny) != 1 || c.FederationDeny[0] != want {
		t.Errorf("deny = %q, want [%s]", c.FederationDeny, want)
	}
	c, err = load(t, nil, map[string]string{"QPC_FEDERATION_CERT": key, "QPC_FEDERATION_KEY": key,
		"QPC_FEDERATION_CA": key, "QPC_PEER": "a:1, [fd00::2]:7000"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Peers) != 2 || c.Peers[1] != "[fd00::2]:7000" {
		t.Errorf("peers from QPC_PEER = %q", c.Peers)
	}
}

func TestDataDirDefaultsToEtcOnOpenWrt(t *testing.T) {
	release := filepath.Join(t.TempDir(), "openwrt_release")
	old := openWrtRelease
	t.Cleanup(func() { openWrtRelease = old })

	openWrtRelease = release
	t.Setenv("XDG_DATA_HOME", "/xdg")
	if got := DefaultDataDir(); got != "/xdg/qpc-node" {
		t.Errorf("elsewhere: %q, want /xdg/qpc-node", got)
	}
	if err := os.WriteFile(release, []byte("DISTRIB_ID='OpenWrt'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := DefaultDataDir(); got != "/etc/qpc" {
		t.Errorf("on OpenWrt: %q, want /etc/qpc", got)
	}
}
