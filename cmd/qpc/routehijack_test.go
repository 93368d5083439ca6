package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// startNSNode runs a `qpc node` process inside a namespace, with static
// peers only (no mDNS, so that the test decides who links to whom), and
// returns it with its certificate's fingerprint.
func startNSNode(t *testing.T, tn *testNet, ns, domain string, extra ...string) (*logProc, string) {
	t.Helper()
	args := append([]string{qpcBin, "node", "--listen", "[::]:7000", "--domain", domain,
		"--data-dir", t.TempDir(), "--log-format", "json"}, extra...)
	p := startLogProc(t, tn.command(ns, args...))
	rec, ok := p.waitLog(30*time.Second, func(r map[string]any) bool { return r["msg"] == "node serving" })
	if !ok {
		t.Fatalf("node %s did not start; logs:\n%s", domain, p.Logs())
	}
	return p, rec["fingerprint"].(string)
}

// flagValue returns the value after name in flags.
func flagValue(flags []string, name string) string {
	for i := 0; i+1 < len(flags); i++ {
		if flags[i] == name {
			return flags[i+1]
		}
	}
	return ""
}

// TestAMemberNodeCannotHijackADomainWithARouteAdvert replays the audit's
// attack in four network namespaces: a.mesh - r.mesh - d.mesh in a chain
// of real `qpc node` processes, and evil.mesh, a node with a genuine
// certificate of the community CA, linked to a.mesh only. evil.mesh
// advertises d.mesh at one hop without d's link statement, every 200 ms;
// had a.mesh believed it, evil.mesh would tie with r.mesh at two hops and
// win the tie on its name, answer the lookup of carol@d.mesh with keys of
// its own, and receive the message. The advert must be dropped, the route
// stay with r.mesh, and alice's message reach carol through r.mesh.
func TestAMemberNodeCannotHijackADomainWithARouteAdvert(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	const a, r, d, evil = "a.mesh", "r.mesh", "d.mesh", "evil.mesh"
	flags := federationFlags(t, a, r, d, evil)
	tn := newTestNet(t, 4)
	addr := func(i int) string { return fmt.Sprintf("192.0.2.%d:7000", i) }

	na, fpA := startNSNode(t, tn, tn.hosts[0], a, flags[a]...)
	nr, _ := startNSNode(t, tn, tn.hosts[1], r, append(flags[r], "--peer", addr(1))...)
	_, fpD := startNSNode(t, tn, tn.hosts[2], d, append(flags[d], "--peer", addr(2))...)
	for _, l := range []struct {
		p    *logProc
		peer string
	}{{na, r}, {nr, d}} {
		if _, ok := linkEvent(t, l.p, 0, 30*time.Second, "federation link up", l.peer); !ok {
			t.Fatalf("no link to %s; logs:\n%s", l.peer, l.p.Logs())
		}
	}

	// The evil node: this test binary in the fourth namespace.
	cfg, _ := json.Marshal(evilConfig{
		Domain: evil, Listen: "[::]:7000",
		Cert: flagValue(flags[evil], "--federation-cert"), Key: flagValue(flags[evil], "--federation-key"),
		CA:   flagValue(flags[evil], "--federation-ca"),
		Peer: addr(1), PeerDomain: a, Target: d,
		Until: time.Now().Add(4 * time.Minute),
	})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := tn.command(tn.hosts[3], self, "-test.run=^$")
	cmd.Env = append(os.Environ(), evilNodeEnv+"="+string(cfg))
	ne := startLogProc(t, cmd)
	if _, ok := linkEvent(t, na, 0, 30*time.Second, "federation link up", evil); !ok {
		t.Fatalf("evil.mesh did not link to a.mesh; evil's logs:\n%s", ne.Logs())
	}
	// The lie reached a.mesh and a.mesh refused it.
	if _, ok := ne.waitLog(30*time.Second, func(r map[string]any) bool { return r["msg"] == "evil advert sent" }); !ok {
		t.Fatalf("evil.mesh sent no advert; logs:\n%s", ne.Logs())
	}
	if _, ok := na.waitLog(30*time.Second, func(rec map[string]any) bool {
		return strings.HasPrefix(fmt.Sprint(rec["msg"]), "dropped a route advert") && rec["peer"] == evil && rec["domain"] == d
	}); !ok {
		t.Fatalf("a.mesh did not drop evil's advert of %s; logs:\n%s", d, na.Logs())
	}

	// a.mesh's route to d.mesh goes through r.mesh, and stays there while
	// evil.mesh keeps lying: 15 looks, 200 ms apart, each after at least
	// one more lie.
	routeVia := func() (string, uint8, bool) {
		out, err := tn.command(tn.hosts[0], qpcBin, "mesh", "route", "--server", addr(1), "--pin", fpA, "--json").Output()
		if err != nil {
			t.Fatalf("qpc mesh route: %v", err)
		}
		var routes []meshRouteJSON
		if err := json.Unmarshal(out, &routes); err != nil {
			t.Fatalf("qpc mesh route printed %q: %v", out, err)
		}
		for _, rt := range routes {
			if rt.Domain == d {
				return rt.Via, rt.Hops, true
			}
		}
		return "", 0, false
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if via, _, ok := routeVia(); ok && via == r {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a.mesh has no route to %s via %s; logs:\n%s", d, r, na.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := range 15 {
		via, hops, ok := routeVia()
		if !ok || via != r || hops != 2 {
			t.Fatalf("look %d: a.mesh routes %s via %q at %d hops (found: %v), want via %s at 2", i, d, via, hops, ok, r)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// alice@a.mesh writes to carol@d.mesh: the lookup goes through
	// r.mesh, the answer is d's, and the message goes the same way.
	inNS := func(ns string) func(args ...string) *exec.Cmd {
		return func(args ...string) *exec.Cmd { return tn.command(ns, args...) }
	}
	alice := newCLIUser(t, "alice", inNS(tn.hosts[0]))
	carol := newCLIUser(t, "carol", inNS(tn.hosts[2]))
	alice.mustRun("register", "--server", addr(1), "--pin", fpA, "--username", "alice")
	carol.mustRun("register", "--server", addr(3), "--pin", fpD, "--username", "carol")
	const secret = "secret for carol"
	res := alice.mustRun("send", "--to", "carol@"+d, "--json", secret)
	var sent sendJSON
	if err := json.Unmarshal([]byte(strings.TrimSpace(res.stdout)), &sent); err != nil {
		t.Fatalf("qpc send --json printed %q: %v", res.stdout, err)
	}
	var got []recvJSON
	for deadline := time.Now().Add(60 * time.Second); len(got) == 0; {
		got = carol.recv()
		if len(got) == 0 && time.Now().After(deadline) {
			t.Fatalf("carol got nothing; a.mesh:\n%s\nr.mesh:\n%s", na.Logs(), nr.Logs())
		}
		if len(got) == 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	expectOne(t, got, "alice@"+a, secret)
	if sent.MeshID == "" {
		t.Fatalf("qpc send: %+v, want a message queued in the mesh (a.mesh has no link to d.mesh)", sent)
	}
	// qpc mesh track says where it went: delivered at d.mesh.
	for deadline := time.Now().Add(30 * time.Second); ; {
		out, err := tn.command(tn.hosts[0], qpcBin, "mesh", "track", sent.MeshID, "--json",
			"--password-file", alice.pwFile, "--state-dir", alice.state).Output()
		var st meshStatusJSON
		if err != nil || json.Unmarshal(out, &st) != nil {
			t.Fatalf("qpc mesh track: %v, printed %q", err, out)
		}
		if st.At == evil {
			t.Fatalf("qpc mesh track: %+v, the message passed evil.mesh", st)
		}
		if st.State == "delivered" && st.At == d {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("qpc mesh track: %+v, want delivered at %s", st, d)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// evil.mesh was never asked for keys and never handed the message.
	for _, msg := range []string{"evil forged key answer handed over", "evil got an envelope"} {
		if _, ok := ne.waitLog(0, func(rec map[string]any) bool { return rec["msg"] == msg }); ok {
			t.Errorf("evil.mesh logged %q; logs:\n%s", msg, ne.Logs())
		}
	}
	if strings.Contains(ne.Logs(), secret) {
		t.Error("evil.mesh's log holds the secret")
	}
	rec, _ := ne.waitLog(0, func(rec map[string]any) bool { return rec["msg"] == "evil advert sent" && rec["sent"] != 1.0 })
	t.Logf("evil.mesh's lies, last count logged: %v", rec["sent"])
}

// TestQpcSendRefusesKeysARelaySwappedAndExitsNonZero puts evil.mesh, a
// member node with a real link to d.mesh, between a.mesh and d.mesh on
// loopback: its routes are honest, so a.mesh sends lookups for d.mesh's
// users through it, but it swaps carol's keys for its own and keeps the
// answer d.mesh signed. `qpc send` must fail, non-zero, with an error that
// names carol@d.mesh, d.mesh and evil.mesh, and nothing may be sent.
func TestQpcSendRefusesKeysARelaySwappedAndExitsNonZero(t *testing.T) {
	t.Parallel()
	const a, d, evil = "a.mesh", "d.mesh", "evil.mesh"
	flags := federationFlags(t, a, d, evil)
	na := startFedNode(t, a, t.TempDir(), "127.0.0.1:0", flags[a]...)
	nd := startFedNode(t, d, t.TempDir(), "127.0.0.1:0", flags[d]...)

	cfg, _ := json.Marshal(evilConfig{
		Domain: evil, Listen: "127.0.0.1:0",
		Cert: flagValue(flags[evil], "--federation-cert"), Key: flagValue(flags[evil], "--federation-key"),
		CA:   flagValue(flags[evil], "--federation-ca"),
		Peer: na.addr, PeerDomain: a, Target: d, RelayTo: nd.addr,
		Until: time.Now().Add(3 * time.Minute),
	})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), evilNodeEnv+"="+string(cfg))
	ne := startLogProc(t, cmd)
	for _, n := range []*fedNode{na, nd} {
		if _, ok := linkEvent(t, n.logProc, 0, 30*time.Second, "federation link up", evil); !ok {
			t.Fatalf("evil.mesh did not link to %s; evil's logs:\n%s", n.domain, ne.Logs())
		}
	}
	// a.mesh takes evil's honest 1-hop advert of d.mesh.
	for deadline := time.Now().Add(30 * time.Second); ; {
		code, out, _ := runQPC("mesh", "route", "--server", na.addr, "--pin", na.fp, "--json")
		var routes []meshRouteJSON
		if code == exitOK && json.Unmarshal([]byte(out), &routes) == nil &&
			slices.ContainsFunc(routes, func(r meshRouteJSON) bool { return r.Domain == d && r.Via == evil && r.Hops == 2 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a.mesh has no route to %s via %s: %s\na.mesh:\n%s", d, evil, out, na.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}

	plain := func(args ...string) *exec.Cmd { return exec.Command(args[0], args[1:]...) }
	alice, carol := newCLIUser(t, "alice", plain), newCLIUser(t, "carol", plain)
	alice.mustRun("register", "--server", na.addr, "--pin", na.fp, "--username", "alice")
	carol.mustRun("register", "--server", nd.addr, "--pin", nd.fp, "--username", "carol")

	const secret = "secret for carol"
	res := alice.run(cliTimeout, "send", "--to", "carol@"+d, secret)
	if res.code == exitOK || res.timedOut {
		t.Fatalf("qpc send with keys swapped on the way: %s", res)
	}
	for _, s := range []string{"key answer not signed", "carol@" + d, d, evil} {
		if !strings.Contains(res.stderr, s) {
			t.Errorf("qpc send's error does not say %q: %s", s, res.stderr)
		}
	}
	if strings.Contains(res.stdout, "sent") || strings.Contains(res.stdout, "queued") {
		t.Errorf("qpc send printed %q", res.stdout)
	}
	t.Logf("qpc send: exit %d: %s", res.code, strings.TrimSpace(res.stderr))
	if _, ok := ne.waitLog(0, func(r map[string]any) bool { return r["msg"] == "evil forged key answer handed over" }); !ok {
		t.Fatalf("evil.mesh forged nothing: the attack did not happen; logs:\n%s", ne.Logs())
	}
	if got := carol.recv(); len(got) != 0 {
		t.Errorf("carol received %+v", got)
	}
	expectNoPlaintext(t, na, secret)
}
