package ca_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCryptoImportsOnlyCrypto holds DESIGN §2 for every crypto package,
// from here because crypto/ca was the one that reached out (for file
// writing, now in datadir): crypto/* imports nothing of the project but
// other crypto/* packages. What writes files or renders text belongs to
// the callers.
func TestCryptoImportsOnlyCrypto(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skipf("go tool not found: %v", err)
	}
	// "../..." is crypto/... seen from crypto/ca.
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", "../...").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const module = "github.com/quicprochat/qpc/"
	deps := strings.Fields(string(out))
	crypto := 0
	for _, d := range deps {
		switch {
		case strings.HasPrefix(d, module+"crypto/"):
			crypto++
		case strings.HasPrefix(d, module):
			t.Errorf("a crypto package depends on %s", d)
		}
	}
	// Guards against a pattern that matched nothing.
	if crypto < 5 {
		t.Fatalf("go list found %d crypto packages in %q", crypto, deps)
	}
}
