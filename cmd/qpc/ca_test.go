package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/ca"
)

func runCAArgs(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runCA(args, &out, &errb)
	return code, out.String(), errb.String()
}

// mustRunCA runs qpc ca and fails the test unless it succeeds.
func mustRunCA(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCAArgs(args...)
	if code != exitOK {
		t.Fatalf("qpc ca %s = %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestCAInitIssueShow(t *testing.T) {
	tmp := t.TempDir()
	caDir := filepath.Join(tmp, "ca")
	out := mustRunCA(t, "init", "--dir", caDir, "--name", "Freifunk Testdorf")
	a, err := ca.Load(caDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{a.Fingerprint(), filepath.Join(caDir, "ca.key"), filepath.Join(caDir, "ca.crt"), "offline", "Freifunk Testdorf"} {
		if !strings.Contains(out, want) {
			t.Errorf("qpc ca init output lacks %q:\n%s", want, out)
		}
	}

	prefix := filepath.Join(tmp, "federation")
	out = mustRunCA(t, "issue", "--dir", caDir, "--domain", "node1.example.mesh", "--days", "30", "--out", prefix)
	crt, err := os.ReadFile(prefix + ".crt")
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(crt, key); err != nil {
		t.Errorf("the issued files are not a pair: %v", err)
	}
	block, _ := pem.Decode(crt)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: a.Pool(), DNSName: "node1.example.mesh", KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("usage %d: %v", usage, err)
		}
	}
	if days := leaf.NotAfter.Sub(leaf.NotBefore) / (24 * time.Hour); days != 30 {
		t.Errorf("valid for %d days, want 30", days)
	}
	fp := fingerprintOf(block.Bytes)
	for _, want := range []string{
		fp, "node1.example.mesh",
		"--federation-cert " + prefix + ".crt", "--federation-key " + prefix + ".key",
		"--federation-ca " + filepath.Join(caDir, "ca.crt"),
		"uci set qpc.node.federation_cert=", "uci set qpc.node.federation_key=", "uci set qpc.node.federation_ca=",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("qpc ca issue output lacks %q:\n%s", want, out)
		}
	}

	out = mustRunCA(t, "show", prefix+".crt")
	for _, want := range []string{"node1.example.mesh", fp, "CN=Freifunk Testdorf", "CA           no"} {
		if !strings.Contains(out, want) {
			t.Errorf("qpc ca show output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "EXPIRED") || strings.Contains(out, "not yet valid") {
		t.Errorf("a fresh certificate is shown as invalid:\n%s", out)
	}
	out = mustRunCA(t, "show", filepath.Join(caDir, "ca.crt"))
	if !strings.Contains(out, a.Fingerprint()) || !strings.Contains(out, "CA           yes") || !strings.Contains(out, "(none)") {
		t.Errorf("qpc ca show of the CA:\n%s", out)
	}
}

func fingerprintOf(der []byte) string {
	infos, _ := ca.Describe(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return infos[0].Fingerprint
}

func TestCAShowJSONListsEveryCertificateAndFlagsExpiredOnes(t *testing.T) {
	a, err := ca.New("", 365*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	old, _, err := a.Issue(ca.IssueOptions{Domain: "old.mesh", NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	future, _, err := a.Issue(ca.IssueOptions{Domain: "future.mesh", NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "chain.pem")
	if err := os.WriteFile(file, bytes.Join([][]byte{old, future, a.CertPEM}, nil), 0o644); err != nil {
		t.Fatal(err)
	}

	out := mustRunCA(t, "show", "--json", file)
	var got []caCertJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got) != 3 {
		t.Fatalf("%d certificates, want 3:\n%s", len(got), out)
	}
	if !got[0].Expired || got[0].NotYetValid || got[0].DNSNames[0] != "old.mesh" {
		t.Errorf("the expired certificate: %+v", got[0])
	}
	if got[1].Expired || !got[1].NotYetValid || got[1].DNSNames[0] != "future.mesh" {
		t.Errorf("the future certificate: %+v", got[1])
	}
	if !got[2].IsCA || got[2].Fingerprint != a.Fingerprint() || got[2].DNSNames == nil || got[2].Issuer != "CN="+ca.DefaultName {
		t.Errorf("the CA: %+v", got[2])
	}
	if !strings.Contains(out, `"dns_names": []`) {
		t.Errorf("the CA's DNS names are not an empty list:\n%s", out)
	}

	// The flag may follow the file too, and the text form says what is wrong.
	if again := mustRunCA(t, "show", file, "--json"); again != out {
		t.Errorf("show FILE --json differs from show --json FILE")
	}
	text := mustRunCA(t, "show", file)
	if strings.Count(text, "EXPIRED") != 1 || strings.Count(text, "not yet valid") != 1 || !strings.Contains(text, "certificate 3 of 3") {
		t.Errorf("text output:\n%s", text)
	}
}

func TestCACommandLineMistakesExitWithUsageCode(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "ca")
	mustRunCA(t, "init", "--dir", caDir)
	out := filepath.Join(t.TempDir(), "n")
	tests := []struct {
		name    string
		args    []string
		mention string
	}{
		{"ca without a subcommand", nil, "usage: qpc ca"},
		{"an unknown ca subcommand", []string{"revoke"}, `unknown command "revoke"`},
		{"init without --dir", []string{"init"}, "--dir is required"},
		{"init with a name of control characters", []string{"init", "--dir", t.TempDir(), "--name", "a\x07b"}, "--name"},
		{"init with a stray argument", []string{"init", "--dir", caDir, "extra"}, `unexpected argument "extra"`},
		{"issue without --dir", []string{"issue", "--domain", "n.mesh", "--out", out}, "--dir is required"},
		{"issue without --domain", []string{"issue", "--dir", caDir, "--out", out}, "--domain is required"},
		{"issue without --out", []string{"issue", "--dir", caDir, "--domain", "n.mesh"}, "--out is required"},
		{"issue for zero days", []string{"issue", "--dir", caDir, "--domain", "n.mesh", "--out", out, "--days", "0"}, "--days"},
		{"issue for more than ten years", []string{"issue", "--dir", caDir, "--domain", "n.mesh", "--out", out, "--days", "3651"}, "--days"},
		{"issue for days that are not a number", []string{"issue", "--dir", caDir, "--domain", "n.mesh", "--out", out, "--days", "many"}, "-days"},
		{"issue for an uppercase domain", []string{"issue", "--dir", caDir, "--domain", "Node1.mesh", "--out", out}, "--domain"},
		{"issue for an IP address", []string{"issue", "--dir", caDir, "--domain", "10.0.0.1", "--out", out}, "--domain"},
		{"issue to a file name instead of a prefix", []string{"issue", "--dir", caDir, "--domain", "n.mesh", "--out", out + ".crt"}, "give " + out + " to write"},
		{"show without a file", []string{"show", "--json"}, "FILE"},
		{"show with two files", []string{"show", "a.pem", "b.pem"}, `unexpected argument "b.pem"`},
		{"show with an unknown flag", []string{"show", "--yaml", "a.pem"}, "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCAArgs(tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.mention) {
				t.Errorf("exit %d, stderr %q; want %d and a mention of %q", code, stderr, exitUsage, tt.mention)
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("mistakes left files behind: %v", entries)
	}
}

func TestCARuntimeFailuresExitWithFailureCode(t *testing.T) {
	tmp := t.TempDir()
	caDir := filepath.Join(tmp, "ca")
	mustRunCA(t, "init", "--dir", caDir)
	notPEM := filepath.Join(tmp, "notes.txt")
	if err := os.WriteFile(notPEM, []byte("no certificate here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A CA with ten days left cannot issue the default 825.
	short := filepath.Join(tmp, "short")
	a, err := ca.New("short", 10*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(short, 0o700); err != nil {
		t.Fatal(err)
	}
	writeTestCA(t, short, a)
	out := filepath.Join(tmp, "node1")
	mustRunCA(t, "issue", "--dir", caDir, "--domain", "node1.mesh", "--out", out)
	tests := []struct {
		name    string
		args    []string
		mention string
	}{
		{"init where a CA exists", []string{"init", "--dir", caDir}, "qpc ca show " + filepath.Join(caDir, "ca.crt")},
		{"issue from a directory without a CA", []string{"issue", "--dir", filepath.Join(tmp, "none"), "--domain", "n.mesh", "--out", filepath.Join(tmp, "x")}, "qpc ca init --dir"},
		{"issue over existing files", []string{"issue", "--dir", caDir, "--domain", "node1.mesh", "--out", out}, out + ".key"},
		{"issue beyond the CA's life", []string{"issue", "--dir", short, "--domain", "n.mesh", "--out", filepath.Join(tmp, "y")}, "--days 10 or less"},
		{"show a missing file", []string{"show", filepath.Join(tmp, "missing.pem")}, "missing.pem"},
		{"show a file without certificates", []string{"show", notPEM}, "no certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCAArgs(tt.args...)
			if code != exitFailure || !strings.Contains(stderr, tt.mention) {
				t.Errorf("exit %d, stderr %q; want %d and a mention of %q", code, stderr, exitFailure, tt.mention)
			}
			if stdout != "" || strings.Count(stderr, "\n") != 1 {
				t.Errorf("want one line on stderr and nothing on stdout; got %q and %q", stdout, stderr)
			}
		})
	}
}

// writeTestCA writes a CA made in memory to dir, as Init would.
func writeTestCA(t *testing.T, dir string, a *ca.Authority) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(a.Signer())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), a.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCAHelpTellsTheSubcommands(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "help"} {
		code, out, _ := runCAArgs(arg)
		if code != exitOK || !strings.Contains(out, "qpc ca init --dir DIR") || !strings.Contains(out, "qpc ca issue --dir DIR --domain DOMAIN --out PREFIX") {
			t.Errorf("qpc ca %s = %d %q", arg, code, out)
		}
	}
	for sub, flags := range map[string][]string{
		"init":  {"-dir", "-name"},
		"issue": {"-dir", "-domain", "-out", "-days"},
		"show":  {"-json", "FILE"},
	} {
		code, _, errOut := runCAArgs(sub, "--help")
		if code != exitOK || !strings.Contains(errOut, "usage: qpc ca "+sub) {
			t.Errorf("qpc ca %s --help = %d %q", sub, code, errOut)
		}
		for _, f := range flags {
			if !strings.Contains(errOut, f) {
				t.Errorf("qpc ca %s --help does not mention %s:\n%s", sub, f, errOut)
			}
		}
	}
}
