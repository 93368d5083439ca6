//go:build !router

package main

import (
	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/files"
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
		// Files (docs/files.md): what a transfer met, and what to do.
		userError{cause: files.ErrTampered, say: "the file was altered on the way (a piece does not match what the sender uploaded); nothing was saved. A node between you and the sender changed it"},
		userError{cause: files.ErrWrongKey, say: "the file does not open with the key its sender sent; nothing was saved. Ask the sender to send it again"},
		userError{cause: files.ErrTruncated, say: "the file on the node is cut short or longer than its sender said; nothing was saved. Ask the sender to send it again"},
		userError{cause: files.ErrIncomplete, say: "the sender has not finished uploading the file; try again later"},
		userError{cause: files.ErrFileChanged, say: "the file changed while it was being uploaded; run the command again to send it as it is now"},
		userError{cause: files.ErrTooLarge, say: "the file is too large to send"},
		userError{cause: files.ErrBadReference, say: "the file's reference in the message is malformed; it cannot be fetched"},
		userError{cause: files.ErrReferenceVersion, say: "the file was sent by a newer qpc; update qpc to fetch it"},
		userError{cause: files.ErrBadState, say: "the saved state of an interrupted transfer is damaged; delete the .qpcpart files (or the files folder in the state directory) and try again"},
		userError{cause: files.ErrNoFreeName, say: "every name to save the file under is taken in that directory; choose another one"},
		userError{cause: chat.ErrFileLine, say: "the message's file reference is malformed; it cannot be fetched"},
		userError{cause: chat.ErrPendingFull, say: "too many files already wait for their sender's node; this one stays in the conversation for /download in qpc repl"},
		userError{cause: chat.ErrPendingFiles, say: "the record of files waiting for their sender's node is damaged in the chat database; the files stay in their conversations for /download in qpc repl"},
		// The account as a whole (docs/accounts.md).
		userError{cause: session.ErrPasswordChangedElsewhere, say: "the account's password was changed on another device, and this machine keeps its data sealed under the old one: give the old password in $QPC_OLD_PASSWORD, or type it at the prompt. If qpc repl never ran here (it keeps the key that the old password opens), the data cannot be opened: qpc account forget, then qpc device link make this machine a device again"},
		userError{cause: session.ErrPasswordUnchanged, say: "the new password is the current one; nothing changed"},
		userError{cause: client.ErrBadDataKeyFile, say: "the file that opens this account's data after a password change is damaged (<address>.datakey in the state directory); this machine cannot open the account: qpc account forget, then qpc device link"},
		userError{cause: client.ErrDataKeyTooNew, say: "this account's data on this machine was written by a newer qpc; update qpc"},
		userError{cause: errNotConfirmed, say: "not confirmed: what was typed is not the account's address; nothing was deleted"},
		userError{cause: session.ErrNotDelivered, say: "not delivered yet: the message is on its way and keeps going; qpc mesh track follows one in the mesh"},
	)
}
