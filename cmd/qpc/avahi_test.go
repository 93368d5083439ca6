package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// avahi is an avahi-daemon inside a test namespace, with a private D-Bus
// system bus for avahi-browse to reach it.
type avahi struct {
	ns     string
	bus    string // DBUS_SYSTEM_BUS_ADDRESS
	daemon *logProc
}

// startAvahi runs dbus-daemon and avahi-daemon (as root, without chroot)
// in ns, limited to eth0. `ip netns exec` gives each its own mount
// namespace, so a tmpfs on /run keeps avahi's pid file and socket apart
// from any other avahi on the machine. publish holds more lines for the
// [publish] section of its configuration.
func startAvahi(t *testing.T, tn *testNet, ns, hostName string, publish ...string) *avahi {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "system_bus")
	dbusConf := fmt.Sprintf(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`, sock)
	avahiConf := fmt.Sprintf(`[server]
host-name=%s
use-ipv4=yes
use-ipv6=yes
allow-interfaces=eth0
enable-dbus=yes
ratelimit-interval-usec=0
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
%s
`, hostName, strings.Join(publish, "\n"))
	for name, content := range map[string]string{"dbus.conf": dbusConf, "avahi-daemon.conf": avahiConf} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := &avahi{ns: ns, bus: "unix:path=" + sock}
	startLogProc(t, tn.command(ns, "dbus-daemon", "--config-file="+filepath.Join(dir, "dbus.conf"), "--nofork", "--nopidfile"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dbus-daemon did not open its socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.daemon = startLogProc(t, tn.command(ns, "env", "DBUS_SYSTEM_BUS_ADDRESS="+a.bus, "sh", "-c",
		`mount -t tmpfs qpc-test-run /run && mkdir /run/avahi-daemon && exec avahi-daemon -f "$0" --no-drop-root --no-chroot --no-rlimits`,
		filepath.Join(dir, "avahi-daemon.conf")))
	if !a.daemon.waitText(15*time.Second, "Server startup complete") {
		t.Fatalf("avahi-daemon did not start:\n%s", a.daemon.Logs())
	}
	return a
}

// publish has avahi publish a _quicprochat._udp service, the way a
// service on a Linux host would, until the test ends.
func (a *avahi) publish(t *testing.T, tn *testNet, instance string, port int, txt ...string) {
	t.Helper()
	args := append([]string{"env", "DBUS_SYSTEM_BUS_ADDRESS=" + a.bus, "avahi-publish", "-s", instance, "_quicprochat._udp", fmt.Sprint(port)}, txt...)
	p := startLogProc(t, tn.command(a.ns, args...))
	if !p.waitText(10*time.Second, "Established") {
		t.Fatalf("avahi-publish did not publish %s:\n%s\navahi:\n%s", instance, p.Logs(), a.daemon.Logs())
	}
}

// browse runs `avahi-browse -rpt _quicprochat._udp` in the daemon's
// namespace until a resolved line ("=;…") for domain shows, and returns
// it.
func (a *avahi) browse(t *testing.T, tn *testNet, domain string, within time.Duration) (string, bool) {
	t.Helper()
	instance := strings.ReplaceAll(domain, ".", `\.`) // avahi escapes dots in instance labels
	deadline := time.Now().Add(within)
	var out []byte
	for time.Now().Before(deadline) {
		cmd := tn.command(a.ns, "env", "DBUS_SYSTEM_BUS_ADDRESS="+a.bus, "avahi-browse", "-rpt", "_quicprochat._udp")
		out, _ = cmd.CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Split(line, ";")
			if len(f) >= 10 && f[0] == "=" && f[3] == instance && f[4] == "_quicprochat._udp" {
				return line, true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("last avahi-browse output:\n%s", out)
	return "", false
}

func TestMeshDiscoveryInteroperatesWithAvahi(t *testing.T) {
	t.Parallel()
	requireRoot(t, "avahi-daemon", "avahi-browse", "dbus-daemon")
	tn := newTestNet(t, 3)
	// Host 1 runs avahi-daemon first, so it already holds UDP 5353 when
	// the node starts beside it; host 2 runs avahi only to browse; host 3
	// runs qpc mesh peers.
	local := startAvahi(t, tn, tn.hosts[0], "qpc-test-avahi1")
	remote := startAvahi(t, tn, tn.hosts[1], "qpc-test-avahi2")
	n := startMeshNode(t, tn, tn.hosts[0], "node1.example.mesh", 7001)
	if strings.Contains(n.Logs(), "unavailable") {
		t.Errorf("the node could not share port 5353 with avahi:\n%s", n.Logs())
	}

	wantTXT := []string{`"ver=1"`, `"id=` + n.id + `"`, `"domain=node1.example.mesh"`, `"port=7001"`, `"fp=` + n.fp + `"`}
	for _, c := range []struct {
		name string
		a    *avahi
		addr string
	}{
		{"avahi on another host", remote, "192.0.2.1"},
		{"avahi on the node's own host", local, ""},
	} {
		line, ok := c.a.browse(t, tn, n.domain, 10*time.Second)
		if !ok {
			t.Errorf("%s: avahi-browse did not resolve the node; node logs:\n%s\navahi:\n%s", c.name, n.Logs(), c.a.daemon.Logs())
			continue
		}
		t.Logf("%s: %s", c.name, line)
		f := strings.Split(line, ";")
		if f[6] != "qpc-"+n.id[:12]+".local" || f[8] != "7001" || (c.addr != "" && f[7] != c.addr) {
			t.Errorf("%s: resolved host %s, address %s, port %s", c.name, f[6], f[7], f[8])
		}
		for _, kv := range wantTXT {
			if !strings.Contains(f[9], kv) {
				t.Errorf("%s: TXT %s lacks %s", c.name, f[9], kv)
			}
		}
	}

	// With avahi beside it, the node still answers qpc's own browse.
	peers := meshPeers(t, tn, tn.hosts[2], time.Second)
	if p, ok := findPeer(peers, n.id); !ok || p.Fingerprint != n.fp || p.Port != 7001 {
		t.Errorf("qpc mesh peers beside avahi: %+v", peers)
	}
}
