package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestANodeAtItsAccountCapRefusesRegistrationWithAClearMessage runs a real
// `qpc node` with the cap set through its environment twin, and `qpc
// register` processes against it.
func TestANodeAtItsAccountCapRefusesRegistrationWithAClearMessage(t *testing.T) {
	t.Parallel()
	p := startNodeProcEnv(t, []string{"QPC_MAX_ACCOUNTS=1"}, t.TempDir(), "127.0.0.1:0", qpcBin)
	dir := t.TempDir()
	register := func(user string) (string, error) {
		pw := filepath.Join(dir, user+".pw")
		if err := os.WriteFile(pw, []byte("password of "+user+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(qpcBin, "register", "--password-file", pw, "--state-dir", filepath.Join(dir, user),
			"--server", p.addr, "--pin", p.fp, "--username", user)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	if out, err := register("alice"); err != nil {
		t.Fatalf("the first account: %v\n%s", err, out)
	}
	out, err := register("bob")
	if err == nil {
		t.Fatalf("a second account on a node with --max-accounts 1 was made:\n%s", out)
	}
	t.Logf("qpc register bob: %v: %s", err, strings.TrimSpace(out))
	if !strings.Contains(out, "account limit") {
		t.Errorf("qpc register says %q; want it to name the account limit", out)
	}
	if !strings.Contains(p.logs.String(), "account limit reached") {
		t.Errorf("the node did not log the refusal:\n%s", p.logs)
	}
}
