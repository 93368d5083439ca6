package main

// mDNS against other responders (issue 32), in network namespaces: avahi,
// and stand-ins for OpenWrt's umdns and bonjour-service (mdnshelper_test.go,
// which says why umdns itself does not run here). Like the other mDNS
// tests they stay serial (no t.Parallel): they bound how soon something is
// heard, which the parallel process tests' load on the CPU would stretch.

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeService is what a stand-in or avahi publishes: a valid qpc
// announcement of a node that does not exist.
type fakeService struct {
	instance, id, domain, fp string
	port                     int
}

func newFakeService(instance, domain string, port int) fakeService {
	var id [16]byte
	var fp [32]byte
	rand.Read(id[:])
	rand.Read(fp[:])
	return fakeService{
		instance: instance, domain: domain, port: port,
		id: strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(id[:]))[:26],
		fp: hex.EncodeToString(fp[:]),
	}
}

func (f fakeService) txt() []string {
	return []string{"ver=1", "id=" + f.id, "domain=" + f.domain, fmt.Sprintf("port=%d", f.port), "fp=" + f.fp}
}

// startMDNSHelper runs the mDNS stand-in in ns and waits until it listens.
func startMDNSHelper(t *testing.T, tn *testNet, ns string, cfg mdnsHelperConfig) *logProc {
	t.Helper()
	cfg.Iface = "eth0"
	b, _ := json.Marshal(cfg)
	cmd := tn.command(ns, os.Args[0])
	cmd.Env = append(os.Environ(), mdnsHelperEnv+"="+string(b))
	p := startLogProc(t, cmd)
	if _, ok := p.waitLog(10*time.Second, func(r map[string]any) bool { return r["event"] == "ready" }); !ok {
		t.Fatalf("the mDNS stand-in did not start:\n%s", p.Logs())
	}
	return p
}

// helperLines returns the stand-in's output lines of event ev.
func helperLines(p *logProc, ev string) []mdnsHelperLine {
	var out []mdnsHelperLine
	for _, line := range strings.Split(p.Logs(), "\n") {
		var l mdnsHelperLine
		if json.Unmarshal([]byte(line), &l) == nil && l.Event == ev {
			out = append(out, l)
		}
	}
	return out
}

// waitPeers runs `qpc mesh peers` in ns in short rounds until every id in
// ids answered, and returns the last round's peers.
func waitPeers(t *testing.T, tn *testNet, ns string, within time.Duration, ids ...string) []meshPeerJSON {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		peers := meshPeers(t, tn, ns, 500*time.Millisecond)
		all := true
		for _, id := range ids {
			if _, ok := findPeer(peers, id); !ok {
				all = false
			}
		}
		if all || time.Now().After(deadline) {
			return peers
		}
	}
}

