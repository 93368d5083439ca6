package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/storetest"
	"github.com/quicprochat/qpc/protocol"
)

// crashChildEnv, when set to a directory, turns the test binary into the
// crash test's child: it enqueues into a store there until killed.
const crashChildEnv = "QPC_STORE_CRASH_CHILD"

const (
	crashUsers     = 4
	crashProducers = 8
)

// crashOptions are the child's and the checker's options: bounds that the
// load never reaches, so nothing is evicted.
func crashOptions() Options {
	return Options{
		Limits:   node.MailboxLimits{MaxMessages: 1 << 30, MaxBytes: 1 << 40},
		Mesh:     protocol.MeshQuota{MaxBytes: 1 << 40, DomainBytes: 1 << 40, OriginBytes: 1 << 40, MaxSeen: 1 << 30},
		Channels: protocol.ChannelQuota{Retain: 1 << 30, MaxChannels: 1 << 30, MaxBytes: 1 << 40, MaxSeen: 1 << 30},

		MaxCommitsPerGroup: 1 << 30,
		MaxAccounts:        1 << 30,
		// The key transparency log: registrations append to it in
		// the transaction of their keys (Check compares the two).
		KT: KTLog{Domain: "crash.mesh", Key: ktTestKey},
	}
}

// crashChannels are the channels the crash child posts to, by name.
var crashChannels = map[string]protocol.ChannelID{
	"c0": sha256.Sum256([]byte("crash channel 0")),
	"c1": sha256.Sum256([]byte("crash channel 1")),
}

// crashChild opens the store in dir, creates the users, prints "ready",
// then has crashProducers goroutines enqueue one message at a time and
// print "ack <user> <seq> <payload>" for each stored one, one more hold
// store-and-forward envelopes four at a time and print "held <domain>
// <seq> <id in hex>" for each, and one more add channel posts four at a
// time and print "post <channel> <seq> <id in hex>" for each, and one more
// claim the epochs of group crashGroup one after the other and print
// "commit <group> <epoch> <commit>" for each accepted one. It stops by
// itself after 30 s or 100,000 messages, in case nobody kills it.
//
// With crashWALOnlyEnv set, the child only enqueues, and acks u0 as it
// goes (printing "acked u0 <seq>" once an Ack returned), with a
// write-ahead log that never checkpoints: what it stored is only in the
// log when it is killed.
func crashChild(dir string) int {
	opts := crashOptions()
	walOnly := os.Getenv(crashWALOnlyEnv) != ""
	if walOnly {
		opts.WALMaxBytes, opts.WALMaxAge = 1<<40, time.Hour
	}
	s, err := Open(filepath.Join(dir, FileName), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 2
	}
	for u := range crashUsers {
		err := s.CreateAccount(node.Account{User: fmt.Sprintf("u%d", u), Created: time.Now()})
		if err != nil && !errors.Is(err, protocol.ErrUserExists) { // a later round
			fmt.Fprintln(os.Stderr, "crash child:", err)
			return 2
		}
	}
	var out sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, "ready")
	w.Flush()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for g := range crashProducers {
		wg.Go(func() {
			pad := strings.Repeat("x", 200)
			for i := range 100_000 / crashProducers {
				user := fmt.Sprintf("u%d", (g+i)%crashUsers)
				id := fmt.Sprintf("p%d.%d.%d", os.Getpid(), g, i)
				payload := id + "-" + pad
				now := time.Now()
				rs, err := s.Enqueue(ctx, []protocol.NewMessage{{Recipient: user, Payload: []byte(payload), Enqueued: now, Expires: now.Add(time.Hour)}})
				if err != nil || rs[0].Err != nil {
					return
				}
				out.Lock()
				// One write per line, flushed before the next
				// message: what is printed was acknowledged.
				fmt.Fprintf(w, "ack %s %d %s\n", user, rs[0].Seq, id)
				w.Flush()
				out.Unlock()
			}
		})
	}
	if walOnly {
		wg.Go(func() { crashAcker(ctx, s, w, &out) })
		wg.Wait()
		return 0
	}
	wg.Go(func() {
		data := make([]byte, 200)
		for i := 0; i < 100_000; i += 4 {
			envs := make([]protocol.HeldEnvelope, 4)
			for j := range envs {
				now := time.Now()
				envs[j] = protocol.HeldEnvelope{
					ID:      sha256.Sum256(fmt.Appendf(nil, "p%d.h%d", os.Getpid(), i+j)),
					Domain:  fmt.Sprintf("d%d", j%2),
					Origin:  "o",
					Expires: now.Add(time.Hour),
					Held:    now,
					Data:    data,
				}
			}
			refusals, err := s.Hold(ctx, envs)
			if err != nil {
				return
			}
			out.Lock()
			for j, e := range envs {
				if refusals[j] == nil {
					fmt.Fprintf(w, "held %s %d %x\n", e.Domain, e.Seq, e.ID)
				}
			}
			w.Flush()
			out.Unlock()
		}
	})
	wg.Go(func() {
		data := make([]byte, 200)
		for i := 0; i < 100_000; i += 4 {
			posts := make([]protocol.StoredPost, 4)
			names := make([]string, 4)
			for j := range posts {
				names[j] = fmt.Sprintf("c%d", j%2)
				posts[j] = protocol.StoredPost{
					ID:      sha256.Sum256(fmt.Appendf(nil, "p%d.c%d", os.Getpid(), i+j)),
					Channel: crashChannels[names[j]],
					Expires: time.Now().Add(time.Hour),
					Data:    data,
				}
			}
			errs, _, err := s.AddPosts(ctx, posts)
			if err != nil {
				return
			}
			out.Lock()
			for j, p := range posts {
				if errs[j] == nil {
					fmt.Fprintf(w, "post %s %d %x\n", names[j], p.Seq, p.ID)
				}
			}
			w.Flush()
			out.Unlock()
		}
	})
	wg.Go(func() {
		// A later round starts at epoch 0, is refused and goes on from
		// the group's next epoch.
		for epoch, i := uint64(0), 0; i < 100_000 && ctx.Err() == nil; i++ {
			c := fmt.Sprintf("p%d.e%d", os.Getpid(), epoch)
			o, err := s.OrderCommit(storetest.Claim([]byte(crashGroup), epoch, []byte(c)))
			if err != nil {
				return
			}
			if !o.Accepted {
				epoch = o.Next
				continue
			}
			out.Lock()
			fmt.Fprintf(w, "commit %s %d %s\n", crashGroup, epoch, c)
			w.Flush()
			out.Unlock()
			epoch++
		}
	})
	wg.Go(func() {
		// Registrations: an account and its first keys, each keys
		// write appending to the log; "kt <user> 0 <identity key>".
		for i := 0; i < 100_000 && ctx.Err() == nil; i++ {
			u := fmt.Sprintf("k%d.%d", os.Getpid(), i)
			if err := s.CreateAccount(node.Account{User: u, Created: time.Now()}); err != nil {
				return
			}
			k := keysN(i)
			if err := s.PutKeys(u, k, node.Devices{}); err != nil {
				return
			}
			out.Lock()
			fmt.Fprintf(w, "kt %s 0 %x\n", u, k.IdentityKey)
			w.Flush()
			out.Unlock()
		}
	})
	wg.Wait()
	s.Close()
	return 0
}

