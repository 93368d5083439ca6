//go:build !router

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

func runSend(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("send", "--to USER[@DOMAIN] | --group NAME [--ttl D] [--max-hops N] [--json] [TEXT...]   (no TEXT: read stdin)", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	to := fs.String("to", "", "recipient, user or user@domain (this or --group)")
	group := fs.String("group", "", "send to this group of qpc repl instead (MLS; the group must be joined)")
	ttl := fs.Duration("ttl", 0, "how long the node keeps the message undelivered (default: the node's)")
	maxHops := fs.Uint("max-hops", 0, "if the recipient's node is not reachable and the message goes into the mesh, "+
		"the most federation hops it may take (0: the node's default; more than the node's maximum is capped at it)")
	asJSON := fs.Bool("json", false, "print the receipt as JSON")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		fmt.Fprintf(stderr, "qpc send: %v\n", err)
		return exitUsage
	}
	switch {
	case *to == "" && *group == "":
		fmt.Fprintln(stderr, "qpc send: --to or --group is required")
		return exitUsage
	case *to != "" && *group != "":
		fmt.Fprintln(stderr, "qpc send: give --to or --group, not both")
		return exitUsage
	case *group != "" && (*ttl != 0 || *maxHops != 0 || *asJSON):
		fmt.Fprintln(stderr, "qpc send: --ttl, --max-hops and --json are for --to")
		return exitUsage
	case *ttl < 0:
		fmt.Fprintln(stderr, "qpc send: --ttl must not be negative")
		return exitUsage
	case *maxHops > math.MaxUint8:
		fmt.Fprintf(stderr, "qpc send: --max-hops %d is more than %d\n", *maxHops, math.MaxUint8)
		return exitUsage
	}
	text := strings.Join(fs.Args(), " ")
	if fs.NArg() == 0 {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, sealed.MaxBodySize+1))
		if err != nil {
			fmt.Fprintf(stderr, "qpc send: reading stdin: %v\n", err)
			return exitFailure
		}
		text = strings.TrimRight(string(b), "\n")
	}
	if text == "" {
		fmt.Fprintln(stderr, "qpc send: nothing to send")
		return exitUsage
	}
	if len(text) > sealed.MaxBodySize {
		fmt.Fprintf(stderr, "qpc send: message of more than %d bytes is too long\n", sealed.MaxBodySize)
		return exitUsage
	}
	ctx := context.Background()
	s, err := f.login(ctx, false)
	if err != nil {
		fmt.Fprintf(stderr, "qpc send: %v\n", err)
		return exitFailure
	}
	defer s.close()
	if *group != "" {
		return sendGroup(ctx, s, &f, *group, text, stdout, stderr)
	}
	// --timeout bounds the lookup and the enqueue too: a recipient on
	// another node may be behind a link that has just died.
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	failed := func(err error) int {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w within %s (sending to %s)", client.ErrNoAnswer, f.timeout, *to)
		}
		fmt.Fprintf(stderr, "qpc send: %v\n", err)
		return exitFailure
	}
	out, _, err := s.acct.Seal(ctx, *to, sealed.ContentText, []byte(text))
	if err != nil {
		return failed(err)
	}
	if err := s.remember(ctx, *to, f.stateDir); err != nil {
		fmt.Fprintf(stderr, "qpc send: keeping %s's keys for later: %v\n", *to, err)
	}
	out.TTL, out.MaxHops = *ttl, uint8(*maxHops)
	r, err := s.c.Enqueue(ctx, out)
	if err != nil {
		return failed(err)
	}
	printReceipt(stdout, out.Recipient, r, *asJSON)
	return exitOK
}

// sendJSON is what `qpc send --json` prints.
type sendJSON struct {
	Recipient        string `json:"recipient"`
	Seq              uint64 `json:"seq"`
	ServerTimeMillis int64  `json:"server_time_ms"`
	// MeshID and QueuedAt are set when the message went into the mesh.
	MeshID   string `json:"mesh_id,omitempty"`
	QueuedAt string `json:"queued_at,omitempty"`
}

