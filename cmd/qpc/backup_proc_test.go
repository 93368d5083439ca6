package main

// Issue 30's backup and transcript archive, against a real `qpc node` and
// real `qpc` processes: a backup restored on a new machine (a fresh state
// directory) logs in, reads and sends; a wrong passphrase, an existing
// state, a removed device and a cut file are refused; an exported
// conversation verifies, and one with a record changed names the record.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client/archive"
	"github.com/quicprochat/qpc/crypto/sealedfile"
)

// backupPassphrase is strong enough for checkNewPassword.
const backupPassphrase = "walnut orbit lantern seventeen gravel"

// sub runs qpc CMD SUB as user on device, with the account's flags
// after the subcommand (qpc backup create --password-file … FILE).
func (d *devices) sub(user, device string, args ...string) (string, string, error) {
	d.t.Helper()
	full := append(append([]string{}, args[:2]...), "--password-file", filepath.Join(d.dir, user+".pw"),
		"--state-dir", filepath.Join(d.dir, device), "--server", d.p.addr, "--pin", d.p.fp, "--username", user)
	full = append(full, args[2:]...)
	c := exec.Command(qpcBin, full...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	return out.String(), errb.String(), err
}

// verify runs qpc export verify, which needs no account.
func (d *devices) verify(args ...string) (string, string, error) {
	d.t.Helper()
	c := exec.Command(qpcBin, append([]string{"export", "verify"}, args...)...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	return out.String(), errb.String(), err
}

// file writes content to a file of the test's directory and returns its
// path.
func (d *devices) file(name, content string) string {
	d.t.Helper()
	p := filepath.Join(d.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		d.t.Fatal(err)
	}
	return p
}

// accountFiles lists the files of user's state on device.
func (d *devices) accountFiles(user, device string) []string {
	got, _ := filepath.Glob(filepath.Join(d.dir, device, user+"@*"))
	return got
}

func TestABackupRestoredOnANewMachineReadsSendsAndExportsItsHistory(t *testing.T) {
	t.Parallel()
	start := time.Now()
	p := startNodeProc(t, qpcBin)
	d := newDevices(t, p, "alice", "bob")
	d.must("alice", "laptop", "register", "--name", "laptop")
	d.must("bob", "bob", "register")
	d.must("alice", "laptop", "send", "--to", "bob", "before the backup")
	d.must("bob", "bob", "send", "--to", "alice", "hello alice")
	if got := d.recv("alice", "laptop"); len(got) != 1 || got[0].Text != "hello alice" {
		t.Fatalf("alice read %+v", got)
	}
	pf := d.file("backup.pass", backupPassphrase+"\n")
	wrong := d.file("wrong.pass", "walnut orbit lantern seventeen gravels\n")
	file := filepath.Join(d.dir, "alice.qpcbackup")

	out, e, err := d.sub("alice", "laptop", "backup", "create", file, "--passphrase-file", pf, "--json")
	var made backupCreateJSON
	if err != nil || json.Unmarshal([]byte(out), &made) != nil {
		t.Fatalf("backup create: %v\n%s%s", err, out, e)
	}
	if made.Address != "alice@"+domain1 || made.Device != "laptop" || made.Secret != "passphrase" || made.Files < 3 || made.Bytes == 0 || made.File != file {
		t.Errorf("backup create --json: %+v", made)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 || st.Size() != made.Size {
		t.Errorf("backup file: %v, %v; want mode 0600 and %d bytes", st.Mode(), err, made.Size)
	}
	if _, e, err := d.sub("alice", "laptop", "backup", "create", file, "--passphrase-file", pf); err == nil || !strings.Contains(e, "--force") {
		t.Errorf("backup create over an existing file: %v %q", err, e)
	}

	// The two halves share the node and the backup, and run at once.
	t.Run("restored on a new machine it reads and sends", func(t *testing.T) {
		t.Parallel()
		d := d.on(t)
		// A wrong passphrase restores nothing.
		if _, e, err := d.sub("alice", "new", "backup", "restore", file, "--passphrase-file", wrong); err == nil || !strings.Contains(e, "wrong passphrase") {
			t.Errorf("restore with a wrong passphrase: %v %q", err, e)
		}
		if f := d.accountFiles("alice", "new"); len(f) != 0 {
			t.Errorf("a refused restore left %v", f)
		}
		out, e, err := d.sub("alice", "new", "backup", "restore", file, "--passphrase-file", pf, "--json")
		var restored backupRestoreJSON
		if err != nil || json.Unmarshal([]byte(out), &restored) != nil {
			t.Fatalf("backup restore: %v\n%s%s", err, out, e)
		}
		if restored.Restored != "alice@"+domain1 || restored.Device != "laptop" || !restored.HoldsAccountKey || restored.Files != made.Files {
			t.Errorf("backup restore --json: %+v", restored)
		}
		for _, f := range d.accountFiles("alice", "new") {
			if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
				t.Errorf("%s restored with mode %v", f, st.Mode())
			}
		}
		if _, e, err := d.sub("alice", "new", "backup", "restore", file, "--passphrase-file", pf); err == nil || !strings.Contains(e, "already holds state") {
			t.Errorf("restore over the state without --force: %v %q", err, e)
		}

		d.must("alice", "new", "send", "--to", "bob", "from the restored machine")
		if got := d.recv("bob", "bob"); len(got) != 2 || got[1].Text != "from the restored machine" || !got[1].Verified {
			t.Fatalf("bob read %+v", got)
		}
		d.must("bob", "bob", "send", "--to", "alice", "to the restored machine")
		if got := d.recv("alice", "new"); len(got) != 1 || got[0].Text != "to the restored machine" || !got[0].Verified {
			t.Fatalf("alice on the new machine read %+v", got)
		}
		// The history came along: one conversation with bob holds the
		// lines of before the backup and those since.
		arch := filepath.Join(d.dir, "new.qpcarchive")
		out, e, err = d.run("alice", "new", "export", "--conversation", "bob", "--passphrase-file", pf, "--json", arch)
		var exported exportJSON
		if err != nil || json.Unmarshal([]byte(out), &exported) != nil || exported.Records < 4 {
			t.Fatalf("export on the new machine: %v %+v\n%s%s", err, exported, out, e)
		}
	})

	t.Run("a state the login does not open is refused", func(t *testing.T) {
		t.Parallel()
		// At another node, the alice of that node logs in with another
		// export key, which does not open the backup's state: refused,
		// and nothing of it stays (a password change does the same).
		other := startNodeProc(t, qpcBin)
		o := newDevices(t, other, "alice")
		o.must("alice", "elsewhere", "register")
		_, e, err := o.sub("alice", "elsewhere-new", "backup", "restore", file, "--passphrase-file", pf)
		if err == nil || !strings.Contains(e, "does not open with this login") {
			t.Errorf("restore at a node whose alice is another account: %v %q", err, e)
		}
		if f := o.accountFiles("alice", "elsewhere-new"); len(f) != 0 {
			t.Errorf("the refused restore left %v", f)
		}
	})

	t.Run("an exported conversation verifies and a changed record is named", func(t *testing.T) {
		t.Parallel()
		d := d.on(t)
		arch := filepath.Join(d.dir, "dm.qpcarchive")
		out, e, err := d.run("alice", "laptop", "export", "--conversation", "bob", "--passphrase-file", pf, "--json", arch)
		var exported exportJSON
		if err != nil || json.Unmarshal([]byte(out), &exported) != nil || exported.Records < 2 || exported.SignedBy != "account key" {
			t.Fatalf("export: %v %+v\n%s%s", err, exported, out, e)
		}
		out, e, err = d.verify(arch, "--passphrase-file", pf, "--json", "--show")
		var verified exportJSON
		if err != nil || json.Unmarshal([]byte(out), &verified) != nil || !verified.OK || verified.Root != exported.Root || verified.Records != exported.Records {
			t.Fatalf("export verify: %v %+v\n%s%s", err, verified, out, e)
		}
		// Pinned to the account's key: the right one passes, another fails.
		if out, e, err := d.verify(arch, "--passphrase-file", pf, "--account-key", strings.ToUpper(exported.AccountKeyFingerprint)); err != nil || !strings.HasPrefix(out, "VALID") {
			t.Errorf("verify --account-key with the exporter's key: %v\n%s%s", err, out, e)
		}
		if _, e, err := d.verify(arch, "--passphrase-file", pf, "--account-key", strings.Repeat("0000 ", 8)); err == nil || !strings.Contains(e, "NOT the expected account") {
			t.Errorf("verify --account-key with another key: %v %q", err, e)
		}
		var texts []string
		for _, l := range verified.Lines {
			texts = append(texts, l.Text)
		}
		for _, want := range []string{"before the backup", "hello alice"} {
			if !slices.Contains(texts, want) {
				t.Errorf("the verified transcript lacks %q: %q", want, texts)
			}
		}

		// A record changed by someone who has the passphrase: verify names it.
		content, err := archive.Read(bytes.NewReader(mustRead(t, arch)), func(sealedfile.SecretKind) ([]byte, error) { return []byte(backupPassphrase), nil })
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.LastIndex(content, []byte("hello alice"))
		content[i] = 'j' // "jello alice"
		var forged bytes.Buffer
		if err := archive.Write(&forged, content, sealedfile.Options{Secret: sealedfile.Passphrase, Key: []byte(backupPassphrase),
			KDF: sealedfile.KDF{Time: 1, Memory: 8, Threads: 1}}); err != nil {
			t.Fatal(err)
		}
		forgedFile := d.file("forged.qpcarchive", forged.String())
		out, e, err = d.verify(forgedFile, "--passphrase-file", pf, "--json")
		var refused struct {
			OK     bool   `json:"ok"`
			Error  string `json:"error"`
			Record uint32 `json:"record"`
		}
		if err == nil || json.Unmarshal([]byte(out), &refused) != nil || refused.OK || refused.Record == 0 ||
			!regexp.MustCompile(`NOT VALID: record \d+ is altered`).MatchString(e) {
			t.Fatalf("verify of a changed record: %v %+v\n%s%s", err, refused, out, e)
		}
		// The line that changed is that record.
		if n := slices.Index(texts, "hello alice"); uint32(n+1) != refused.Record {
			t.Errorf("verify named record %d; the changed line is record %d", refused.Record, n+1)
		}
		// A byte flipped in the file itself is caught by the encryption.
		raw := mustRead(t, arch)
		raw[len(raw)-5] ^= 1
		flipped := d.file("flipped.qpcarchive", string(raw))
		if _, e, err := d.verify(flipped, "--passphrase-file", pf); err == nil || !strings.Contains(e, "chunk 0 is altered") {
			t.Errorf("verify of a flipped byte: %v %q", err, e)
		}
	})
	t.Logf("setup took %s", time.Since(start).Round(time.Millisecond))
}

// on is d for the subtest t.
func (d *devices) on(t *testing.T) *devices {
	c := *d
	c.t = t
	return &c
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestABackupOfADeviceRemovedSinceIsRefusedAndTheRecoveryCodeOpensABackup(t *testing.T) {
	t.Parallel()
	start := time.Now()
	p := startNodeProc(t, qpcBin)
	d := newDevices(t, p, "alice", "bob")
	reg := d.must("alice", "laptop", "register", "--name", "laptop")
	d.must("bob", "bob", "register")
	m := regexp.MustCompile(`(?m)^recovery code  (\S+)$`).FindStringSubmatch(reg)
	if m == nil {
		t.Fatalf("register printed no recovery code:\n%s", reg)
	}
	code := d.file("code", m[1])
	d.link("alice", "desk", "desk", "laptop", "")

	// The desk does not hold the account key: its backup under the
	// recovery code asks for the code, and checks it is the account's.
	deskFile := filepath.Join(d.dir, "desk.qpcbackup")
	out, e, err := d.sub("alice", "desk", "backup", "create", deskFile, "--recovery-code", "--code-file", code, "--json")
	var made backupCreateJSON
	if err != nil || json.Unmarshal([]byte(out), &made) != nil || made.Secret != "recovery code" || made.Device != "desk" {
		t.Fatalf("backup create --recovery-code on the desk: %v %+v\n%s%s", err, made, out, e)
	}
	// The laptop holds the key, so it needs no code typed.
	laptopFile := filepath.Join(d.dir, "laptop.qpcbackup")
	if out, e, err := d.sub("alice", "laptop", "backup", "create", laptopFile, "--recovery-code"); err != nil || !strings.Contains(out, "encrypted under the recovery code") {
		t.Fatalf("backup create --recovery-code on the laptop: %v\n%s%s", err, out, e)
	}

	// The desk exports its conversation with bob: signed by the desk's
	// own key, certified by the account key it does not hold.
	d.must("bob", "bob", "send", "--to", "alice", "a line on the desk")
	if got := d.recv("alice", "desk"); len(got) != 1 {
		t.Fatalf("the desk read %+v", got)
	}
	pf := d.file("pass", backupPassphrase)
	arch := filepath.Join(d.dir, "desk.qpcarchive")
	out, e, err = d.run("alice", "desk", "export", "--conversation", "bob", "--passphrase-file", pf, "--json", arch)
	var exported exportJSON
	if err != nil || json.Unmarshal([]byte(out), &exported) != nil || exported.SignedBy != "device" || exported.Device != "desk" {
		t.Fatalf("export on the desk: %v %+v\n%s%s", err, exported, out, e)
	}
	out, e, err = d.verify(arch, "--passphrase-file", pf, "--show")
	if err != nil || !strings.Contains(out, "VALID") || !strings.Contains(out, `device "desk"`) || !strings.Contains(out, "a line on the desk") {
		t.Errorf("verify of the desk's archive: %v\n%s%s", err, out, e)
	}

	d.must("alice", "laptop", "device", "remove", "desk")
	_, e, err = d.sub("alice", "desk2", "backup", "restore", deskFile, "--code-file", code)
	if err == nil || !strings.Contains(e, `the device in this backup ("desk"`) || !strings.Contains(e, "was removed from alice@"+domain1) {
		t.Fatalf("restore of the removed desk: %v %q", err, e)
	}
	if f := d.accountFiles("alice", "desk2"); len(f) != 0 {
		t.Errorf("the refused restore left %v", f)
	}

	// The laptop's backup opens with the code, and not with another
	// account's code.
	other := d.file("other-code", "00000-00000-00000-00000-00000-00000-00000-00000-00000-00000-00000")
	if _, e, err := d.sub("alice", "laptop2", "backup", "restore", laptopFile, "--code-file", other); err == nil || len(d.accountFiles("alice", "laptop2")) != 0 {
		t.Errorf("restore with another code: %v %q", err, e)
	}
	if out, e, err := d.sub("alice", "laptop2", "backup", "restore", laptopFile, "--code-file", code); err != nil || !strings.Contains(out, `this machine is its device "laptop"`) {
		t.Fatalf("restore with the recovery code: %v\n%s%s", err, out, e)
	}
	d.must("alice", "laptop2", "send", "--to", "alice", "a note to myself")
	t.Logf("took %s", time.Since(start).Round(time.Millisecond))
}
