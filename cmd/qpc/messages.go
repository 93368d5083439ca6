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
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/protocol"
)

func runSend(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("send", "--to USER[@DOMAIN] | --group NAME [--ttl D] [--max-hops N] [--wait [--wait-timeout D]] [--json] [--file PATH | TEXT...]   (no TEXT: read stdin)\n\n"+
		"exit status: 0 sent (with --wait: delivered), 1 failed, 2 usage, 3 with --wait: sent but not delivered in time", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	to := fs.String("to", "", "recipient, user or user@domain (this or --group)")
	group := fs.String("group", "", "send to this group of qpc repl instead (MLS; an invitation is accepted by writing), or to the DM with this user when no group has the name")
	ttl := fs.Duration("ttl", 0, "how long the node keeps the message undelivered (default: the node's)")
	maxHops := fs.Uint("max-hops", 0, "if the recipient's node is not reachable and the message goes into the mesh, "+
		"the most federation hops it may take (0: the node's default; more than the node's maximum is capped at it)")
	asJSON := fs.Bool("json", false, "print the receipt as JSON")
	wait := fs.Bool("wait", false, "wait until the message is delivered (stored by the recipient's node, or a device of theirs has it); progress on stderr")
	file := fs.String("file", "", "send this file instead of a text: it is encrypted, uploaded to your node (resumed if an earlier run was interrupted; progress on stderr) and a reference to it sent")
	waitTimeout := fs.Duration("wait-timeout", 5*time.Minute, "with --wait, give up waiting after this long (exit status 3; the message keeps going)")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc send", err)
		return exitUsage
	}
	switch {
	case *to == "" && *group == "":
		fmt.Fprintln(stderr, "qpc send: --to or --group is required")
		return exitUsage
	case *to != "" && *group != "":
		fmt.Fprintln(stderr, "qpc send: give --to or --group, not both")
		return exitUsage
	case *group != "" && (*ttl != 0 || *maxHops != 0 || *asJSON || *wait):
		fmt.Fprintln(stderr, "qpc send: --ttl, --max-hops, --wait and --json are for --to")
		return exitUsage
	case *waitTimeout <= 0:
		fmt.Fprintln(stderr, "qpc send: --wait-timeout must be more than 0")
		return exitUsage
	case *ttl < 0:
		fmt.Fprintln(stderr, "qpc send: --ttl must not be negative")
		return exitUsage
	case *maxHops > math.MaxUint8:
		fmt.Fprintf(stderr, "qpc send: --max-hops %d is more than %d\n", *maxHops, math.MaxUint8)
		return exitUsage
	}
	if *file != "" && fs.NArg() > 0 {
		fmt.Fprintln(stderr, "qpc send: give --file or a TEXT, not both")
		return exitUsage
	}
	text := strings.Join(fs.Args(), " ")
	if *file != "" {
		if _, err := os.Stat(*file); err != nil {
			printErr(stderr, "qpc send", err)
			return exitUsage
		}
	} else if fs.NArg() == 0 {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, sealed.MaxBodySize+1))
		if err != nil {
			printErr(stderr, "qpc send: reading stdin", err)
			return exitFailure
		}
		text = strings.TrimRight(string(b), "\n")
	}
	if text == "" && *file == "" {
		fmt.Fprintln(stderr, "qpc send: nothing to send")
		return exitUsage
	}
	if len(text) > sealed.MaxBodySize {
		fmt.Fprintf(stderr, "qpc send: message of more than %d bytes is too long\n", sealed.MaxBodySize)
		return exitUsage
	}
	ctx := context.Background()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc send", err)
		return exitFailure
	}
	defer s.Close()
	if *file != "" {
		// The upload takes as long as it takes: --timeout bounds each
		// call, not the file.
		uctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		text, _, err = uploadFile(uctx, s.Client(), s.Current().Domain, f.stateDir, *file, stderr)
		stop()
		if err != nil {
			printErr(stderr, "qpc send", err)
			fmt.Fprintln(stderr, "qpc send: run the same command again to resume the upload")
			return exitFailure
		}
	}
	if *group != "" {
		return sendGroup(ctx, s, *group, text, stdout, stderr)
	}
	// --timeout bounds the lookup and the enqueue too: a recipient on
	// another node may be behind a link that has just died.
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	// The line goes into the one conversation with the recipient, in the
	// chat database the REPL shows (session.SendMessage).
	eng, err := openChat(ctx, s, stderr)
	if err != nil {
		printErr(stderr, "qpc send", fmt.Errorf("checking the key of %s among your contacts: %w", *to, err))
		return exitFailure
	}
	defer eng.Close()
	sent, err := s.SendMessage(ctx, eng, *to, text, session.SendOptions{TTL: *ttl, MaxHops: uint8(*maxHops)})
	if sent.ContactErr != nil {
		fmt.Fprintf(stderr, "qpc send: keeping %s's keys for later: %s\n", termtext.Safe(*to), sayError(sent.ContactErr))
	}
	if errors.Is(err, chat.ErrKeyChanged) {
		if *asJSON {
			j := sendJSON{Recipient: sent.Recipient, Refused: err.Error()}
			j.setKeyChange(sent.KeyChange)
			json.NewEncoder(stdout).Encode(j)
		}
		printErr(stderr, "qpc send", err)
		return exitFailure
	}
	if sent.KeyChange != nil && !*asJSON {
		fmt.Fprintf(stderr, "qpc send: %s\n", termtext.Safe(sent.KeyChange.String()))
	}
	for _, n := range sent.DeviceNotices {
		fmt.Fprintf(stderr, "qpc send: %s\n", termtext.Safe(n))
	}
	if errors.Is(err, session.ErrNotSent) {
		fmt.Fprintf(stderr, "qpc send: the node did not take the message; it stays in the outbox (queued) and leaves with the next qpc send, recv or repl\n")
		return exitFailure
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w within %s (sending to %s)", client.ErrNoAnswer, f.timeout, *to)
		}
		printErr(stderr, "qpc send", err)
		return exitFailure
	}
	if !*wait {
		printReceipt(stdout, sent, *asJSON)
		return exitOK
	}
	if !*asJSON {
		printReceipt(stdout, sent, false)
	}
	return waitDelivered(s, eng, &sent, *waitTimeout, *asJSON, stdout, stderr)
}

