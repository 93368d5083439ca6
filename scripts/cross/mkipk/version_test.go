package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestVersionFollowsGitTags runs scripts/cross/version.sh, which mkipk and
// the feed recipe both use, on a repository the test makes.
func TestVersionFollowsGitTags(t *testing.T) {
	gitPath := needTool(t, "git", "git")
	script, err := filepath.Abs("../version.sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(script); err != nil { // also tells go test's cache
		t.Fatal(err)
	}
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command(gitPath, append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "tag.gpgSign=false", "-c", "commit.gpgSign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
	}
	commit := func() { git("commit", "-q", "--allow-empty", "-m", "c") }
	version := func() string {
		t.Helper()
		out, err := exec.Command("sh", script, repo).Output()
		if err != nil {
			t.Fatalf("version.sh: %v", err)
		}
		return string(out)
	}

	for _, step := range []struct {
		name string
		do   func()
		want string
	}{
		{"a directory that is no repository is 0.0.0 release 0", func() {}, "0.0.0 0\n"},
		{"a repository without commits too", func() { git("init", "-q") }, "0.0.0 0\n"},
		{"without a tag the release counts the commits", func() { commit(); commit(); commit() }, "0.0.0 3\n"},
		{"the tagged commit is release 1 of its version", func() { git("tag", "v1.2.0") }, "1.2.0 1\n"},
		{"each commit after the tag adds one", func() { commit(); commit() }, "1.2.0 3\n"},
		{"a pre-release tag is not a version", func() { git("tag", "v1.3.0-rc1"); commit() }, "1.2.0 4\n"},
		{"a tag that is no version is ignored", func() { git("tag", "latest") }, "1.2.0 4\n"},
		{"a newer version tag wins", func() { git("tag", "-a", "-m", "v1.3.0", "v1.3.0") }, "1.3.0 1\n"},
	} {
		step.do()
		if got := version(); got != step.want {
			t.Errorf("%s: version.sh = %q, want %q", step.name, got, step.want)
		}
	}
}
