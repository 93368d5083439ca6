package main

// Attacks of issue 20 (items 1 and 2) against a real `qpc node` process:
// what one unauthenticated client could do to a node's memory and
// connection slots. The node's memory is read from /proc/PID/status.
//
// These tests stay serial (no t.Parallel), so they run before the
// parallel process tests start: the peak RSS they bound is the node
// process's own and would not change, but their deadlines (a user must
// log in during a flood within the login timeout) assume a CPU the
// flood does not share with a dozen other nodes.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/opaque"
	"github.com/quicprochat/qpc/schemas"
	"github.com/quicprochat/qpc/transport"
)

// procMemory returns the VmRSS and VmHWM (peak RSS) of process pid, in
// bytes.
func procMemory(t *testing.T, pid int) (rss, hwm int64) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the node's memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 || hwm == 0 {
		t.Fatal("no VmRSS or VmHWM in /proc status")
	}
	return rss, hwm
}

func needLinuxProc(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		if os.Getenv("CI") == "true" {
			t.Fatal("flood tests need Linux (/proc, 127.0.0.0/8 on lo)")
		}
		t.Skip("flood tests need Linux (/proc and the whole 127.0.0.0/8 on lo)")
	}
}

// attacker dials a node from its own UDP socket on a loopback address
// (127.0.0.2 is a different source from 127.0.0.1, the legitimate
// clients'), with keep-alives, so only the node can end its connections.
type attacker struct {
	tr   *quic.Transport
	tls  *tls.Config
	node *net.UDPAddr
}

func newAttacker(t *testing.T, from, node, fp string) *attacker {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)})
	if err != nil {
		t.Fatalf("binding %s: %v", from, err)
	}
	tr := &quic.Transport{Conn: udp}
	t.Cleanup(func() { tr.Close(); udp.Close() })
	conf, err := transport.ClientTLS("127.0.0.1", transport.Trust{Pin: fp})
	if err != nil {
		t.Fatal(err)
	}
	naddr, err := net.ResolveUDPAddr("udp", node)
	if err != nil {
		t.Fatal(err)
	}
	return &attacker{tr: tr, tls: conf, node: naddr}
}

func (a *attacker) dial(ctx context.Context) (*quic.Conn, error) {
	return a.tr.Dial(ctx, a.node, a.tls, &quic.Config{
		HandshakeIdleTimeout: 10 * time.Second,
		MaxIdleTimeout:       2 * time.Minute,
		KeepAlivePeriod:      2 * time.Second,
	})
}