// exitNotDelivered is qpc send --wait's exit status when the message was
// sent but not delivered within --wait-timeout.
const exitNotDelivered = 3

// deliveryPoll is how often qpc send --wait asks the node about a message
// in the mesh.
const deliveryPoll = time.Second

// waitDelivered is qpc send --wait after the send: progress on stderr,
// the outcome in the exit status (and, with --json, the receipt with the
// state reached).
func waitDelivered(s *session.Session, eng *chat.Engine, sent *session.Sent, timeout time.Duration, asJSON bool, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	st, err := s.WaitDelivered(ctx, eng, sent.Conv, sent.Message.ID, deliveryPoll, func(st chatdb.Status) {
		if st < chatdb.StatusDelivered {
			fmt.Fprintf(stderr, "qpc send: %s; waiting until it is delivered (up to %s)\n", st, timeout)
		}
	})
	sent.Message.Status = st
	if asJSON {
		printReceipt(stdout, *sent, true)
	}
	if errors.Is(err, session.ErrNotDelivered) {
		fmt.Fprintf(stderr, "qpc send: not delivered within %s: the message is %s and keeps going\n", timeout, st)
		return exitNotDelivered
	}
	if err != nil {
		printErr(stderr, "qpc send", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "qpc send: %s\n", st)
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
	// State is where the message is: "queued", "sent", "delivered" or
	// "read" (chatdb.Status).
	State string `json:"state,omitempty"`
	keyChangeJSON
	// Refused says why nothing was sent: the recipient was verified under
	// another key (key_changed is then true).
	Refused string `json:"refused,omitempty"`
}

// keyChangeJSON is a change of a contact's account key in --json output:
// key_changed is always there; the safety numbers under the old and the
// new key when it is true.
type keyChangeJSON struct {
	KeyChanged      bool   `json:"key_changed"`
	OldSafetyNumber string `json:"old_safety_number,omitempty"`
	NewSafetyNumber string `json:"new_safety_number,omitempty"`
	// VerifiedContact is set when the contact was verified under the old
	// key: sending is refused until qpc verify --confirm.
	VerifiedContact bool `json:"verified_contact,omitempty"`
}

func (j *keyChangeJSON) setKeyChange(kc *chat.KeyChange) {
	if kc != nil {
		*j = keyChangeJSON{KeyChanged: true, OldSafetyNumber: kc.OldSafetyNumber, NewSafetyNumber: kc.NewSafetyNumber, VerifiedContact: kc.Verified}
	}
}

// printReceipt says where a sent message is: in the recipient's mailbox,
// or queued in the mesh under an id to follow.
func printReceipt(w io.Writer, sent session.Sent, asJSON bool) {
	r := sent.Receipt
	queued := r.MeshID != (protocol.MeshID{})
	if asJSON {
		j := sendJSON{Recipient: sent.Recipient, Seq: r.Seq, ServerTimeMillis: r.ServerTime.UnixMilli(), State: sent.Message.Status.String()}
		if queued {
			j.MeshID, j.QueuedAt = hex.EncodeToString(r.MeshID[:]), r.QueuedAt
		}
		j.setKeyChange(sent.KeyChange)
		json.NewEncoder(w).Encode(j)
		return
	}
	if !queued {
		if st := sent.Message.Status; st != chatdb.StatusNone {
			fmt.Fprintf(w, "sent to %s (seq %d): %s\n", sent.Recipient, r.Seq, st)
			return
		}
		fmt.Fprintf(w, "sent to %s (seq %d)\n", sent.Recipient, r.Seq)
		return
	}
	id := hex.EncodeToString(r.MeshID[:])
	fmt.Fprintf(w, "queued in the mesh at %s (the recipient's node is not reachable now); id %s; follow it with: qpc mesh track %s\n",
		r.QueuedAt, id, id)
}

// safeErr is an error's text fit for a terminal: errors about a received
// message quote what its sender wrote (a name, a domain).
func safeErr(err error) string {
	if err == nil {
		return ""
	}
	return termtext.Safe(err.Error())
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
	// SentTo is set on a copy of what another device of the account
	// sent: Text went to SentTo.
	SentTo string `json:"sent_to,omitempty"`
	// DeviceNotices are the devices the sender added or removed.
	DeviceNotices []string `json:"device_notices,omitempty"`
	// Synced is set on the contacts another device of the account sent
	// this one when it approved it.
	Synced bool `json:"synced,omitempty"`
	// System is set on a line about the DM with From (it started, a gap):
	// Text is that line, no message of theirs.
	System bool `json:"system,omitempty"`
	// File is set on a file line: Text is the reference, File what it
	// names.
	File *fileJSON `json:"file,omitempty"`
	keyChangeJSON
}

// printReceived prints one message; a change of its sender's account key
// comes first, as a line of its own (in --json, key_changed and the
// safety numbers).
func printReceived(w io.Writer, in session.Incoming, asJSON bool) {
	r := in.Received
	if _, ok, _ := fileOf(in); ok && !asJSON {
		// A file line reads as what it names; receiveFile saves it.
		r.Body = []byte(lineText(string(r.Body)))
	}
	if asJSON {
		j := recvJSON{Seq: r.Seq, From: r.From, Time: r.Time, Text: string(r.Body), Verified: r.Verified}
		if r.From != "" {
			j.ID = hex.EncodeToString(r.ID[:])
		}
		if r.Problem != nil {
			j.Problem = r.Problem.Error()
		}
		j.setKeyChange(in.KeyChange)
		j.DeviceNotices, j.Synced = in.DeviceNotices, in.Synced != nil
		if in.SentCopy != nil {
			j.SentTo, j.Text = in.SentCopy.To, string(in.SentCopy.Body)
		}
		if in.System != "" {
			j.System, j.Text, j.ID = true, in.System, ""
		}
		if ref, ok, err := fileOf(in); ok && err == nil {
			j.File = &fileJSON{Name: ref.Name, Size: ref.Size, MIME: ref.MIME}
		}
		json.NewEncoder(w).Encode(j)
		return
	}
	if in.KeyChange != nil {
		fmt.Fprintln(w, termtext.Safe(in.KeyChange.String()))
	}
	for _, n := range in.DeviceNotices {
		fmt.Fprintf(w, "-- %s\n", termtext.Safe(n))
	}
	switch {
	case in.System != "":
		fmt.Fprintf(w, "[%s] %s: -- %s --\n", r.Time.Local().Format("2006-01-02 15:04:05"), termtext.Safe(r.From), termtext.Safe(in.System))
	case in.Synced != nil:
		fmt.Fprintf(w, "-- from your device '%s': %d %s and %d %s added", termtext.Safe(in.Synced.From.Name),
			in.Synced.Contacts, plural(in.Synced.Contacts, "contact"), in.Synced.Channels, plural(in.Synced.Channels, "channel"))
		if in.Synced.AccountKey {
			fmt.Fprint(w, "; this device now holds the account key")
		}
		fmt.Fprintln(w)
	case in.SentCopy != nil && in.SentCopy.ContentType == sealed.ContentText:
		fmt.Fprintf(w, "[%s] → %s: %s\n", r.Time.Local().Format("2006-01-02 15:04:05"), termtext.Safe(in.SentCopy.To), termtext.Safe(lineText(string(in.SentCopy.Body))))
	case in.SentCopy != nil:
		fmt.Fprintf(w, "[%s] → %s: (content type %d, sent from your other device)\n", r.Time.Local().Format("2006-01-02 15:04:05"), termtext.Safe(in.SentCopy.To), in.SentCopy.ContentType)
	case r.From == "":
		fmt.Fprintf(w, "#%d  UNREADABLE message: %s\n", r.Seq, safeErr(r.Problem))
	case errors.Is(r.Problem, client.ErrStaleMessage):
		fmt.Fprintf(w, "#%d  REFUSED message claiming to be from %s: %s\n", r.Seq, termtext.Safe(r.From), safeErr(r.Problem))
	case !r.Verified:
		fmt.Fprintf(w, "[%s] %s (UNVERIFIED: %s): %s\n", r.Time.Local().Format("2006-01-02 15:04:05"), termtext.Safe(r.From), safeErr(r.Problem), termtext.Safe(string(r.Body)))
	default:
		fmt.Fprintf(w, "[%s] %s: %s\n", r.Time.Local().Format("2006-01-02 15:04:05"), termtext.Safe(r.From), termtext.Safe(string(r.Body)))
	}
}

func runRecv(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("recv", "[--follow] [--json] [--group NAME] [--save-dir DIR]", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	follow := fs.Bool("follow", false, "keep running and print messages as they arrive (reconnects by itself)")
	asJSON := fs.Bool("json", false, "print one JSON object per message")
	group := fs.String("group", "", "print the new lines of this group of qpc repl, or of the DM with this user when no group has the name (files every other message in the chat history, for qpc repl)")
	saveDir := fs.String("save-dir", "", "save every file received under this directory (never overwriting: a name that exists gets a suffix) and print where; resumed if interrupted")
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc recv", err)
		return exitUsage
	}
	if *group != "" && *follow {
		fmt.Fprintln(stderr, "qpc recv: --group does not --follow; qpc repl shows a group as it goes")
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := f.login(ctx)
	if err != nil {
		printErr(stderr, "qpc recv", err)
		return exitFailure
	}
	// The chat engine the inbox opens (when a message needs it), to
	// record where files went.
	var eng *chat.Engine
	var saver *fileSaver
	if *saveDir != "" {
		saver = &fileSaver{ctx: ctx, c: func() *client.Client { return s.Account().Client }, dir: *saveDir, stdout: stdout, stderr: stderr,
			eng: func() *chat.Engine { return eng }}
	}
	show := func(r session.Incoming) {
		printReceived(stdout, r, *asJSON)
		receiveFile(r, saver, *asJSON, stdout, stderr)
	}
	if *group != "" {
		defer s.Close()
		return recvGroup(ctx, s, *group, *asJSON, saver, stdout, stderr)
	}
	if err := s.OpenReplayCache(); err != nil {
		s.Close()
		printErr(stderr, "qpc recv", err)
		return exitFailure
	}
	if *follow {
		// Follow hangs up the first connection, the session's, itself.
		var retry func()
		if saver != nil {
			retry = func() {
				e, err := openChat(ctx, s, stderr)
				if err != nil {
					fmt.Fprintf(stderr, "qpc recv: the files waiting for their sender's node: %s\n", sayError(err))
					return
				}
				defer e.Close()
				saver.retryPending(e, *asJSON)
			}
		}
		return followMessages(ctx, s, &f, show, func(e *chat.Engine) {
			eng = e
			watchChanges(e, stdout, *asJSON)
		}, retry)
	}
	defer s.Close()
	if saver != nil {
		// Files that waited for their sender's node come first, before
		// new messages; the engine opened for it is the inbox's.
		e, err := openChat(ctx, s, stderr)
		if err != nil {
			printErr(stderr, "qpc recv", err)
			return exitFailure
		}
		eng = e
		watchChanges(e, stdout, *asJSON)
		saver.retryPending(e, *asJSON)
	}
	in := s.Inbox(func(ctx context.Context) (*chat.Engine, error) {
		if eng != nil {
			return eng, nil
		}
		e, err := openChat(ctx, s, stderr)
		eng = e
		watchChanges(e, stdout, *asJSON)
		return e, err
	})
	defer closeInbox(in, stderr)
	total, err := s.Receive(ctx, in, show)
	if err != nil {
		printErr(stderr, "qpc recv", err)
		return exitFailure
	}
	if total == 0 && !*asJSON {
		fmt.Fprintln(stderr, "no new messages")
	}
	return exitOK
}

// followMessages is qpc recv --follow; setEng hears of each chat engine
// the follower opens, so that show can record pending files in it.
// retry, when not nil, tries the pending file downloads again: at every
// (re)connection and every pendingRetry.
// pendingRetry is how often qpc recv --follow --save-dir tries again the
// files whose sender's node was out of reach.
const pendingRetry = 30 * time.Second

func followMessages(ctx context.Context, s *session.Session, f *clientFlags, show func(session.Incoming), setEng func(*chat.Engine), retry func()) int {
	var mu sync.Mutex // one printer at a time
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	if retry != nil {
		go func() {
			t := time.NewTicker(pendingRetry)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				case <-kick:
				}
				// Between batches the chat database is free: the
				// handler releases it, and mu keeps it out meanwhile.
				mu.Lock()
				retry()
				mu.Unlock()
			}
		}()
	}
	in := s.Inbox(func(ctx context.Context) (*chat.Engine, error) {
		e, err := openChat(ctx, s, os.Stderr)
		setEng(e)
		return e, err
	})
	defer closeInbox(in, os.Stderr)
	o := s.FollowOptions(s.Current().Server, s.Client())
	o.Connected = func(c *client.Client) {
		s.Account().Client = c
		poke() // a connection back may mean a route back
	}
	o.Handler = func(c *client.Client, msgs []protocol.Message) uint64 {
		mu.Lock()
		defer mu.Unlock()
		replayed := in.Replayed
		handled, err := in.Handle(ctx, msgs, show)
		if err != nil {
			fmt.Fprintf(f.stderr, "qpc recv: %s (it stays on the node)\n", sayError(err))
		}
		// The chat database is free for qpc send and the like until the
		// next messages come.
		in.Release()
		if n := in.Replayed - replayed; n > 0 {
			fmt.Fprintf(f.stderr, "qpc recv: %d replayed message(s) dropped\n", n)
		}
		if err := s.Account().Replay.Save(); err != nil {
			// Not acknowledged: they come again, and are shown again.
			fmt.Fprintf(f.stderr, "qpc recv: %s (the messages stay on the node)\n", sayError(err))
			return 0
		}
		return handled
	}
	o.Disconnected = func(err error, retry time.Duration) {
		fmt.Fprintf(f.stderr, "qpc recv: %s; reconnecting in %s\n", sayError(err), retry.Round(10*time.Millisecond))
	}
	err := client.Follow(ctx, o)
	if err != nil {
		printErr(f.stderr, "qpc recv", err)
		return exitFailure
	}
	return exitOK
}