// crashGroup is the MLS group whose commits the crash child orders.
const crashGroup = "crash-group"

// crashAck is a line the child printed: a message ("ack", user, seq, the
// payload's id), an envelope ("held", domain, seq, id in hex), a channel
// post ("post", channel name, seq, id in hex) that it saw stored, or an
// accepted commit ("commit", group, epoch, commit).
type crashAck struct {
	kind string
	name string
	seq  uint64
	id   string
}

// TestAcknowledgedMessagesSurviveSIGKILL kills a child process that
// enqueues, holds, adds channel posts and orders commits under load, twice
// into the same file, and checks that every message, envelope, post and
// accepted commit the child saw stored is there, that sequence numbers have no gaps, and that the file
// passes the consistency check.
func TestAcknowledgedMessagesSurviveSIGKILL(t *testing.T) {
	dir := t.TempDir()
	kill := 3000
	if testing.Short() {
		kill = 1000
	}
	var acks []crashAck
	for round := range 2 {
		got := runCrashChild(t, dir, kill)
		kinds := map[string]int{}
		for _, a := range got {
			kinds[a.kind]++
		}
		t.Logf("round %d: child killed after %d acknowledged messages, %d held envelopes, %d channel posts, %d accepted commits and %d registrations logged",
			round, kinds["ack"], kinds["held"], kinds["post"], kinds["commit"], kinds["kt"])
		if kinds["kt"] == 0 {
			t.Errorf("round %d: no registration was logged before the kill", round)
		}
		acks = append(acks, got...)
		checkFile(t, filepath.Join(dir, FileName))
		checkCrashStore(t, filepath.Join(dir, FileName), acks)
	}
}