func TestMeshPeersListsServicesOfAvahiUmdnsAndBonjourAlike(t *testing.T) {
	requireRoot(t, "avahi-daemon", "avahi-publish", "dbus-daemon")
	tn := newTestNet(t, 4)
	viaAvahi := newFakeService("avahi-pub.mesh", "avahi-pub.mesh", 7005)
	viaUmdns := newFakeService("node-u.mesh", "node-u.mesh", 7006)
	viaBonjour := newFakeService("node-b", "node-b.mesh", 7007)
	a := startAvahi(t, tn, tn.hosts[0], "qpc-test-avahi1")
	a.publish(t, tn, viaAvahi.instance, viaAvahi.port, viaAvahi.txt()...)
	umdns := startMDNSHelper(t, tn, tn.hosts[1], mdnsHelperConfig{Mode: "umdns", Instance: viaUmdns.instance, Port: uint16(viaUmdns.port), TXT: viaUmdns.txt()})
	bonjour := startMDNSHelper(t, tn, tn.hosts[2], mdnsHelperConfig{Mode: "bonjour", Instance: viaBonjour.instance, Port: uint16(viaBonjour.port), TXT: viaBonjour.txt()})

	// Twice: umdns answers a multicast question once a minute, but one
	// that asks for a unicast answer every time.
	for round := 1; round <= 2; round++ {
		peers := meshPeers(t, tn, tn.hosts[3], 1500*time.Millisecond)
		for _, c := range []struct {
			responder string
			svc       fakeService
			addr      string
		}{
			{"avahi", viaAvahi, "192.0.2.1"},
			{"the umdns stand-in", viaUmdns, "192.0.2.2"},
			{"the bonjour-service stand-in", viaBonjour, "192.0.2.3"},
		} {
			p, ok := findPeer(peers, c.svc.id)
			if !ok {
				t.Errorf("round %d: qpc mesh peers does not list the service %s publishes; it lists %+v\navahi:\n%s\numdns:\n%s\nbonjour:\n%s",
					round, c.responder, peers, a.daemon.Logs(), umdns.Logs(), bonjour.Logs())
				continue
			}
			want := fmt.Sprintf("%s:%d", c.addr, c.svc.port)
			if p.Instance != c.svc.instance || p.Domain != c.svc.domain || p.Addr != want || p.Fingerprint != c.svc.fp {
				t.Errorf("round %d: %s's service is listed as %+v, want instance %q, domain %s at %s", round, c.responder, p, c.svc.instance, c.svc.domain, want)
			}
			// The browse asked over both families: the IPv6 answer's
			// address is kept beside the IPv4 one.
			if len(p.Addrs) != 2 || p.Addrs[0] != c.addr || !strings.HasPrefix(p.Addrs[1], "fe80:") {
				t.Errorf("round %d: %s's service has addresses %v, want %s and a link-local IPv6 address", round, c.responder, p.Addrs, c.addr)
			}
		}
	}
	// The stand-ins answered as umdns and bonjour-service do: so the
	// browse took a unicast answer with id 0 and multicast answers.
	if got := helperLines(umdns, "answered"); len(got) == 0 || got[0].How != "unicast" {
		t.Errorf("the umdns stand-in answered %+v, want unicast answers", got)
	}
	if got := helperLines(bonjour, "answered"); len(got) == 0 || got[0].How != "multicast" {
		t.Errorf("the bonjour stand-in answered %+v, want multicast answers", got)
	}
}

func TestTwoNodesWithOneDomainEndWithDistinctInstanceNames(t *testing.T) {
	requireRoot(t)
	tn := newTestNet(t, 3)
	const domain = "same.example.mesh"
	n1 := startMeshNode(t, tn, tn.hosts[0], domain, 7001)
	n2 := startMeshNode(t, tn, tn.hosts[1], domain, 7002)
	peers := waitPeers(t, tn, tn.hosts[2], 10*time.Second, n1.id, n2.id)
	p1, ok1 := findPeer(peers, n1.id)
	p2, ok2 := findPeer(peers, n2.id)
	if !ok1 || !ok2 {
		t.Fatalf("qpc mesh peers lists %+v, want both nodes\nnode1:\n%s\nnode2:\n%s", peers, n1.Logs(), n2.Logs())
	}
	names := []string{p1.Instance, p2.Instance}
	if names[0] == names[1] || (names[0] != domain && names[1] != domain) ||
		(names[0] != domain+" (2)" && names[1] != domain+" (2)") {
		t.Errorf("instance names %q, want %q and %q", names, domain, domain+" (2)")
	}
	renamed := n1
	if p2.Instance != domain {
		renamed = n2
	}
	if _, ok := renamed.waitLog(0, func(r map[string]any) bool {
		return r["msg"] == "mDNS instance name taken on the link; renamed" && r["instance"] == domain+" (2)" && r["old"] == domain
	}); !ok {
		t.Errorf("the renamed node did not log its new name:\n%s", renamed.Logs())
	}
	t.Logf("instances: node1 %q, node2 %q", p1.Instance, p2.Instance)
	// qpc status of the renamed node says the name it took.
	status := tn.command(tn.hosts[2], qpcBin, "status", "--server", renamedAddr(t, peers, renamed.id),
		"--pin", renamed.fp, "--json", "--timeout", "10s")
	if out, err := status.Output(); err != nil || !strings.Contains(string(out), `"mdns_instance": "`+domain+` (2)"`) {
		t.Errorf("qpc status of the renamed node: %v\n%s", err, out)
	}
	// qpc mesh peers shows the instance names in its table too.
	out, err := tn.command(tn.hosts[2], qpcBin, "mesh", "peers", "--timeout", "1s").Output()
	if err != nil || !strings.Contains(string(out), "INSTANCE") || !strings.Contains(string(out), domain+" (2)") {
		t.Errorf("qpc mesh peers: %v\n%s", err, out)
	}
}

