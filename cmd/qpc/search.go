//go:build !router

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// qpc search (issue 30): the REPL's /search, one-shot. It reads the chat
// database of the account on this machine. Search is local: where this
// machine keeps the account's offline key (a REPL ran here), it opens the
// account from this machine alone, as the REPL starts offline, and asks
// the node nothing, so it works with no node reachable; otherwise it logs
// in and reads what waits in the mailbox first.

func runSearch(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("search", "[--conversation C] [--limit N] [--json] WORDS...\n\n"+
		"Lists the lines of your conversations (of C alone: @user or #group) that hold every word, case ignored,\n"+
		"the newest first. The history is read from the encrypted chat database; nothing of the search is written.\n"+
		"It needs no node where qpc repl ran once (it opens the account from this machine, and searches what\n"+
		"this machine holds: qpc recv first for the newest); elsewhere it logs in and reads the mailbox first.", stderr)
	var f clientFlags
	f.bind(fs, stderr, true)
	conv := fs.String("conversation", "", "search this conversation only: @user or #group")
	limit := fs.Int("limit", 50, "show at most this many lines, the newest (0: all)")
	asJSON := fs.Bool("json", false, `print {"hits":[...]}, one JSON object`)
	if err := parseFlags(fs, args); err != nil {
		return parseError(err)
	}
	if err := f.check(); err != nil {
		printErr(stderr, "qpc search", err)
		return exitUsage
	}
	query := strings.Join(fs.Args(), " ")
	switch {
	case strings.TrimSpace(query) == "":
		fmt.Fprintln(stderr, "qpc search: WORDS are required")
		return exitUsage
	case *limit < 0:
		fmt.Fprintln(stderr, "qpc search: --limit must not be negative")
		return exitUsage
	}
	fail := func(err error) int {
		printErr(stderr, "qpc search", err)
		if *asJSON {
			json.NewEncoder(stdout).Encode(map[string]string{"error": sayError(err)})
		}
		return exitFailure
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	s, offline, err := f.openLocal(ctx)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	var eng *chat.Engine
	if offline {
		eng, err = s.OpenChat(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	} else {
		eng, err = openChat(ctx, s, stderr)
	}
	if err != nil {
		return fail(err)
	}
	defer eng.Close()
	if !offline {
		// The lines that wait on the node are history too.
		if _, err := s.SyncMailbox(ctx, eng); err != nil {
			return fail(fmt.Errorf("reading the mailbox: %w", err))
		}
	}
	var in *chatdb.ConvID
	if *conv != "" {
		c, err := eng.Find(*conv)
		if err != nil {
			return fail(err)
		}
		in = &c.ID
	}
	hits, err := eng.Search(query, in, *limit)
	if err != nil {
		return fail(err)
	}
	if *asJSON {
		out := struct {
			Hits []lineJSON `json:"hits"`
		}{Hits: []lineJSON{}}
		for _, h := range hits {
			out.Hits = append(out.Hits, toLineJSON(h.Label, h.Message))
		}
		json.NewEncoder(stdout).Encode(out)
		return exitOK
	}
	if len(hits) == 0 {
		fmt.Fprintln(stdout, "nothing found")
		return exitOK
	}
	rows := [][]string{{"CONVERSATION", "#", "TIME", "FROM", "TEXT"}}
	for _, h := range hits {
		m := h.Message
		text := m.Text
		if !m.Edited.IsZero() {
			text += " (edited)"
		}
		// Table makes every cell safe to print (termtext.Line).
		rows = append(rows, []string{h.Label, strconv.FormatUint(m.Seq, 10), m.Time.Local().Format("2006-01-02 15:04"), m.From, text})
	}
	var b bytes.Buffer
	termtext.Table(&b, rows)
	stdout.Write(b.Bytes())
	return exitOK
}

// openLocal opens the account for a command that reads this machine's
// state alone: from this machine (session.OpenOffline, no connection;
// offline true) where it keeps the account's offline key, else by a
// login. An account of this machine without the key whose node does not
// answer gets client.ErrNoOfflineKey, which says how to get one.
func (f *clientFlags) openLocal(ctx context.Context) (s *session.Session, offline bool, err error) {
	cur, cerr := f.resolveAccount()
	if cerr == nil && session.CanOpenOffline(f.sessionConfig(), cur) {
		s, err := session.OpenOffline(f.sessionConfig(), cur)
		return s, true, err
	}
	s, err = f.login(ctx)
	if errors.Is(err, client.ErrNoAnswer) && cerr == nil && client.HasState(f.stateDir, cur.User, cur.Domain) {
		return nil, false, fmt.Errorf("%w (%v)", client.ErrNoOfflineKey, err)
	}
	return s, false, err
}