// runCrashChild runs the child on dir, kills it with SIGKILL once it has
// printed kill acknowledgements and returns every one it printed.
func runCrashChild(t *testing.T, dir string, kill int) []crashAck {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.ENOEXEC) {
			// Under qemu-user without binfmt_misc (a cross-built
			// test binary) the binary cannot start itself.
			t.Skipf("cannot re-execute the test binary as the child: %v", err)
		}
		t.Fatal(err)
	}
	var acks []crashAck
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if line == "ready" {
			continue
		}
		var a crashAck
		if _, err := fmt.Sscanf(line, "%s %s %d %s", &a.kind, &a.name, &a.seq, &a.id); err != nil {
			t.Errorf("child printed %q: %v", line, err)
			continue
		}
		acks = append(acks, a)
		if len(acks) == kill && !killed {
			// Kill under load; keep reading what the child printed
			// before it died: those were acknowledged too.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before %d acknowledgements (got %d): %v", kill, len(acks), err)
	}
	return acks
}

// checkCrashStore opens the store at path and checks that it holds every
// acknowledged message, envelope and post, with consecutive sequence
// numbers: from 1 in mailboxes and queues, from a channel's first in
// channels (which start above the posts added before them), and that it
// is within its bounds.
func checkCrashStore(t *testing.T, path string, acks []crashAck) {
	t.Helper()
	s, err := Open(path, crashOptions())
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checkFile(t, path)
	}()
	stored := map[string]map[uint64]string{}
	for u := range crashUsers {
		user := fmt.Sprintf("u%d", u)
		msgs, err := s.Fetch(user, 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		last, err := s.LastSeq(user)
		if err != nil {
			t.Fatal(err)
		}
		stored[user] = map[uint64]string{}
		for i, m := range msgs {
			if m.Seq != uint64(i+1) {
				t.Fatalf("%s: message %d has seq %d; want consecutive from 1", user, i, m.Seq)
			}
			p := string(m.Payload)
			stored[user][m.Seq] = p[:strings.IndexByte(p, '-')]
		}
		if last != uint64(len(msgs)) {
			t.Errorf("%s: last seq %d, holds %d messages", user, last, len(msgs))
		}
	}
	for _, d := range []string{"d0", "d1"} {
		envs, err := s.Held(d, 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		stored[d] = map[uint64]string{}
		for i, e := range envs {
			if e.Seq != uint64(i+1) {
				t.Fatalf("%s: envelope %d has seq %d; want consecutive from 1", d, i, e.Seq)
			}
			stored[d][e.Seq] = hex.EncodeToString(e.ID[:])
		}
	}
	for name, ch := range crashChannels {
		posts, err := s.Posts(ch, 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		stored[name] = map[uint64]string{}
		for i, p := range posts {
			if p.Seq != posts[0].Seq+uint64(i) {
				t.Fatalf("%s: post %d has seq %d; want consecutive from %d", name, i, p.Seq, posts[0].Seq)
			}
			stored[name][p.Seq] = hex.EncodeToString(p.ID[:])
		}
	}
	if err := s.CheckIntegrity(); err != nil {
		t.Errorf("Check after SIGKILL: %v", err)
	}
	for _, a := range acks {
		if a.kind == "kt" {
			// Check above compared the log with the directory; the
			// acknowledged keys are there, and proven.
			k, err := s.Keys(a.name)
			if err != nil || hex.EncodeToString(k.IdentityKey) != a.id {
				t.Errorf("keys of %s are missing or different after the crash: %x, %v", a.name, k.IdentityKey, err)
				continue
			}
			if _, err := s.KTProof(a.name, 0); err != nil {
				t.Errorf("keys of %s have no proof after the crash: %v", a.name, err)
			}
			continue
		}
		if a.kind == "commit" {
			// The very commit accepted for its epoch is accepted again.
			if o, err := s.OrderCommit(storetest.Claim([]byte(a.name), a.seq, []byte(a.id))); err != nil || !o.Accepted {
				t.Errorf("commit %s of epoch %d of %s is missing or different after the crash: %+v, %v", a.id, a.seq, a.name, o, err)
			}
			continue
		}
		if got, ok := stored[a.name][a.seq]; !ok || got != a.id {
			t.Errorf("%s %s seq %d (%s) is missing or different after the crash: %q", a.kind, a.name, a.seq, a.id, got)
		}
	}
}