// Avahi may send a host's A and AAAA records in separate packets, each
// with the cache-flush bit: the node keeps both addresses, and its table
// does not flap between them as the packets come.
func TestAvahisSplitAddressPacketsLeaveBothAddressesInPlace(t *testing.T) {
	requireRoot(t, "avahi-daemon", "avahi-publish", "dbus-daemon")
	tn := newTestNet(t, 3)
	svc := newFakeService("split.mesh", "split.mesh", 7005)
	a := startAvahi(t, tn, tn.hosts[0], "qpc-test-avahi1", "publish-aaaa-on-ipv4=no", "publish-a-on-ipv6=no")
	a.publish(t, tn, svc.instance, svc.port, svc.txt()...)
	n := startMeshNode(t, tn, tn.hosts[1], "node1.example.mesh", 7001)

	addrsOf := func(r map[string]any) (v4, v6 bool) {
		list, _ := r["addrs"].([]any)
		for _, x := range list {
			s, _ := x.(string)
			v4 = v4 || s == "192.0.2.1"
			v6 = v6 || strings.HasPrefix(s, "fe80:")
		}
		return v4, v6
	}
	isPeer := func(r map[string]any) bool {
		m, _ := r["msg"].(string)
		return strings.HasPrefix(m, "mesh peer ") && r["node_id"] == svc.id
	}
	if _, ok := n.waitLog(10*time.Second, func(r map[string]any) bool {
		v4, v6 := addrsOf(r)
		return isPeer(r) && v4 && v6
	}); !ok {
		t.Fatalf("the node never held both of avahi's addresses; node:\n%s", n.Logs())
	}
	// Have avahi answer by multicast again, over both families: a query
	// from port 5353 without known answers.
	mark := n.mark()
	count := startMDNSHelper(t, tn, tn.hosts[2], mdnsHelperConfig{Mode: "count", WindowMillis: 1200})
	if _, ok := count.waitLog(5*time.Second, func(r map[string]any) bool { return r["event"] == "count" }); !ok {
		t.Fatalf("the querier did not finish:\n%s", count.Logs())
	}
	for _, line := range strings.Split(n.Logs()[mark:], "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) != nil || !isPeer(r) {
			continue
		}
		if v4, v6 := addrsOf(r); !v4 || !v6 {
			t.Errorf("after avahi answered again, the node's table lost an address: %s", line)
		}
	}
}

// The node answers a query that comes in over IPv4 and IPv6 once on each
// family: two packets, not four (each family's answer on both families,
// the second pair a second late for the rate limit).
func TestAnAnsweredQueryIsOnePacketPerFamilyOnTheWire(t *testing.T) {
	requireRoot(t)
	tn := newTestNet(t, 2)
	n := startMeshNode(t, tn, tn.hosts[0], "node1.example.mesh", 7001)
	if _, ok := findPeer(waitPeers(t, tn, tn.hosts[1], 10*time.Second, n.id), n.id); !ok {
		t.Fatalf("the node never answered; logs:\n%s", n.Logs())
	}
	// The querier asks once the link was quiet for 1.2 s: the node's
	// announcements at start are over, and its rate limit (a second per
	// family) holds nothing back. It counts for 1.7 s: an answer held
	// back by the rate limit would come within a second.
	count := startMDNSHelper(t, tn, tn.hosts[1], mdnsHelperConfig{Mode: "count", QuietMillis: 1200, WindowMillis: 1700})
	rec, ok := count.waitLog(10*time.Second, func(r map[string]any) bool { return r["event"] == "count" })
	if !ok {
		t.Fatalf("the querier did not finish:\n%s", count.Logs())
	}
	v4, _ := rec["v4"].(float64)
	v6, _ := rec["v6"].(float64)
	t.Logf("one query over both families: %v answers over IPv4, %v over IPv6, sizes %v bytes", v4, v6, rec["sizes"])
	if v4 != 1 || v6 != 1 {
		t.Errorf("answers on the wire: %v over IPv4, %v over IPv6; want one each\nquerier:\n%s", v4, v6, count.Logs())
	}
}

