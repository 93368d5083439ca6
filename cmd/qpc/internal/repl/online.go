package repl

import "github.com/quicprochat/qpc/cmd/qpc/internal/termtext"

// The prompt says where the REPL is ("[#friends] > ") and, while the
// account is not connected to its node, that it is offline ("[#friends]
// (offline) > "): what is typed then waits in the outbox. The Follower
// tells the REPL when that changes (SetOnline); a status line printed at
// the same moment redraws the prompt.

// SetOnline tells the REPL whether the account is connected to its node,
// which the prompt shows. It may be called from any goroutine.
func (r *REPL) SetOnline(online bool) {
	r.promptMu.Lock()
	defer r.promptMu.Unlock()
	r.offline = !online
	r.showPrompt()
	if online {
		r.kickPending() // a connection back may mean a route back
	}
}

// setPrompt shows label, the current conversation, in the prompt.
func (r *REPL) setPrompt(label string) {
	r.promptMu.Lock()
	defer r.promptMu.Unlock()
	r.promptLabel = label
	r.showPrompt()
}

// showPrompt sets the prompt; promptMu is held, so that a label and an
// online state set at once cannot overtake each other.
func (r *REPL) showPrompt() {
	p := "[" + termtext.Safe(r.promptLabel) + "] > "
	if r.offline {
		p = "[" + termtext.Safe(r.promptLabel) + "] (offline) > "
	}
	r.io.SetPrompt(p)
}
