package opaque_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/crypto/opaque"
)

// TestTheDefaultCostIsCheapOnlyInTheTestBuild guards the test suite's
// shortcut (ksf_testbuild.go): a build without the tag qpc_test_ksf, as
// every release is, must select the full-cost file, and there
// DefaultArgon2id must be qpc's Argon2id.
func TestTheDefaultCostIsCheapOnlyInTheTestBuild(t *testing.T) {
	cmd := exec.Command("go", "list", "-tags", "", "-f", `{{join .GoFiles " "}}`, ".")
	cmd.Env = append(cmd.Environ(), "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	files := strings.Fields(string(out))
	if !slices.Contains(files, "ksf_release.go") || slices.Contains(files, "ksf_testbuild.go") {
		t.Errorf("a build without tags compiles %v: want ksf_release.go and not ksf_testbuild.go", files)
	}
	if !opaque.CheapForTests {
		got := opaque.DefaultArgon2id()
		want := opaque.Argon2id{Time: opaque.DefaultArgon2Time, Memory: opaque.DefaultArgon2Memory, Threads: opaque.DefaultArgon2Threads}
		if got.Time != want.Time || got.Memory != want.Memory || got.Threads != want.Threads {
			t.Errorf("DefaultArgon2id() = %+v, want %+v", got, want)
		}
	}
}
