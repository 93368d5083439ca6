package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/quicprochat/qpc/kt"
	"github.com/quicprochat/qpc/node/store"
	"github.com/quicprochat/qpc/protocol"
)

// adminRun runs `qpc admin ARGS --data-dir dir` and returns its exit code,
// stdout and stderr.
func adminRun(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(qpcBin, append(append([]string{"admin"}, args...), "--data-dir", dir)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String(), errb.String()
	}
	t.Fatal(err)
	return 0, "", ""
}

// adminJSON runs `qpc admin ARGS --json`, checks that it printed exactly
// one JSON object and exited 0, and decodes it into v.
func adminJSON(t *testing.T, dir string, v any, args ...string) {
	t.Helper()
	code, out, errOut := adminRun(t, dir, append(args, "--json")...)
	if code != exitOK {
		t.Fatalf("qpc admin %s --json: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	oneJSONObject(t, out, v)
}

// oneJSONObject checks that out is one JSON object on one line and
// decodes it into v.
func oneJSONObject(t *testing.T, out string, v any) {
	t.Helper()
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "{") {
		t.Fatalf("not one JSON object on one line: %q", out)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
}

// registerWithInvite registers user on p with qpc register --invite, with
// a password file and a state dir of its own under dir.
func registerWithInvite(t *testing.T, p *nodeProc, dir, user, password, invite string) (string, error) {
	t.Helper()
	pw := filepath.Join(dir, user+".pw")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"register", "--server", p.addr, "--pin", p.fp, "--username", user,
		"--password-file", pw, "--state-dir", filepath.Join(dir, user+"-"+password)}
	if invite != "" {
		args = append(args, "--invite", invite)
	}
	out, err := exec.Command(qpcBin, args...).CombinedOutput()
	return string(out), err
}

// TestAdminCommandsAgainstARunningNode runs every qpc admin command
// against one node process that registers by invite, in the order an
// admin would.
func TestAdminCommandsAgainstARunningNode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startNodeProcEnv(t, []string{"QPC_REGISTRATION=invite"}, dir, "127.0.0.1:0", qpcBin)
	users := t.TempDir()

	t.Run("status", func(t *testing.T) {
		var st protocol.AdminStatus
		adminJSON(t, dir, &st, "status")
		if st.Domain != "node1.example.mesh" || st.Registration != "invite" || st.Draining || st.Accounts != 0 ||
			st.Links == nil || st.Nearby == nil || st.Files.Limit == 0 {
			t.Fatalf("status: %+v", st)
		}
		code, out, errOut := adminRun(t, dir, "status")
		if code != exitOK || !strings.Contains(out, "registration  invite") {
			t.Fatalf("status: %d\n%s%s", code, out, errOut)
		}
	})

	var inv protocol.AdminInvite
	t.Run("invite", func(t *testing.T) {
		adminJSON(t, dir, &inv, "invite", "--uses", "2", "--expires", "1d")
		if inv.Code == "" || len(inv.ID) != 8 || inv.Uses != 2 || !strings.HasPrefix(inv.QRSVG, "<svg") {
			t.Fatalf("invite: %+v", inv)
		}
		code, out, errOut := adminRun(t, dir, "invite", "--expires", "2h")
		if code != exitOK || !strings.Contains(out, "█") || !strings.Contains(out, "qpc register NAME --invite ") {
			t.Fatalf("invite on a terminal: %d\n%s%s", code, out, errOut)
		}
		if code, _, errOut := adminRun(t, dir, "invite", "--expires", "400d"); code != exitUsage || !strings.Contains(errOut, "--expires") {
			t.Fatalf("invite --expires 400d: %d %q", code, errOut)
		}
	})

	t.Run("registration by invite", func(t *testing.T) {
		if out, err := registerWithInvite(t, p, users, "dora", "dora's password", ""); err == nil || !strings.Contains(out, "invite code") {
			t.Fatalf("register without an invite: %v\n%s", err, out)
		}
		for _, u := range []string{"alice", "bob"} {
			if out, err := registerWithInvite(t, p, users, u, u+"'s password", inv.Code); err != nil {
				t.Fatalf("register %s --invite: %v\n%s", u, err, out)
			}
		}
		if out, err := registerWithInvite(t, p, users, "carol", "carol's password", inv.Code); err == nil || !strings.Contains(out, "used up") {
			t.Fatalf("a third registration with a two-use code: %v\n%s", err, out)
		}
	})

	t.Run("users", func(t *testing.T) {
		var u protocol.AdminUsers
		adminJSON(t, dir, &u, "users")
		if len(u.Users) != 2 || u.Users[0].Name != "alice" || u.Users[0].Devices != 1 || u.Users[0].LastSeen == 0 {
			t.Fatalf("users: %+v", u)
		}
		if code, out, _ := adminRun(t, dir, "users"); code != exitOK || !strings.Contains(out, "alice") {
			t.Fatalf("users: %d %q", code, out)
		}
	})

	t.Run("invite list and revoke", func(t *testing.T) {
		var l protocol.AdminInvites
		adminJSON(t, dir, &l, "invite", "list")
		if len(l.Invites) != 1 || l.Invites[0].UsesLeft != 1 { // the 2h invite; the used-up one is gone
			t.Fatalf("invite list: %+v", l)
		}
		var r protocol.AdminRevoked
		adminJSON(t, dir, &r, "invite", "revoke", l.Invites[0].ID)
		if r.Revoked != l.Invites[0].ID {
			t.Fatalf("revoke: %+v", r)
		}
		adminJSON(t, dir, &l, "invite", "list")
		if len(l.Invites) != 0 {
			t.Fatalf("invite list after the revoke: %+v", l)
		}
		code, out, errOut := adminRun(t, dir, "invite", "revoke", r.Revoked, "--json")
		var e struct{ Error string }
		if code != exitFailure || json.Unmarshal([]byte(out), &e) != nil || !strings.Contains(e.Error, "no invite") || errOut == "" {
			t.Fatalf("revoking it again: %d %q %q", code, out, errOut)
		}
	})

	t.Run("quota links mesh", func(t *testing.T) {
		var q protocol.AdminQuota
		adminJSON(t, dir, &q, "quota")
		if q.Limits.Accounts != 1000 || q.Limits.MailboxMessages == 0 || q.Limits.FilesBytesPerUser == 0 || len(q.Users) != 2 {
			t.Fatalf("quota: %+v", q)
		}
		var l protocol.AdminLinks
		adminJSON(t, dir, &l, "links")
		if l.Links == nil || len(l.Links) != 0 {
			t.Fatalf("links of a node without federation: %+v", l)
		}
		var m protocol.AdminMesh
		adminJSON(t, dir, &m, "mesh")
		if m.Routes == nil || m.Store.Envelopes != 0 {
			t.Fatalf("mesh: %+v", m)
		}
	})

	t.Run("drain", func(t *testing.T) {
		var d protocol.AdminDrain
		adminJSON(t, dir, &d, "drain")
		var st protocol.AdminStatus
		adminJSON(t, dir, &st, "status")
		if !d.Draining || !st.Draining {
			t.Fatalf("drain: %+v, status draining %v", d, st.Draining)
		}
		// A new connection is refused, a health check's too.
		if code, _, errOut := runQPC("status", "--server", p.addr, "--pin", p.fp); code != exitFailure || !strings.Contains(errOut, "draining") {
			t.Fatalf("qpc status while draining: %d %q", code, errOut)
		}
		adminJSON(t, dir, &d, "drain", "--off")
		if d.Draining {
			t.Fatalf("drain --off: %+v", d)
		}
	})

	t.Run("user reset", func(t *testing.T) {
		var r protocol.AdminReset
		adminJSON(t, dir, &r, "user", "reset", "alice")
		if r.Reset != "alice" || r.Code == "" {
			t.Fatalf("reset: %+v", r)
		}
		// Her old password no longer logs in; on a new machine (state
		// dir) she registers her name again with the reset's code.
		out, err := exec.Command(qpcBin, "recv", "--password-file", filepath.Join(users, "alice.pw"),
			"--state-dir", filepath.Join(users, "alice-alice's password")).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "wrong user name or password") {
			t.Fatalf("alice's old password after the reset: %v\n%s", err, out)
		}
		if out, err := registerWithInvite(t, p, users, "alice", "alice's new password", r.Code); err != nil || !strings.Contains(out, "registered alice@") {
			t.Fatalf("alice registers again with her reset code: %v\n%s", err, out)
		}
	})

	t.Run("user delete", func(t *testing.T) {
		var d protocol.AdminDeleted
		adminJSON(t, dir, &d, "user", "delete", "bob")
		var u protocol.AdminUsers
		adminJSON(t, dir, &u, "users")
		if d.Deleted != "bob" || len(u.Users) != 1 || u.Users[0].Name != "alice" {
			t.Fatalf("delete: %+v, then users %+v", d, u)
		}
		if code, _, errOut := adminRun(t, dir, "user", "delete", "bob"); code != exitFailure || !strings.Contains(errOut, "no such user") {
			t.Fatalf("deleting bob again: %d %q", code, errOut)
		}
	})

	t.Run("log", func(t *testing.T) {
		var l protocol.AdminLog
		adminJSON(t, dir, &l, "log", "--limit", "100")
		var got []string
		for _, e := range l.Entries {
			got = append(got, e.Action)
		}
		want := "user delete, user reset, drain, drain, invite revoke, invite, invite"
		if strings.Join(got, ", ") != want {
			t.Fatalf("log: %q, want %q", strings.Join(got, ", "), want)
		}
		adminJSON(t, dir, &l, "log", "--limit", "1")
		if len(l.Entries) != 1 || l.Entries[0].Target != "bob" {
			t.Fatalf("log --limit 1: %+v", l)
		}
	})

	t.Run("reports", func(t *testing.T) {
		// The report store belongs to issue 30's part: one JSON object
		// either way, its exit code saying which.
		code, out, _ := adminRun(t, dir, "reports", "--json")
		var r struct {
			Reports *[]protocol.AdminReport `json:"reports"`
			Error   *string                 `json:"error"`
		}
		oneJSONObject(t, out, &r)
		if (code == exitOK) != (r.Reports != nil) || (code == exitFailure) != (r.Error != nil) {
			t.Fatalf("reports: exit %d with %q", code, out)
		}
	})

	t.Run("a user without the socket", func(t *testing.T) {
		code, _, errOut := adminRun(t, t.TempDir(), "status")
		if code != exitFailure || !strings.Contains(errOut, "no admin socket") {
			t.Fatalf("admin status with no node on the data dir: %d %q", code, errOut)
		}
	})
	if w := p.warnings(); strings.Contains(w, "ERROR") {
		t.Errorf("node errors:\n%s", w)
	}

	// What the node left behind: the key transparency log records
	// alice's new account key as a reset, which contacts see.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-p.done; err != nil {
		t.Fatalf("node exit: %v", err)
	}
	p.done <- nil // for the cleanup
	st, err := store.Open(filepath.Join(dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	raw, err := st.KTEntries(0, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, b := range raw {
		e, err := kt.ParseEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(e.Address, "alice@") {
			kinds = append(kinds, e.Kind.String())
		}
	}
	if len(kinds) == 0 || kinds[len(kinds)-1] != "reset" {
		t.Fatalf("alice's key transparency entries: %v, want the last a reset", kinds)
	}
}

func TestNoAdminSocketWithAnEmptyFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	startNodeProcEnv(t, []string{"QPC_ADMIN_SOCKET="}, dir, "127.0.0.1:0", qpcBin)
	if _, err := os.Lstat(filepath.Join(dir, "admin.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("admin socket with --admin-socket \"\": %v", err)
	}
	if code, _, errOut := adminRun(t, dir, "status"); code != exitFailure || !strings.Contains(errOut, "no admin socket") {
		t.Fatalf("admin status: %d %q", code, errOut)
	}
}
