//go:build !router

package main

import (
	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/session"
	"github.com/quicprochat/qpc/crypto/attest"
)

// The session package is in the laptop build only.
func init() {
	wordedErrors = append(wordedErrors, wordedAs[*session.RevokedError], wordedAs[*session.NotADeviceError],
		// Who signed the swapped keys, for whom: what to tell the admin.
		wordedAs[*attest.ForgedError])
	userErrors = append(userErrors,
		userError{cause: session.ErrNotSent, say: "the node did not take the message: it stays queued in the outbox and leaves with the next qpc send, recv or repl"},
		userError{cause: client.ErrOffline, say: "not connected to the node yet: the REPL is offline; try again once it says online"},
		userError{cause: client.ErrNoOfflineKey, say: "the node is not reachable, and this machine cannot open the account without it yet: start qpc repl once with the node reachable"},
		userError{cause: client.ErrBadOfflineKey, say: "the file that opens this account offline is damaged: delete <address>.offline in the state directory; the next start with the node reachable writes it again"},
		userError{cause: session.ErrNotDelivered, say: "not delivered yet: the message is on its way and keeps going; qpc mesh track follows one in the mesh"},
	)
}