// umdns turns multicast loopback off, so its queries never reach a node on
// its own host: started after the node, it hears of the node only because
// the node sees it join the mDNS group and announces again.
func TestAUmdnsStartedAfterTheNodeOnItsHostHearsOfIt(t *testing.T) {
	requireRoot(t)
	tn := newTestNet(t, 2)
	// A listener on another host tells when the node's announcements at
	// start are over: two, each over IPv4 and IPv6.
	listener := startMDNSHelper(t, tn, tn.hosts[1], mdnsHelperConfig{Mode: "bonjour", Instance: "listener", Port: 9, TXT: []string{"x=1"}})
	n := startMeshNode(t, tn, tn.hosts[0], "node1.example.mesh", 7001)
	heardNode := func(p *logProc) int {
		k := 0
		for _, l := range helperLines(p, "heard") {
			if l.Instance == n.domain {
				k++
			}
		}
		return k
	}
	deadline := time.Now().Add(10 * time.Second)
	for heardNode(listener) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("the node's start announcements were not heard; listener:\n%s\nnode:\n%s", listener.Logs(), n.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	started := time.Now()
	umdns := startMDNSHelper(t, tn, tn.hosts[0], mdnsHelperConfig{Mode: "umdns", Instance: "router", Port: 9, TXT: []string{"x=1"}})
	deadline = time.Now().Add(6 * time.Second)
	for heardNode(umdns) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the umdns stand-in on the node's host never heard of the node; it heard:\n%s\nnode:\n%s", umdns.Logs(), n.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("a umdns started after the node on its host heard of it %s later", time.Since(started).Round(time.Millisecond))
}

// umdns announces no service when it starts, only its service types: a
// node that hears the qpc type from a responder it does not know asks at
// once, and finds the service about as soon as umdns started, not at its
// next regular query (they come 1, 2, 4 … 48 s apart).
func TestANodeFindsAUmdnsServiceSoonAfterUmdnsStarts(t *testing.T) {
	requireRoot(t)
	tn := newTestNet(t, 3)
	// A responder that answers every query tells when the node queries.
	listener := startMDNSHelper(t, tn, tn.hosts[2], mdnsHelperConfig{Mode: "bonjour", Instance: "listener", Port: 9, TXT: []string{"x=1"}})
	n := startMeshNode(t, tn, tn.hosts[0], "node1.example.mesh", 7001)
	queries := func() int {
		k := 0
		for _, l := range helperLines(listener, "answered") {
			if strings.HasPrefix(l.From, "192.0.2.1:") {
				k++
			}
		}
		return k
	}
	// The node's third query (3 s after its start) is followed by a
	// fourth only 4 s later.
	deadline := time.Now().Add(10 * time.Second)
	for queries() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the node did not query three times; listener:\n%s\nnode:\n%s", listener.Logs(), n.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	svc := newFakeService("node-u.mesh", "node-u.mesh", 7006)
	started := time.Now()
	umdns := startMDNSHelper(t, tn, tn.hosts[1], mdnsHelperConfig{Mode: "umdns", Instance: svc.instance, Port: uint16(svc.port), TXT: svc.txt()})
	if _, ok := n.waitLog(3*time.Second, func(r map[string]any) bool {
		return r["msg"] == "mesh peer joined" && r["node_id"] == svc.id
	}); !ok {
		t.Fatalf("the node did not find the umdns service within 3 s of umdns starting (%d queries by then); umdns:\n%s\nnode:\n%s",
			queries(), umdns.Logs(), n.Logs())
	}
	t.Logf("the node found a service of a umdns started after it %s after umdns started", time.Since(started).Round(time.Millisecond))
}

// renamedAddr returns an address of node id among peers, as qpc mesh peers
// listed it.
func renamedAddr(t *testing.T, peers []meshPeerJSON, id string) string {
	t.Helper()
	p, ok := findPeer(peers, id)
	if !ok || p.Addr == "" {
		t.Fatalf("no address of %s among %+v", id, peers)
	}
	return p.Addr
}