// printReceipt says where a sent message is: in the recipient's mailbox,
// or queued in the mesh under an id to follow.
func printReceipt(w io.Writer, recipient string, r client.Receipt, asJSON bool) {
	queued := r.MeshID != (protocol.MeshID{})
	if asJSON {
		j := sendJSON{Recipient: recipient, Seq: r.Seq, ServerTimeMillis: r.ServerTime.UnixMilli()}
		if queued {
			j.MeshID, j.QueuedAt = hex.EncodeToString(r.MeshID[:]), r.QueuedAt
		}
		json.NewEncoder(w).Encode(j)
		return
	}
	if !queued {
		fmt.Fprintf(w, "sent to %s (seq %d)\n", recipient, r.Seq)
		return
	}
	id := hex.EncodeToString(r.MeshID[:])
	fmt.Fprintf(w, "queued in the mesh at %s (the recipient's node is not reachable now); id %s; follow it with: qpc mesh track %s\n",
		r.QueuedAt, id, id)
}

// recvJSON is one line of `qpc recv --json`.
type recvJSON struct {
	Seq      uint64    `json:"seq"`
	From     string    `json:"from,omitempty"`
	ID       string    `json:"id,omitempty"`
	Time     time.Time `json:"time,omitzero"`
	Text     string    `json:"text,omitempty"`
	Verified bool      `json:"verified"`
	Problem  string    `json:"problem,omitempty"`
}

// loadReplayCache opens the account's replay cache, so that Open drops
// copies of messages shown before.
func loadReplayCache(s *session, f *clientFlags) error {
	rc, err := client.LoadReplayCache(f.stateDir, s.cur.User, s.cur.Domain, s.exportKey)
	if err != nil {
		return err
	}
	s.acct.Replay = rc
	return nil
}

func printReceived(w io.Writer, r client.Received, asJSON bool) {
	if asJSON {
		j := recvJSON{Seq: r.Seq, From: r.From, Time: r.Time, Text: string(r.Body), Verified: r.Verified}
		if r.From != "" {
			j.ID = hex.EncodeToString(r.ID[:])
		}
		if r.Problem != nil {
			j.Problem = r.Problem.Error()
		}
		json.NewEncoder(w).Encode(j)
		return
	}
	switch {
	case r.From == "":
		fmt.Fprintf(w, "#%d  UNREADABLE message: %v\n", r.Seq, r.Problem)
	case errors.Is(r.Problem, client.ErrStaleMessage):
		fmt.Fprintf(w, "#%d  REFUSED message claiming to be from %s: %v\n", r.Seq, r.From, r.Problem)
	case !r.Verified:
		fmt.Fprintf(w, "[%s] %s (UNVERIFIED: %v): %s\n", r.Time.Local().Format("2006-01-02 15:04:05"), r.From, r.Problem, r.Body)
	default:
		fmt.Fprintf(w, "[%s] %s: %s\n", r.Time.Local().Format("2006-01-02 15:04:05"), r.From, r.Body)
	}
}

