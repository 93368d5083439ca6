package mls

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hexBytes decodes a hex string from a test-vector JSON file.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil {
		*h = nil
		return nil
	}
	v, err := hex.DecodeString(*s)
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// inCI reports whether missing vectors must fail rather than skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// vectorPath finds ../shared/testdata/mls/name relative to the module root.
func vectorPath(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test directory")
		}
		dir = parent
	}
	return filepath.Join(dir, "..", "shared", "testdata", "mls", name)
}

// loadVectors decodes the vector file into v. Outside CI a missing file
// skips the test; under CI=true it fails.
func loadVectors(t testing.TB, name string, v any) {
	t.Helper()
	p := vectorPath(t, name)
	data, err := os.ReadFile(p)
	if err != nil {
		if inCI() {
			t.Fatalf("test vectors %s missing: %v", p, err)
		}
		t.Skipf("test vectors %s not found (%v); skipping", p, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

// reportCases prints how many cases of a vector file were checked. Zero
// checked cases is a failure under CI=true.
func reportCases(t testing.TB, name string, n int) {
	t.Helper()
	t.Logf("%s: %d cases checked", name, n)
	fmt.Printf("mls vectors %s: %d cases checked\n", name, n)
	if n == 0 && inCI() {
		t.Fatalf("%s: no cases checked", name)
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMissingVectorsFailInCI runs a test that loads a file that does not
// exist in a child process, with and without CI=true, and checks that it
// fails in CI and skips elsewhere.
func TestMissingVectorsFailInCI(t *testing.T) {
	if os.Getenv("MLS_MISSING_VECTOR_CHILD") == "1" {
		var v any
		loadVectors(t, "no-such-file.json", &v)
		reportCases(t, "no-such-file.json", 0)
		return
	}
	for _, tc := range []struct {
		ci       string
		wantFail bool
		wantText string
	}{
		{"true", true, "missing"},
		{"", false, "SKIP"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingVectorsFailInCI$", "-test.v")
		cmd.Env = append(os.Environ(), "MLS_MISSING_VECTOR_CHILD=1", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail || !strings.Contains(string(out), tc.wantText) {
			t.Errorf("CI=%q: failed=%v, output:\n%s", tc.ci, err != nil, out)
		}
	}
}
