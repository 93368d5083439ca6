package main

// Issue 22's accounts on many devices, against a real `qpc node` and real
// `qpc` processes: link, approve, every message on every device, a third
// device with the contacts, remove, recover, reset, and a forged device
// list written into the node's store.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/identity"
	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/store"
)

// devices runs qpc as the devices of the accounts of one test: each
// device is a state directory under dir, each account a password file.
type devices struct {
	t   *testing.T
	p   *nodeProc
	dir string
}

func newDevices(t *testing.T, p *nodeProc, users ...string) *devices {
	d := &devices{t: t, p: p, dir: t.TempDir()}
	for _, u := range users {
		if err := os.WriteFile(filepath.Join(d.dir, u+".pw"), []byte("password of "+u+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// cmd is qpc args[0] of user on the device whose state is dir/device.
func (d *devices) cmd(user, device string, args ...string) *exec.Cmd {
	head := 1
	if args[0] == "device" || args[0] == "account" {
		head = 2 // qpc device link --flags
	}
	full := append(append([]string{}, args[:head]...), "--password-file", filepath.Join(d.dir, user+".pw"), "--state-dir", filepath.Join(d.dir, device),
		"--server", d.p.addr, "--pin", d.p.fp, "--username", user)
	full = append(full, args[head:]...)
	return exec.Command(qpcBin, full...)
}

// run runs qpc and returns stdout, stderr and its error.
func (d *devices) run(user, device string, args ...string) (string, string, error) {
	d.t.Helper()
	c := d.cmd(user, device, args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	return out.String(), errb.String(), err
}

// must is run that fails the test when qpc fails.
func (d *devices) must(user, device string, args ...string) string {
	d.t.Helper()
	out, errOut, err := d.run(user, device, args...)
	if err != nil {
		d.t.Fatalf("%s on %s: qpc %s: %v\n%s%s", user, device, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// recv returns the messages device reads, one recv --json.
func (d *devices) recv(user, device string) []recvJSON {
	d.t.Helper()
	var got []recvJSON
	for line := range strings.Lines(d.must(user, device, "recv", "--json")) {
		var m recvJSON
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			d.t.Fatalf("%s on %s: recv --json printed %q", user, device, line)
		}
		got = append(got, m)
	}
	return got
}

var linkCodeLine = regexp.MustCompile(`(?m)^link code  ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})$`)

// link runs qpc device link as user on device, approves it on approver
// (first with wrongCode when it is not empty, which must fail) and returns
// what the link printed.
func (d *devices) link(user, device, name, approver, wrongCode string) string {
	d.t.Helper()
	c := d.cmd(user, device, "device", "link", "--name", name, "--no-qr", "--wait", "2m")
	out := &lockedLog{}
	var errb lockedLog
	c.Stdout, c.Stderr = out, &errb
	if err := c.Start(); err != nil {
		d.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	d.t.Cleanup(func() {
		c.Process.Signal(syscall.SIGKILL)
		<-done
		done <- nil
	})
	deadline := time.Now().Add(time.Minute)
	var code string
	for code == "" {
		if m := linkCodeLine.FindStringSubmatch(out.String()); m != nil {
			code = m[1]
			break
		}
		select {
		case err := <-done:
			done <- err // for the cleanup
			d.t.Fatalf("qpc device link ended before it showed a code: %v\n%s%s", err, out, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("qpc device link showed no code:\n%s%s", out, errb.String())
		}
	}
	if wrongCode != "" {
		o, e, err := d.run(user, approver, "device", "approve", wrongCode)
		if err == nil || !strings.Contains(e, "no pending link request matches this code") || strings.Contains(o, "added") {
			d.t.Fatalf("approve with a wrong code: %v\n%s%s", err, o, e)
		}
	}
	start := time.Now()
	if o := d.must(user, approver, "device", "approve", code); !strings.Contains(o, `added the device "`+name+`"`) {
		d.t.Fatalf("approve printed %q", o)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			d.t.Fatalf("qpc device link: %v\n%s%s", err, out, errb.String())
		}
		// The approver's login (Argon2id) and the new device's poll,
		// once a second, make most of it.
		d.t.Logf("%s linked %s after %s from the approval's start", name, user, time.Since(start).Round(time.Millisecond))
		// It names the whole address, and uploads its KeyPackages (the
		// chat database it read the sync bundle with is closed first).
		if !regexp.MustCompile(`On a device of `+user+`@[a-z0-9]`).MatchString(out.String()) || strings.Contains(errb.String(), "not uploaded") {
			d.t.Fatalf("qpc device link printed\n%s%s", out, errb.String())
		}
	case <-time.After(time.Minute):
		d.t.Fatalf("qpc device link did not end after the approval:\n%s%s", out, errb.String())
	}
	return out.String()
}

func TestAnAccountOnThreeDevicesLinkedRemovedRecoveredAndReset(t *testing.T) {
	t.Parallel()
	p := startNodeProc(t, qpcBin)
	d := newDevices(t, p, "alice", "bob")
	reg := d.must("alice", "laptop", "register", "--name", "laptop")
	m := regexp.MustCompile(`(?m)^recovery code  (\S+)$`).FindStringSubmatch(reg)
	if m == nil || !strings.Contains(reg, "keep it safe") {
		t.Fatalf("register printed no recovery code with its warning:\n%s", reg)
	}
	code := m[1]
	if _, err := identity.ParseRecoveryCode(code); err != nil {
		t.Fatalf("the printed recovery code %q: %v", code, err)
	}
	d.must("bob", "bob", "register")
	d.must("alice", "laptop", "send", "--to", "bob", "hello bob")
	d.recv("bob", "bob")
	d.must("alice", "laptop", "verify", "bob", "--confirm")

	// A second device: a wrong code fails typed, the right one links it.
	out := d.link("alice", "desk", "desk", "laptop", "AAAA-BBBB-CCCC")
	if !strings.Contains(out, `approved: this machine is the device "desk"`) || !strings.Contains(out, "1 contact and 0 channels added") {
		t.Fatalf("qpc device link printed:\n%s", out)
	}

	// Every send in either direction appears on all three.
	if _, e, err := d.run("bob", "bob", "send", "--to", "alice", "to every device"); err != nil ||
		!strings.Contains(e, "qpc send: alice@"+domain1+" added a device 'desk' on ") {
		t.Fatalf("bob's send: %v %q; want it sent, with the notice of alice's desk", err, e)
	}
	for _, dev := range []string{"laptop", "desk"} {
		if got := d.recv("alice", dev); len(got) != 1 || got[0].Text != "to every device" || !got[0].Verified {
			t.Fatalf("alice's %s read %+v", dev, got)
		}
	}
	d.must("alice", "laptop", "send", "--to", "bob", "from the laptop")
	d.must("alice", "desk", "send", "--to", "bob", "from the desk")
	got := d.recv("bob", "bob")
	if len(got) != 2 || got[0].Text != "from the laptop" || got[1].Text != "from the desk" || !got[1].Verified {
		t.Fatalf("bob read %+v", got)
	}
	// Told at bob's send, the notice is not told again.
	if n := append(got[0].DeviceNotices, got[1].DeviceNotices...); len(n) != 0 {
		t.Errorf("bob's device notices %q; want none (his send told him)", n)
	}
	for dev, want := range map[string]string{"laptop": "from the desk", "desk": "from the laptop"} {
		if got := d.recv("alice", dev); len(got) != 1 || got[0].SentTo != "bob@"+domain1 || got[0].Text != want {
			t.Errorf("alice's %s read %+v; want the sent copy %q to bob", dev, got, want)
		}
	}
	plain := d.must("alice", "desk", "recv")
	if plain != "" {
		t.Errorf("a second recv on the desk printed %q", plain)
	}
	d.must("alice", "laptop", "send", "--to", "bob", "shown as outgoing")
	if out := d.must("alice", "desk", "recv"); !strings.Contains(out, "→ bob@"+domain1+": shown as outgoing") {
		t.Errorf("the desk's recv printed %q; want the sent copy as an outgoing line", out)
	}
	d.recv("bob", "bob")

	// A third device gets the contacts, bob verified among them.
	d.link("alice", "lab", "lab", "laptop", "")
	if out := d.must("alice", "lab", "verify", "bob", "--json"); !strings.Contains(out, `"verified":true`) {
		t.Errorf("bob on the third device: %s; want verified", out)
	}
	var list struct {
		Devices []deviceJSON `json:"devices"`
	}
	if err := json.Unmarshal([]byte(d.must("alice", "laptop", "device", "list", "--json")), &list); err != nil || len(list.Devices) != 3 ||
		!list.Devices[0].ThisDevice || !list.Devices[0].HoldsAccountKey || list.Devices[2].Name != "lab" {
		t.Fatalf("device list: %+v, %v", list, err)
	}

	// Removing the desk: it reads nothing more.
	if _, e, err := d.run("alice", "laptop", "device", "remove", "laptop"); err == nil || !strings.Contains(e, "it is this device") {
		t.Errorf("removing this device without --force: %v %q", err, e)
	}
	d.must("alice", "laptop", "device", "remove", "desk")
	if _, e, err := d.run("bob", "bob", "send", "--to", "alice", "after the removal"); err != nil ||
		!strings.Contains(e, "added a device 'lab'") || !strings.Contains(e, "removed the device 'desk'") {
		t.Errorf("bob's send after the removal: %v %q; want the notices of lab and desk", err, e)
	}
	if _, e, err := d.run("alice", "desk", "recv"); err == nil || !strings.Contains(e, "was removed from alice@"+domain1) {
		t.Errorf("recv on the removed desk: %v %q; want it refused", err, e)
	}
	for _, dev := range []string{"laptop", "lab"} {
		if got := d.recv("alice", dev); len(got) != 1 || got[0].Text != "after the removal" {
			t.Errorf("alice's %s read %+v", dev, got)
		}
	}
	if got := d.recv("bob", "bob"); len(got) != 0 {
		t.Errorf("bob read %+v", got)
	}

	// Recovery with the code on a fresh state dir keeps the account key.
	codeFile := filepath.Join(d.dir, "code")
	os.WriteFile(codeFile, []byte("not a code"), 0o600)
	if _, e, err := d.run("alice", "fresh", "account", "recover", "--code-file", codeFile); err == nil || !strings.Contains(e, "bad recovery code") {
		t.Errorf("recover with a bad code: %v %q", err, e)
	}
	os.WriteFile(codeFile, []byte(code), 0o600)
	if out := d.must("alice", "fresh", "account", "recover", "--code-file", codeFile, "--name", "fresh"); !strings.Contains(out, "holds the account key") {
		t.Errorf("recover printed %q", out)
	}
	d.must("alice", "fresh", "send", "--to", "bob", "recovered")
	want := []string{"added a device 'fresh'"}
	if got := d.recv("bob", "bob"); len(got) != 1 || got[0].KeyChanged || len(got[0].DeviceNotices) != len(want) {
		t.Errorf("bob read %+v; want the message with the new device's notice, no key change", got)
	} else {
		for i, w := range want {
			if !strings.Contains(got[0].DeviceNotices[i], w) {
				t.Errorf("notice %d %q; want %q", i, got[0].DeviceNotices[i], w)
			}
		}
	}

	// A reset without the code: a new account key, a key change for bob,
	// and the old devices stop.
	out = d.must("alice", "reset", "account", "recover", "--reset", "--name", "reset")
	if m := regexp.MustCompile(`(?m)^recovery code  (\S+)$`).FindStringSubmatch(out); m == nil || m[1] == code || !strings.Contains(out, "KEY CHANGE") {
		t.Fatalf("reset printed %q", out)
	}
	d.must("alice", "reset", "send", "--to", "bob", "after the reset")
	if got := d.recv("bob", "bob"); len(got) != 1 || !got[0].KeyChanged || got[0].Text != "after the reset" {
		t.Errorf("bob read %+v; want alice's key change", got)
	}
	if _, e, err := d.run("alice", "laptop", "recv"); err == nil || !strings.Contains(e, "was removed") {
		t.Errorf("recv on the laptop after the reset: %v %q", err, e)
	}
}

func TestAForgedDeviceListInTheNodesStoreIsRefusedByEveryClient(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	p := startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	d := newDevices(t, p, "alice", "bob")
	d.must("alice", "laptop", "register", "--name", "laptop")
	d.must("bob", "bob", "register")
	d.must("bob", "bob", "send", "--to", "alice", "before")
	d.recv("alice", "laptop")

	// The node is stopped, and its store gets a list with a device of the
	// forger's, under alice's account key but not signed by it.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p.done <- nil
	st, err := store.Open(filepath.Join(dataDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := st.Keys("alice")
	if err != nil {
		t.Fatal(err)
	}
	real, err := identity.VerifyDeviceList(k.DeviceList, "alice@"+domain1)
	if err != nil {
		t.Fatal(err)
	}
	forger, _ := identity.GenerateAccountKey()
	evil, _ := identity.GenerateUserKeys()
	forged := &identity.DeviceList{Address: real.Address, Seq: real.Seq}
	for _, dev := range real.Current() {
		if _, err := forged.AddKeys(forger, dev.Name, dev.IdentityKey, dev.HPKEKey, dev.Added); err != nil {
			t.Fatal(err)
		}
	}
	evilDev, err := forged.Add(forger, "evil", evil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	signed, err := forged.Sign(forger)
	if err != nil {
		t.Fatal(err)
	}
	// alice's account key in place of the forger's: what a node that
	// wants to slip in a device has to hand out.
	at := 2 + len(real.Address)
	copy(signed[at:at+32], real.AccountKey)
	k.DeviceList = signed
	primary, _ := real.Primary()
	if err := st.PutKeys("alice", k, node.Devices{Primary: primary.ID.String(), Current: []string{primary.ID.String(), evilDev.ID.String()}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	p = startNodeProcIn(t, dataDir, "127.0.0.1:0", qpcBin)
	d.p = p

	out, e, err := d.run("bob", "bob", "send", "--to", "alice", "to the forged list")
	// The list was put in behind the key transparency log's back, which
	// refuses it before its signature is even read (issue 23).
	if err == nil || !strings.Contains(e, "keys of alice@"+domain1) || !strings.Contains(e, "REFUSED") || out != "" {
		t.Errorf("bob's send to the forged list: %v, stdout %q, stderr %q; want it refused", err, out, e)
	}
	if _, e, err := d.run("alice", "laptop", "recv"); err == nil || !strings.Contains(e, "keys of alice@"+domain1) || !strings.Contains(e, "REFUSED") {
		t.Errorf("alice's recv under the forged list: %v %q; want it refused", err, e)
	}

	// Nothing reached the forged device's queue.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p.done <- nil
	st, err = store.Open(filepath.Join(dataDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	msgs, err := st.Fetch("alice#"+evilDev.ID.String(), 0, 10)
	if err != nil || len(msgs) != 0 {
		t.Errorf("the forged device's queue: %d messages, %v; want none", len(msgs), err)
	}
}
