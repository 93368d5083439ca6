//go:build !router

package main

import (
	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chat"
)

// What blocking and reporting meet (docs/blocking.md).
func init() {
	userErrors = append(userErrors,
		userError{cause: chat.ErrBlockSelf, say: "you cannot block yourself"},
		userError{cause: chat.ErrBlockListFull, say: "the block list is full; unblock someone first (qpc block --remove)"},
		userError{cause: client.ErrNoDenyList, say: "your node keeps no deny lists (it is older than them); your devices still drop what blocked accounts send"},
		userError{cause: client.ErrNoReports, say: "your node takes no reports: it publishes no report key (it is older than reports)"},
		userError{cause: chat.ErrNoSuchMessage, say: "there is no message of someone else's with that number in the conversation: qpc repl's /history shows the numbers (#N)"},
	)
}
