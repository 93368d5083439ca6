package schemas

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsFresh regenerates every schema with Debian's capnp and
// capnpc-go from the pinned module, as `make schemas` does, and fails when
// the committed Go differs.
func TestGeneratedCodeIsFresh(t *testing.T) {
	capnp, err := exec.LookPath("capnp")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("capnp not found: .ci/run must install Debian's capnproto")
		}
		t.Skip("capnp not found (apt-get install capnproto); skipping the freshness check outside CI")
	}
	tmp := t.TempDir()
	plugin := filepath.Join(tmp, "capnpc-go")
	run(t, "", "go", "build", "-o", plugin, "capnproto.org/go/capnp/v3/capnpc-go")
	std := strings.TrimSpace(run(t, "", "go", "list", "-m", "-f", "{{.Dir}}", "capnproto.org/go/capnp/v3"))

	sources, _ := filepath.Glob("*.capnp")
	if len(sources) == 0 {
		t.Fatal("no schemas found")
	}
	// capnp writes next to the source name under the output dir; run it on
	// copies so the committed files stay untouched.
	for _, src := range sources {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, src), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"compile", "-I", filepath.Join(std, "std"), "-o" + plugin + ":" + tmp, "--src-prefix=" + tmp}, prefixed(tmp, sources)...)
	run(t, "", capnp, args...)
	for _, src := range sources {
		want, err := os.ReadFile(filepath.Join(tmp, src+".go"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(src + ".go")
		if err != nil {
			t.Fatalf("%s.go is not committed: %v", src, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s.go differs from a fresh generation: run make schemas and commit the result", src)
		}
	}
	t.Logf("%d schemas checked", len(sources))
}

func prefixed(dir string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