// rpcFrame builds one Cap'n Proto RPC message as the stream carries it.
func rpcFrame(t *testing.T, build func(rpccp.Message, *capnp.Segment) error) []byte {
	msg, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	m, err := rpccp.NewRootMessage(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := build(m, seg); err != nil {
		t.Fatal(err)
	}
	b, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bootstrapFrame asks for the node's bootstrap capability as question 0.
func bootstrapFrame(t *testing.T) []byte {
	return rpcFrame(t, func(m rpccp.Message, _ *capnp.Segment) error {
		bs, err := m.NewBootstrap()
		bs.SetQuestionId(0)
		return err
	})
}

// healthFrame calls NodeService.health as question id on the answer of
// question 0 (the bootstrap), pipelined: no need to wait for it.
func healthFrame(t *testing.T, id uint32) []byte {
	return rpcFrame(t, func(m rpccp.Message, seg *capnp.Segment) error {
		c, err := m.NewCall()
		if err != nil {
			return err
		}
		c.SetQuestionId(id)
		c.SetInterfaceId(schemas.NodeService_TypeID)
		c.SetMethodId(0) // health @0
		target, err := c.NewTarget()
		if err != nil {
			return err
		}
		pa, err := target.NewPromisedAnswer()
		if err != nil {
			return err
		}
		pa.SetQuestionId(0)
		p, err := c.NewParams()
		if err != nil {
			return err
		}
		st, err := capnp.NewStruct(seg, capnp.ObjectSize{})
		if err != nil {
			return err
		}
		return p.SetContent(st.ToPtr())
	})
}

// legitimateUser registers, logs in and checks health from 127.0.0.1.
func legitimateUser(ctx context.Context, p *nodeProc, user string) error {
	c, err := client.Dial(ctx, p.addr, transport.Trust{Pin: p.fp}, nil)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	fast := opaque.Config{KSF: opaque.Identity{}}
	if _, err := c.Register(ctx, fast, "node1.example.mesh", user, []byte(user)); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if _, _, err := c.Login(ctx, fast, "node1.example.mesh", user, []byte(user)); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if _, err := c.Health(ctx); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	return nil
}

// legitimateUserInFlood is legitimateUser for a user who comes while
// hundreds of handshakes complete at once. The node's QUIC stack queues at
// most 32 handshaken connections for the node to accept and refuses the
// rest (CONNECTION_REFUSED) before the node sees them, so before its
// eviction rules can give the user a place: on a loaded machine the
// node's accept loop falls behind and the user's connection may be one of
// those. The client reports that as a busy node (client.ClosedByNodeError
// with QUIC set), and a client that keeps a user connected (client.Follow)
// dials again; so does this user, once, under another name in case the
// refusal cut the registration after it was stored. Any other error, a
// refusal by the node itself (its eviction rules must let the user in),
// or a second refusal fails.
func legitimateUserInFlood(t *testing.T, ctx context.Context, p *nodeProc, user string) error {
	first := legitimateUser(ctx, p, user)
	var closed *client.ClosedByNodeError
	if !errors.As(first, &closed) || !closed.QUIC {
		return first
	}
	t.Logf("%s was refused busy (%v); dialling again, as a following client does", user, first)
	if err := legitimateUser(ctx, p, user+"-again"); err != nil {
		return fmt.Errorf("refused busy (%w), and again: %w", first, err)
	}
	return nil
}

// checkGrowth fails t when the node's peak RSS grew from hwm0 to hwm by
// more than bound bytes.
func checkGrowth(t *testing.T, hwm0, hwm, bound int64) {
	t.Helper()
	if hwm-hwm0 > bound {
		t.Errorf("node's peak RSS grew by %d MiB, more than %d MiB", (hwm-hwm0)>>20, bound>>20)
	}
}

// closeCode returns the application error code a connection was closed
// with, or -1 when it is open or ended otherwise.
func closeCode(c *quic.Conn) int {
	select {
	case <-c.Context().Done():
	default:
		return -1
	}
	var ae *quic.ApplicationError
	if errors.As(context.Cause(c.Context()), &ae) {
		return int(ae.ErrorCode)
	}
	return -1
}

// settle reads the node's memory once it has served a user, the baseline
// the attacks are measured against.
func settle(t *testing.T, p *nodeProc) (rss, hwm int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := legitimateUser(ctx, p, "before"); err != nil {
		t.Fatal(err)
	}
	return procMemory(t, p.cmd.Process.Pid)
}

func TestOversizedFramesWithoutLoginAreRefusedUnread(t *testing.T) {
	needLinuxProc(t)
	p := startNodeProc(t, qpcBin)
	rss0, hwm0 := settle(t, p)
	a := newAttacker(t, "127.0.0.2", p.addr, p.fp)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	const conns, announced, body = 8, 60 << 20, 60 << 20
	hdr := make([]byte, 8)
	binary.LittleEndian.PutUint32(hdr[4:], announced/8) // one segment, in words
	chunk := make([]byte, 64<<10)
	sent := make([]int, conns)
	codes := make([]int, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := a.dial(ctx)
			if err != nil {
				t.Errorf("connection %d: %v", i, err)
				return
			}
			defer c.CloseWithError(0, "")
			s, err := c.OpenStreamSync(ctx)
			if err != nil {
				t.Errorf("connection %d: %v", i, err)
				return
			}
			s.SetWriteDeadline(time.Now().Add(20 * time.Second))
			if _, err := s.Write(hdr); err != nil {
				return
			}
			for sent[i] < body {
				n, err := s.Write(chunk)
				sent[i] += n
				if err != nil {
					break
				}
			}
			select {
			case <-c.Context().Done():
			case <-ctx.Done():
			}
			codes[i] = closeCode(c)
		}()
	}
	wg.Wait()
	_, hwm := procMemory(t, p.cmd.Process.Pid)
	for i := range conns {
		if codes[i] < 0 {
			t.Errorf("connection %d was not closed by the node", i)
		}
		if sent[i] >= body {
			t.Errorf("connection %d sent its whole %d MiB body: the node read it", i, body>>20)
		}
	}
	// Nothing of the frames is allocated; what grows is QUIC's state of
	// eight connections and at most one receive window each.
	const bound = 16 << 20
	t.Logf("node RSS %d MiB before, peak %d MiB (was %d MiB) after %d connections announcing %d MiB frames; body bytes taken per connection: %v",
		rss0>>20, hwm>>20, hwm0>>20, conns, announced>>20, sent)
	checkGrowth(t, hwm0, hwm, bound)
	if err := legitimateUser(ctx, p, "after"); err != nil {
		t.Errorf("a user after the attack: %v", err)
	}
}

func TestPipelinedCallsWhoseAnswersAreNeverReadStallTheClientNotTheNode(t *testing.T) {
	needLinuxProc(t)
	p := startNodeProc(t, qpcBin)
	rss0, hwm0 := settle(t, p)
	a := newAttacker(t, "127.0.0.2", p.addr, p.fp)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	const conns, calls = 4, 100_000
	written := make([]int, conns)
	var open []*quic.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := a.dial(ctx)
			if err != nil {
				t.Errorf("connection %d: %v", i, err)
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			s, err := c.OpenStreamSync(ctx)
			if err != nil {
				t.Errorf("connection %d: %v", i, err)
				return
			}
			// The answers are never read: QUIC keeps acknowledging them,
			// so the node can send until this side's window is full.
			s.SetWriteDeadline(time.Now().Add(8 * time.Second))
			if _, err := s.Write(bootstrapFrame(t)); err != nil {
				t.Errorf("connection %d: %v", i, err)
				return
			}
			for id := uint32(1); id <= calls; id++ {
				if _, err := s.Write(healthFrame(t, id)); err != nil {
					break
				}
				written[i]++
			}
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range open {
			c.CloseWithError(0, "")
		}
	}()
	// The flood is still on: the attacking connections are open with
	// their calls pending. Another user is served meanwhile.
	if err := legitimateUser(ctx, p, "during"); err != nil {
		t.Errorf("a user during the attack: %v", err)
	}
	_, hwm := procMemory(t, p.cmd.Process.Pid)
	cut := 0
	for _, c := range open {
		if c.Context().Err() != nil {
			cut++
		}
	}
	t.Logf("node RSS %d MiB before, peak %d MiB (was %d MiB) after %d connections pipelining health calls unread; calls written per connection: %v; %d connections cut by the node",
		rss0>>20, hwm>>20, hwm0>>20, conns, written, cut)
	for i, n := range written {
		if n >= calls {
			t.Errorf("connection %d wrote all %d calls: the node read them all although their answers were not read", i, calls)
		}
	}
	const bound = 16 << 20
	checkGrowth(t, hwm0, hwm, bound)
}

func TestIdleConnectionsFromOneSourceLeaveRoomAndAreClosedAtTheLoginDeadline(t *testing.T) {
	needLinuxProc(t)
	const loginTimeout = 8 * time.Second
	p := startNodeProcEnv(t, []string{"QPC_LOGIN_TIMEOUT=" + loginTimeout.String()}, t.TempDir(), "127.0.0.1:0", qpcBin)
	rss0, hwm0 := settle(t, p)
	a := newAttacker(t, "127.0.0.2", p.addr, p.fp)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	// 1,100 connections, 32 handshakes at a time; each opens its RPC
	// stream with a bootstrap request and then sends nothing.
	const flood, parallel = 1100, 32
	boot := bootstrapFrame(t)
	conns := make([]*quic.Conn, flood)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range flood {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dctx, dcancel := context.WithTimeout(ctx, 15*time.Second)
			defer dcancel()
			c, err := a.dial(dctx)
			if err != nil {
				return // refused during the handshake: counted below as never open
			}
			conns[i] = c
			if s, err := c.OpenStream(); err == nil {
				s.Write(boot)
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.CloseWithError(0, "")
			}
		}
	})

	// While the flood holds its slots, a user connects, registers and
	// logs in.
	if err := legitimateUserInFlood(t, ctx, p, "during"); err != nil {
		t.Fatalf("a user during a flood of idle connections: %v", err)
	}
	_, hwm := procMemory(t, p.cmd.Process.Pid)

	// Every flood connection ends: refused at once (busy) or closed at
	// the login deadline, none kept open by its keep-alives.
	deadline := time.Now().Add(loginTimeout + 20*time.Second)
	var busy, timedOut, other, open int
	for {
		busy, timedOut, other, open = 0, 0, 0, 0
		for _, c := range conns {
			if c == nil { // refused during the handshake
				other++
				continue
			}
			switch code := closeCode(c); {
			case code == int(transport.CodeBusy):
				busy++
			case code == int(transport.CodeLoginTimeout):
				timedOut++
			case code < 0 && c.Context().Err() == nil:
				open++
			default:
				other++
			}
		}
		if open == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Logf("%d connections: %d refused busy, %d closed at the login deadline, %d ended otherwise, %d open; node RSS %d MiB before, peak %d MiB (was %d MiB)",
		flood, busy, timedOut, other, open, rss0>>20, hwm>>20, hwm0>>20)
	if open > 0 {
		t.Errorf("%d idle connections are still open %s after the login deadline", open, 20*time.Second)
	}
	if timedOut == 0 {
		t.Error("no idle connection was closed at the login deadline")
	}
	// One source holds at most --max-connections-per-source (64) slots
	// at a time; the others are refused.
	if busy < flood/2 {
		t.Errorf("only %d of %d connections from one source were refused", busy, flood)
	}
	const bound = 48 << 20
	checkGrowth(t, hwm0, hwm, bound)
}

