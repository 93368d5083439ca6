//go:build !router

package main

import "github.com/quicprochat/qpc/client/chat"

// What qpc edit, qpc delete and qpc search (and the REPL's /edit, /delete,
// /search) can meet, in a person's words.
func init() {
	userErrors = append(userErrors,
		userError{cause: chat.ErrNotOwnLine, say: "that line is not yours: only your own messages can be edited or deleted"},
		userError{cause: chat.ErrNoLine, say: "no line of that number in the conversation: qpc search --json or /history in qpc repl show the numbers"},
		userError{cause: chat.ErrLineDeleted, say: "that message was deleted: there is nothing left to edit or delete"},
		userError{cause: chat.ErrEmptyQuery, say: "nothing to search for: give one or more words"},
	)
}
