package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/federation"
	"github.com/quicprochat/qpc/mesh/envelope"
	"github.com/quicprochat/qpc/mesh/flood"
	"github.com/quicprochat/qpc/mesh/forward"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/transport"
)

// The audit's item 6 against a real `qpc node` process: a member node
// with a genuine certificate of the community CA relays store-and-forward
// envelopes and channel posts, each signed by a fresh key that claims
// another made-up origin. Past the first hop the victim cannot tell those
// origins from real ones, so only what is keyed to the link's certificate
// can hold the flood: --mesh-neighbour-quota and --channel-neighbour-rate.

// Sizes of the forged flood. Each envelope carries forgedPayload bytes, so
// that the forgedCount of them are about twice the 1 MiB neighbour quota.
const (
	forgedCount   = 2000
	forgedBatch   = 250 // below the federation's bound of 256 per call
	forgedPayload = 1024
)

// floodingNeighbour is the attacking member node: the test process's own
// federation manager, linked to one victim, with no service of its own.
type floodingNeighbour struct {
	m      *federation.Manager
	victim string // the victim's domain
}

// startFloodingNeighbour links domain, whose federation certificate, key
// and CA are in flags (federationFlags), to the node at peer.
func startFloodingNeighbour(t *testing.T, domain string, flags []string, peer, peerDomain string) *floodingNeighbour {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(flagValue(flags, "--federation-cert"), flagValue(flags, "--federation-key"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(flagValue(flags, "--federation-ca"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	b, _ := pem.Decode(caPEM)
	m, err := federation.New(federation.Config{
		Domain: domain, NodeID: "flooder", Version: "test",
		Cert: cert, Roots: roots, CA: [][]byte{b.Bytes},
		Peers:   []string{peer},
		Inbound: func(string) federation.Inbound { return refusingInbound{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := transport.Listen("127.0.0.1:0", transport.ServerTLS(cert, m.ServerTLS), transport.IdleTimeout, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
		ln.Close()
	})
	return &floodingNeighbour{m: m, victim: peerDomain}
}

// envelopes sends n envelopes for a domain nobody reaches, each signed by
// a new key claiming origin forged<first+i>.example.mesh, as if relayed
// (hop count 2, so the victim's first-hop check does not apply), and
// returns how many the victim held and how many it refused as full.
func (f *floodingNeighbour) envelopes(ctx context.Context, first, n int) (held, refused int, err error) {
	envs := make([]envelope.Next, n)
	for i := range envs {
		_, key, _ := ed25519.GenerateKey(nil)
		env, err := envelope.Sign(key, fmt.Sprintf("forged%d.example.mesh", first+i), "zoe@unreached.example.mesh",
			make([]byte, forgedPayload), time.Now(), time.Hour, 8)
		if err != nil {
			return 0, 0, err
		}
		env.Hops = 2
		if envs[i], err = envelope.NextOf(env); err != nil {
			return 0, 0, err
		}
	}
	results, err := f.m.Forward(ctx, f.victim, envs)
	if err != nil {
		return 0, 0, err
	}
	for i, r := range results {
		switch {
		case r.Outcome == forward.Accepted:
			held++
		case r.Outcome == forward.Refused && errors.Is(r.Err, protocol.ErrMeshFull):
			refused++
		default:
			return held, refused, fmt.Errorf("forged envelope %d: %s (%v)", first+i, r.Outcome, r.Err)
		}
	}
	return held, refused, nil
}

// posts floods n channel posts, each signed by a new key claiming origin
// forged<first+i>.example.mesh, as if relayed (hop count 2).
func (f *floodingNeighbour) posts(ctx context.Context, channel protocol.ChannelID, first, n int) error {
	posts := make([]*flood.Post, n)
	for i := range posts {
		_, key, _ := ed25519.GenerateKey(nil)
		body := make([]byte, flood.Quantum)
		rand.Read(body)
		p, err := flood.Sign(key, fmt.Sprintf("forged%d.example.mesh", first+i), channel, body, time.Now(), 24*time.Hour, 8)
		if err != nil {
			return err
		}
		p.Hops = 2
		posts[i] = p
	}
	return f.m.Flood(ctx, f.victim, posts)
}

// refusingInbound serves none of the victim's calls: the flooding
// neighbour only sends.
type refusingInbound struct{}

var errFlooderServesNothing = errors.New("the flooding neighbour serves nothing")

func (refusingInbound) Deliver(context.Context, []protocol.Outgoing) ([]protocol.Receipt, time.Time, error) {
	return nil, time.Time{}, errFlooderServesNothing
}
func (refusingInbound) ResolveUser(context.Context, string, uint64) (protocol.PublishedKeys, error) {
	return protocol.PublishedKeys{}, errFlooderServesNothing
}
func (refusingInbound) FetchKeyPackage(context.Context, string, uint16) ([]byte, bool, error) {
	return nil, false, errFlooderServesNothing
}
func (refusingInbound) OrderCommit(context.Context, string, protocol.CommitClaim) (protocol.CommitOrder, error) {
	return protocol.CommitOrder{}, errFlooderServesNothing
}
func (refusingInbound) Allow(int) error { return nil }

// metricsURL waits for the node's "serving metrics" record and returns
// its /metrics address.
func metricsURL(t *testing.T, n *fedNode) string {
	t.Helper()
	rec, ok := n.waitLog(30*time.Second, func(r map[string]any) bool { return r["msg"] == "serving metrics" })
	if !ok {
		t.Fatalf("%s serves no metrics; logs:\n%s", n.domain, n.Logs())
	}
	return rec["addr"].(string)
}

// scrape reads url's metrics, by series as written (name{labels}).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if strings.HasPrefix(line, "#") || i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitMetric polls url until ok accepts the metrics, and returns them.
func waitMetric(t *testing.T, url string, within time.Duration, ok func(map[string]float64) bool) (map[string]float64, bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m := scrape(t, url)
		if ok(m) {
			return m, true
		}
		if time.Now().After(deadline) {
			return m, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The three domains of the tests: the victim (a node process), an honest
// neighbour of it (a node process) and the flooding neighbour (the test).
const v, h, x = "v.mesh", "h.mesh", "x.mesh"

// neighbourhood is v.mesh with its two neighbours, h.mesh and x.mesh.
type neighbourhood struct {
	victim, honest *fedNode
	vm, hm         string // their /metrics
	attacker       *floodingNeighbour
}

// startNeighbourhood starts v.mesh with victimFlags, then h.mesh and
// x.mesh, which dial it, and waits for both links.
func startNeighbourhood(t *testing.T, victimFlags ...string) *neighbourhood {
	t.Helper()
	flags := federationFlags(t, v, h, x)
	n := &neighbourhood{}
	n.victim = startFedNode(t, v, t.TempDir(), "127.0.0.1:0", append(append(flags[v],
		// The link's own message rate is not what is tested; debug logs
		// name the neighbour whose posts were refused.
		"--federation-rate", "100000", "--metrics-listen", "127.0.0.1:0", "--log-level", "debug"),
		victimFlags...)...)
	n.vm = metricsURL(t, n.victim)
	n.honest = startFedNode(t, h, t.TempDir(), "127.0.0.1:0", append(flags[h],
		"--peer", n.victim.addr, "--metrics-listen", "127.0.0.1:0")...)
	n.hm = metricsURL(t, n.honest)
	if _, ok := linkEvent(t, n.victim.logProc, 0, 30*time.Second, "federation link up", h); !ok {
		t.Fatalf("h.mesh did not link to v.mesh; v.mesh:\n%s\nh.mesh:\n%s", n.victim.Logs(), n.honest.Logs())
	}
	n.attacker = startFloodingNeighbour(t, x, flags[x], n.victim.addr, v)
	if _, ok := linkEvent(t, n.victim.logProc, 0, 30*time.Second, "federation link up", x); !ok {
		t.Fatalf("x.mesh did not link to v.mesh; v.mesh:\n%s", n.victim.Logs())
	}
	return n
}

// proc is n as newChanUser takes it: an address and a pin.
func (n *fedNode) proc() *nodeProc { return &nodeProc{addr: n.addr, fp: n.fp} }

// floodTally is what keepFlooding sent and how the victim took it.
type floodTally struct {
	held, refused int // envelopes
	posts         int
	err           error
}

// keepFlooding sends 20 forged posts (and 20 envelopes if envelopes is
// set) every 100 ms, for at most 300 rounds, until the returned stop is
// called; stop returns the tally. Origins are numbered from first.
func (f *floodingNeighbour) keepFlooding(ctx context.Context, channel protocol.ChannelID, envelopes bool, first int) (stop func() floodTally) {
	const perRound = 20
	var tally floodTally
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for round := range 300 {
			next := first + round*perRound
			if envelopes {
				hn, rn, err := f.envelopes(ctx, next, perRound)
				tally.held, tally.refused = tally.held+hn, tally.refused+rn
				if err != nil {
					tally.err = err
					return
				}
			}
			if err := f.posts(ctx, channel, next, perRound); err != nil {
				tally.err = err
				return
			}
			tally.posts += perRound
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	}()
	return func() floodTally {
		close(quit)
		<-done
		return tally
	}
}

// postBothWays has alice (on v.mesh) make a channel that bob (on h.mesh)
// joins; each posts, and each must read the other's post, verified, from
// their own node: over the federation link, through v.mesh's relay.
func postBothWays(t *testing.T, alice, bob *chanUser) {
	t.Helper()
	share := strings.TrimSpace(alice.must("", "channel", "create", "kiez"))
	bob.must("", "channel", "join", share)
	alice.must("", "channel", "send", "kiez", "from v.mesh")
	bob.must("", "channel", "send", "kiez", "from h.mesh")
	for _, r := range []struct {
		reader *chanUser
		author string
	}{{bob, "alice@" + v}, {alice, "bob@" + h}} {
		for deadline := time.Now().Add(30 * time.Second); ; {
			found := false
			for _, line := range strings.Split(strings.TrimSpace(r.reader.must("", "channel", "recv", "kiez", "--json")), "\n") {
				var p channelPostJSON
				if json.Unmarshal([]byte(line), &p) == nil && p.Author == r.author && p.Status == "verified" {
					found = true
				}
			}
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not get the post of %s during the flood", r.reader.name, r.author)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

const (
	receivedPosts    = `qpc_channel_posts_total{event="received"}`
	refusedRate      = `qpc_channel_refused_total{reason="neighbour-rate"}`
	refusedSeen      = `qpc_channel_refused_total{reason="neighbour-seen"}`
	refusedTable     = `qpc_channel_refused_total{reason="origin-table"}`
	refusedSeenFull  = `qpc_channel_refused_total{reason="seen-full"}`
	refusedQuota     = `qpc_mesh_refused_total{reason="neighbour-quota"}`
	heldEnvelopesNow = `qpc_mesh_store_envelopes`
)

// TestAFloodingNeighboursForgedOriginsAreCappedByItsCertificateInANodeProcess
// runs the victim v.mesh as a `qpc node` process with a 1 MiB
// --mesh-neighbour-quota and a --channel-neighbour-rate of 100 posts a
// minute, an honest h.mesh process linked to it, and x.mesh, a member node
// with a genuine certificate (the test process), which relays 2,000
// envelopes and 2,000 posts that claim 4,000 made-up origins. v.mesh must
// hold at most 1 MiB of x.mesh's envelopes and accept exactly 100 of its
// posts (one rate window) and pass on no more, while x.mesh keeps
// flooding and v.mesh's user still gets a message from h.mesh's user, and
// both users' channel posts cross the link.
func TestAFloodingNeighboursForgedOriginsAreCappedByItsCertificateInANodeProcess(t *testing.T) {
	t.Parallel()
	const quota, rate = 1 << 20, 100
	n := startNeighbourhood(t,
		// Room for 2 MiB, which x.mesh's flood would fill, of which one
		// neighbour may fill 1 MiB; the destination's bound is the
		// store's, and no origin's is near.
		"--mesh-store-size", "2", "--mesh-domain-quota", "2", "--mesh-origin-quota", "1",
		"--mesh-neighbour-quota", "1",
		"--channel-neighbour-rate", strconv.Itoa(rate))
	victim, attacker, vm := n.victim, n.attacker, n.vm
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Store-and-forward: 2,000 envelopes of ~1.2 KiB, ~2.3 MiB in all.
	var held, refused int
	for b := 0; b < forgedCount; b += forgedBatch {
		hn, rn, err := attacker.envelopes(ctx, b, forgedBatch)
		if err != nil {
			t.Fatal(err)
		}
		held, refused = held+hn, refused+rn
	}
	var st meshStoreJSON
	code, out, errOut := runQPC("mesh", "store", "--server", victim.addr, "--pin", victim.fp, "--json")
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("qpc mesh store: exit %d %q %q", code, out, errOut)
	}
	t.Logf("store-and-forward: %d forged envelopes, %d held (%d bytes, neighbour quota %d), %d refused (victim counts %d refused:neighbour-quota)",
		forgedCount, held, st.Bytes, quota, refused, st.Counters["refused:neighbour-quota"])
	if held == 0 || held+refused != forgedCount || st.Envelopes != held || st.Bytes > quota || held*forgedPayload > quota {
		t.Errorf("v.mesh held %d forged envelopes (store: %d envelopes, %d bytes) and refused %d; want them capped at the %d-byte neighbour quota",
			held, st.Envelopes, st.Bytes, refused, quota)
	}
	if got := st.Counters["refused:neighbour-quota"]; got != uint64(refused) {
		t.Errorf("v.mesh counts %d refused:neighbour-quota, want %d (refused for another reason?): %v", got, refused, st.Counters)
	}

	// So v.mesh's own user can still hand the mesh a message for a node
	// it does not reach: x.mesh took only its share of the store.
	c := dialPinned(t, victim.addr, victim.fp)
	defer c.Close()
	fast := opaque.Config{KSF: opaque.Identity{}}
	if _, err := c.Register(ctx, fast, v, "carol", []byte("carol")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Login(ctx, fast, v, "carol", []byte("carol")); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Enqueue(ctx, client.Outgoing{Recipient: "zoe@elsewhere.example.mesh", Payload: make([]byte, forgedPayload)}); err != nil || r.Err != nil || r.QueuedAt != v {
		t.Errorf("carol@v.mesh's message into the mesh after x.mesh's flood: %+v, %v; want it held at v.mesh", r, err)
	}

	// Channels: 2,000 posts to a channel, each from another made-up origin.
	var channel protocol.ChannelID
	rand.Read(channel[:])
	floodStart := time.Now()
	for b := 0; b < forgedCount; b += forgedBatch {
		if err := attacker.posts(ctx, channel, forgedCount+b, forgedBatch); err != nil {
			t.Fatal(err)
		}
	}
	m, ok := waitMetric(t, vm, 10*time.Second, func(m map[string]float64) bool {
		return m[receivedPosts]+m[refusedRate] == forgedCount
	})
	if !ok {
		t.Fatalf("v.mesh counted %v received and %v refused:neighbour-rate of %d forged posts", m[receivedPosts], m[refusedRate], forgedCount)
	}
	accepted := int(m[receivedPosts])
	t.Logf("channels: %d forged posts, %d accepted (neighbour rate %d/min), %v refused:neighbour-rate",
		forgedCount, accepted, rate, m[refusedRate])
	// Fixed windows of a minute from the first post taken: all of the
	// flood within a minute gets exactly the rate.
	if w := int(time.Since(floodStart)/time.Minute) + 1; w == 1 && accepted != rate || accepted == 0 || accepted > rate*w {
		t.Fatalf("v.mesh accepted %d forged posts in %d window(s), want %d a minute", accepted, w, rate)
	}
	// v.mesh names the neighbour that floods.
	if _, ok := victim.waitLog(10*time.Second, func(r map[string]any) bool {
		return r["msg"] == "channel posts refused" && r["from"] == x && r["reason"] == "neighbour-rate"
	}); !ok {
		t.Errorf("v.mesh logged no refusal of x.mesh's posts for neighbour-rate")
	}
	// What v.mesh accepted it passes on to h.mesh, and no more.
	if hmet, ok := waitMetric(t, n.hm, 30*time.Second, func(m map[string]float64) bool { return int(m[receivedPosts]) >= accepted }); !ok || int(hmet[receivedPosts]) != accepted {
		t.Fatalf("h.mesh received %v posts, want the %d v.mesh accepted", hmet[receivedPosts], accepted)
	}

	// The honest path while x.mesh keeps flooding: bob@h.mesh writes to
	// alice@v.mesh, and both post to a channel the other reads.
	stop := attacker.keepFlooding(ctx, channel, true, 2*forgedCount)
	alice, bob := newChanUser(t, victim.proc(), "alice"), newChanUser(t, n.honest.proc(), "bob")
	bob.must("", "send", "--to", "alice@"+v, "through the flood")
	aliceDM := &cliUser{t: t, name: "alice", pwFile: alice.pw, state: alice.state, wrap: plainCommand}
	var got []recvJSON
	for deadline := time.Now().Add(30 * time.Second); len(got) == 0; {
		if got = aliceDM.recv(); len(got) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("alice@v.mesh got no message from bob@h.mesh during the flood; v.mesh:\n%s", victim.Logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	expectOne(t, got, "bob@"+h, "through the flood")
	postBothWays(t, alice, bob)
	bg := stop()
	if bg.err != nil {
		t.Fatalf("x.mesh's flood during the honest traffic: %v", bg.err)
	}

	// During all of it, x.mesh got not one more envelope held, and no
	// post beyond its rate accepted; the one post v.mesh received since
	// is bob's.
	elapsed := time.Since(floodStart)
	windows := int(elapsed/time.Minute) + 1
	m, ok = waitMetric(t, vm, 10*time.Second, func(m map[string]float64) bool {
		return int(m[receivedPosts]+m[refusedRate]) == forgedCount+bg.posts+1
	})
	forgedAccepted := int(m[receivedPosts]) - 1
	t.Logf("during the honest traffic (%d rounds): x.mesh had %d envelopes held, %d refused; %d posts, of which v.mesh accepted %d; %d forged posts accepted in %s (%d rate window(s))",
		bg.posts/20, bg.held, bg.refused, bg.posts, forgedAccepted-accepted, forgedAccepted, elapsed.Round(time.Millisecond), windows)
	if !ok {
		t.Fatalf("v.mesh counted %v received and %v refused:neighbour-rate, want %d in all", m[receivedPosts], m[refusedRate], forgedCount+bg.posts+1)
	}
	if bg.held != 0 || bg.refused == 0 || int(m[refusedQuota]) != refused+bg.refused || int(m[heldEnvelopesNow]) != held+1 {
		t.Errorf("during the honest traffic x.mesh had %d envelopes held, %d refused; v.mesh holds %v and counts %v refused for neighbour-quota, want %d and %d",
			bg.held, bg.refused, m[heldEnvelopesNow], m[refusedQuota], held+1, refused+bg.refused)
	}
	if windows == 1 && forgedAccepted != rate || forgedAccepted > rate*windows {
		t.Errorf("v.mesh accepted %d of x.mesh's %d forged posts in %s, want %d a minute", forgedAccepted, forgedCount+bg.posts, elapsed, rate)
	}
}

// TestAFloodingNeighbourFillsOnlyItsOwnOriginTableAndSeenShareInANodeProcess
// lets x.mesh's 2,000 forged posts past the neighbour rate of v.mesh (a
// `qpc node` process with --channel-seen-max 200) to the two bounds
// behind it: the table of origins kept for each neighbour (256) and each
// neighbour's share of the seen-set (half of it, 100; relayed posts may
// fill 180 of the 200). v.mesh must accept 100 of x.mesh's posts, refuse
// the other 156 origins its table holds as over the share and every
// origin beyond them as over the table, while a post of h.mesh's user
// (a new origin, from another neighbour) still gets in and out, and so
// does one of v.mesh's own user.
func TestAFloodingNeighbourFillsOnlyItsOwnOriginTableAndSeenShareInANodeProcess(t *testing.T) {
	t.Parallel()
	// table is the flood package's maxOriginsPerNeighbour.
	const seenMax, share, table = 200, 100, 256
	n := startNeighbourhood(t, "--channel-seen-max", strconv.Itoa(seenMax),
		// Far above the flood, so that the bounds behind it are reached.
		"--channel-neighbour-rate", "100000")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var channel protocol.ChannelID
	rand.Read(channel[:])
	floodStart := time.Now()
	for b := 0; b < forgedCount; b += forgedBatch {
		if err := n.attacker.posts(ctx, channel, b, forgedBatch); err != nil {
			t.Fatal(err)
		}
	}
	m, ok := waitMetric(t, n.vm, 10*time.Second, func(m map[string]float64) bool {
		return m[receivedPosts]+m[refusedSeen]+m[refusedTable] == forgedCount
	})
	t.Logf("channels: %d forged posts, %v accepted (share %d of %d ids), %v refused:neighbour-seen, %v refused:origin-table (table %d), %v refused:neighbour-rate",
		forgedCount, m[receivedPosts], share, seenMax, m[refusedSeen], m[refusedTable], table, m[refusedRate])
	if !ok || int(m[receivedPosts]) != share {
		t.Errorf("v.mesh accepted %v of x.mesh's forged posts, want its seen share of %d", m[receivedPosts], share)
	}
	// Origins get a window in the table for a minute; within it, the
	// table refuses every origin past the first 256.
	if time.Since(floodStart) < time.Minute && (int(m[refusedSeen]) != table-share || int(m[refusedTable]) != forgedCount-table) {
		t.Errorf("v.mesh refused %v over the share and %v over the table, want %d and %d", m[refusedSeen], m[refusedTable], table-share, forgedCount-table)
	}
	if _, ok := n.victim.waitLog(10*time.Second, func(r map[string]any) bool {
		return r["msg"] == "channel posts refused" && r["from"] == x && r["reason"] == "origin-table"
	}); !ok {
		t.Errorf("v.mesh logged no refusal of x.mesh's posts for origin-table")
	}

	// h.mesh's user and v.mesh's own user post while x.mesh floods on.
	stop := n.attacker.keepFlooding(ctx, channel, false, forgedCount)
	alice, bob := newChanUser(t, n.victim.proc(), "alice"), newChanUser(t, n.honest.proc(), "bob")
	postBothWays(t, alice, bob)
	bg := stop()
	if bg.err != nil {
		t.Fatalf("x.mesh's flood during the honest traffic: %v", bg.err)
	}
	m, ok = waitMetric(t, n.vm, 10*time.Second, func(m map[string]float64) bool {
		return int(m[receivedPosts]+m[refusedSeen]+m[refusedTable]) == forgedCount+bg.posts+1
	})
	t.Logf("during the honest traffic: x.mesh sent %d more posts; v.mesh received %v in all (bob's included), refused %v over the share, %v over the table, %v as the seen-set full",
		bg.posts, m[receivedPosts], m[refusedSeen], m[refusedTable], m[refusedSeenFull])
	if !ok || int(m[receivedPosts]) != share+1 || m[refusedSeenFull] != 0 {
		t.Errorf("v.mesh received %v posts and refused %v as the seen-set full; want x.mesh's %d and bob's, none refused as full", m[receivedPosts], m[refusedSeenFull], share)
	}
}
