//go:build !router

package main

import (
	"fmt"
	"io"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/client/session"
)

// readBlockList returns the account's block list for qpc channel recv,
// whose posts by blocked accounts are dropped (docs/blocking.md): from the
// REPL's open chat database when the REPL runs the command, else read from
// the database, which is opened and closed again at once. When it cannot
// be read (another qpc has it open), that is said and nothing is dropped:
// a channel is read by many, and the posts are marked with their authors.
func (r channelRunner) readBlockList(s *session.Session, stderr io.Writer) chatdb.BlockList {
	read := r.blockList
	if read == nil {
		eng, err := s.OpenChat(nil)
		if err != nil {
			fmt.Fprintf(stderr, "qpc channel recv: your block list is not applied: %s\n", sayError(err))
			return chatdb.BlockList{}
		}
		defer eng.Close()
		read = eng.BlockList
	}
	l, err := read()
	if err != nil {
		fmt.Fprintf(stderr, "qpc channel recv: your block list is not applied: %s\n", sayError(err))
	}
	return l
}