func runRecv(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("recv", "[--follow] [--json] [--group NAME]", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	follow := fs.Bool("follow", false, "keep running and print messages as they arrive (reconnects by itself)")
	asJSON := fs.Bool("json", false, "print one JSON object per message")
	group := fs.String("group", "", "print the new messages of this group of qpc repl (files every other message in the chat history, for qpc repl)")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		fmt.Fprintf(stderr, "qpc recv: %v\n", err)
		return exitUsage
	}
	if *group != "" && *follow {
		fmt.Fprintln(stderr, "qpc recv: --group does not --follow; qpc repl shows a group as it goes")
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := f.login(ctx, false)
	if err != nil {
		fmt.Fprintf(stderr, "qpc recv: %v\n", err)
		return exitFailure
	}
	if *group != "" {
		defer s.close()
		return recvGroup(ctx, s, &f, *group, *asJSON, stdout, stderr)
	}
	if *follow {
		if err := loadReplayCache(s, &f); err != nil {
			s.close()
			fmt.Fprintf(stderr, "qpc recv: %v\n", err)
			return exitFailure
		}
		return followMessages(ctx, s, &f, stdout, *asJSON)
	}
	defer s.close()
	if err := loadReplayCache(s, &f); err != nil {
		fmt.Fprintf(stderr, "qpc recv: %v\n", err)
		return exitFailure
	}
	total := 0
	chatMsgs := &chatFiler{s: s, f: &f, stderr: stderr}
	defer chatMsgs.close()
	for {
		msgs, err := s.c.Fetch(ctx, 0, 500)
		if err != nil {
			fmt.Fprintf(stderr, "qpc recv: %v\n", err)
			return exitFailure
		}
		if len(msgs) == 0 {
			break
		}
		handled, ferr := chatMsgs.handle(ctx, msgs, func(r client.Received) { printReceived(stdout, r, *asJSON) })
		// The ids go to disk before the messages leave the node, so
		// that a copy enqueued later is known for one.
		if err := s.acct.Replay.Save(); err != nil {
			fmt.Fprintf(stderr, "qpc recv: %v (the messages stay on the node)\n", err)
			return exitFailure
		}
		// Printed or filed, so safe to delete from the node.
		if handled > 0 {
			if _, err := s.c.Ack(ctx, handled); err != nil {
				fmt.Fprintf(stderr, "qpc recv: %v\n", err)
				return exitFailure
			}
		}
		if ferr != nil {
			fmt.Fprintf(stderr, "qpc recv: %v (it stays on the node)\n", ferr)
			return exitFailure
		}
		total += len(msgs)
	}
	if total == 0 && !*asJSON {
		fmt.Fprintln(stderr, "no new messages")
	}
	return exitOK
}

func followMessages(ctx context.Context, s *session, f *clientFlags, stdout io.Writer, asJSON bool) int {
	var mu sync.Mutex // one printer at a time
	chatMsgs := &chatFiler{s: s, f: f, stderr: os.Stderr}
	defer chatMsgs.close()
	o := s.followOptions(f, s.cur.Server, s.c)
	o.Connected = func(c *client.Client) { s.acct.Client = c }
	o.Handler = func(c *client.Client, msgs []protocol.Message) uint64 {
		mu.Lock()
		defer mu.Unlock()
		replayed := chatMsgs.replayed
		handled, err := chatMsgs.handle(ctx, msgs, func(r client.Received) { printReceived(stdout, r, asJSON) })
		if err != nil {
			fmt.Fprintf(f.stderr, "qpc recv: %v (it stays on the node)\n", err)
		}
		if n := chatMsgs.replayed - replayed; n > 0 {
			fmt.Fprintf(f.stderr, "qpc recv: %d replayed message(s) dropped\n", n)
		}
		if err := s.acct.Replay.Save(); err != nil {
			// Not acknowledged: they come again, and are shown again.
			fmt.Fprintf(f.stderr, "qpc recv: %v (the messages stay on the node)\n", err)
			return 0
		}
		return handled
	}
	o.Disconnected = func(err error, retry time.Duration) {
		fmt.Fprintf(f.stderr, "qpc recv: %v; reconnecting in %s\n", disconnectReason(err), retry.Round(10*time.Millisecond))
	}
	err := client.Follow(ctx, o)
	if err != nil {
		fmt.Fprintf(f.stderr, "qpc recv: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// followOptions are the options of client.Follow that connect s's account
// to server: first, when not nil, is the connection to use first (the one
// the session logged in on); later ones are dialed, resume the session,
// and log in again with the password when the node refuses it.
func (s *session) followOptions(f *clientFlags, server string, first *client.Client) client.FollowOptions {
	return client.FollowOptions{
		Dial: func(ctx context.Context) (*client.Client, error) {
			if c := first; c != nil {
				first = nil
				return c, nil
			}
			return f.dial(ctx, server)
		},
		Token: s.state.SessionToken,
		Login: func(ctx context.Context, c *client.Client) (client.Session, error) {
			sess, _, err := c.Login(ctx, opaqueConfig(), s.cur.Domain, s.cur.User, f.fixedPassword)
			return sess, err
		},
	}
}

// disconnectReason says why a followed connection ended; Follow gives nil
// when the connection closed after it worked.
func disconnectReason(err error) error {
	if err == nil {
		return errors.New("connection closed")
	}
	return err
}