// TestTheRouterSettingHoldsUnderEveryAttackAtOnce runs the three attacks
// from eight addresses at once against a node with the 128 MB router
// setting of docs/node.md, and holds it to that page's bound.
func TestTheRouterSettingHoldsUnderEveryAttackAtOnce(t *testing.T) {
	needLinuxProc(t)
	p := startNodeProcEnv(t, []string{"QPC_MAX_CONNECTIONS=64", "QPC_MAX_CONNECTIONS_PER_SOURCE=8", "QPC_MAX_UNAUTHENTICATED=16",
		"QPC_LOGIN_TIMEOUT=5s"}, // the user who comes during the flood must log in within it on a loaded CI machine
		t.TempDir(), "127.0.0.1:0", qpcBin)
	rss0, hwm0 := settle(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	// alice logged in before the flood; her connection is not the flood's.
	alice, err := client.Dial(ctx, p.addr, transport.Trust{Pin: p.fp}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	fast := opaque.Config{KSF: opaque.Identity{}}
	if _, err := alice.Register(ctx, fast, "node1.example.mesh", "alice", []byte("alice")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.Login(ctx, fast, "node1.example.mesh", "alice", []byte("alice")); err != nil {
		t.Fatal(err)
	}

	// Frames are built here, not in the attackers' goroutines; question
	// ids are per connection, so every connection sends the same ones.
	boot := bootstrapFrame(t)
	const calls = 3000
	health := make([][]byte, calls)
	for i := range health {
		health[i] = healthFrame(t, uint32(i+1))
	}
	hdr := make([]byte, 8)
	binary.LittleEndian.PutUint32(hdr[4:], (60<<20)/8)
	chunk := make([]byte, 64<<10)

	const sources, oversized, pipelined, idle = 8, 8, 4, 40
	var wg sync.WaitGroup
	attack := func(a *attacker, act func(*quic.Conn, *quic.Stream)) {
		defer wg.Done()
		c, err := a.dial(ctx)
		if err != nil {
			return // refused during the handshake
		}
		defer c.CloseWithError(0, "")
		s, err := c.OpenStream()
		if err != nil {
			return
		}
		s.SetWriteDeadline(time.Now().Add(10 * time.Second))
		act(c, s)
		// Hold the connection until the node ends it or the test does.
		select {
		case <-c.Context().Done():
		case <-time.After(15 * time.Second):
		case <-ctx.Done():
		}
	}
	for i := range sources {
		a := newAttacker(t, fmt.Sprintf("127.0.0.%d", i+2), p.addr, p.fp)
		for range oversized {
			wg.Add(1)
			go attack(a, func(_ *quic.Conn, s *quic.Stream) {
				if _, err := s.Write(hdr); err != nil {
					return
				}
				for sent := 0; sent < 60<<20; sent += len(chunk) {
					if _, err := s.Write(chunk); err != nil {
						return
					}
				}
			})
		}
		for range pipelined {
			wg.Add(1)
			go attack(a, func(_ *quic.Conn, s *quic.Stream) {
				if _, err := s.Write(boot); err != nil {
					return
				}
				for _, f := range health {
					if _, err := s.Write(f); err != nil {
						return
					}
				}
			})
		}
		for range idle {
			wg.Add(1)
			go attack(a, func(_ *quic.Conn, s *quic.Stream) { s.Write(boot) })
		}
	}
	// alice is served while the flood goes on, and bob, who comes during
	// it, registers and logs in: the flood's sources hold the most places
	// in the full unauthenticated pool, so his connections take theirs.
	hctx, hcancel := context.WithTimeout(ctx, 10*time.Second)
	_, herr := alice.Health(hctx)
	hcancel()
	derr := legitimateUserInFlood(t, ctx, p, "during")
	wg.Wait()
	_, hwm := procMemory(t, p.cmd.Process.Pid)
	t.Logf("router setting, %d sources × (%d oversized + %d pipelining + %d idle connections): node RSS %d MiB before, peak %d MiB (was %d MiB)",
		sources, oversized, pipelined, idle, rss0>>20, hwm>>20, hwm0>>20)
	if herr != nil {
		t.Errorf("alice, logged in before the flood, during it: %v", herr)
	}
	if derr != nil {
		t.Errorf("a user who came during the flood: %v\nnode's warnings:\n%s", derr, p.warnings())
	}
	// docs/node.md: base + 64 × (q + W + F + A) + H + S ≈ 90 MiB.
	const bound = 90 << 20
	if hwm > bound {
		t.Errorf("node's peak RSS %d MiB is above the documented %d MiB", hwm>>20, bound>>20)
	}
	if err := legitimateUser(ctx, p, "after"); err != nil {
		t.Errorf("a user after the flood: %v", err)
	}
}
