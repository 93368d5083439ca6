package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
	"github.com/quicprochat/qpc/protocol"
	"github.com/quicprochat/qpc/schemas"
)

// Every wire error code a node can answer with reads as a sentence of
// ours, never as the chain the client and the node wrapped it in.
func TestEveryErrorCodeReadsAsASentenceWithoutTheInternalChain(t *testing.T) {
	seen := 0
	for code := schemas.ErrorCode(1); code < 256; code++ {
		cause := protocol.ErrorOf(code)
		if cause == protocol.ErrInternal && code != schemas.ErrorCode_internal {
			continue // not a code of the schema
		}
		seen++
		remote := &protocol.RemoteError{Code: code, Message: "store: keys: " + cause.Error() + ": user name too long"}
		err := fmt.Errorf("resolve nosuchuser: lookup: %w", remote)
		say := sayError(err)
		i := slices.IndexFunc(userErrors, func(u userError) bool { return errors.Is(err, u.cause) })
		nodeWords := i >= 0 && userErrors[i].nodeWords
		if strings.Contains(say, "resolve nosuchuser") || strings.Contains(say, "lookup:") || !nodeWords && strings.Contains(say, "store: keys") {
			t.Errorf("code %s reads %q: the internal chain shows", code, say)
		}
		if code == schemas.ErrorCode_badRequest {
			if say != "the node refused the request: user name too long" {
				t.Errorf("bad request reads %q", say)
			}
			continue
		}
		if i < 0 || !strings.HasPrefix(say, userErrors[i].say) || nodeWords != (say != userErrors[i].say) {
			t.Errorf("code %s has no sentence of its own: %q", code, say)
		}
	}
	if seen < 29 {
		t.Errorf("walked %d codes; the schema has at least 29", seen)
	}
}

func TestErrorsSayWhatHappenedAndTheChainOnlyUnderDebug(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"an unknown user", fmt.Errorf("resolve nosuchuser: %w", fmt.Errorf("store: keys: %w", protocol.ErrUnknownUser)), "no such user on that node"},
		{"an unknown domain", fmt.Errorf("%w: %w: no federation peer serves gamma.mesh", protocol.ErrUnknownDomain, protocol.ErrNoLink), "unknown domain"},
		{"a node that does not answer", fmt.Errorf("%w within 10s", client.ErrNoAnswer), "no answer from node"},
		{"rate limited", &protocol.RemoteError{Code: schemas.ErrorCode_rateLimited, Message: "rate limited; slow down"}, "rate limited"},
		{"a full mailbox", &protocol.RemoteError{Code: schemas.ErrorCode_mailboxFull, Message: "x"}, "mailbox is full"},
		{"keys missing from the log", fmt.Errorf("resolve: %w", client.ErrKeyNotInLog), "not in the node's key transparency log"},
		{"a log that contradicts itself", fmt.Errorf("x: %w", client.ErrLogInconsistent), "contradicts what it showed before"},
		{"a head signed by someone else", fmt.Errorf("x: %w", client.ErrHeadSigner), "not signed by the node's own key"},
		{"a refusal names whose keys", &client.KeyRefusedError{Address: "alice@n1.mesh", Domain: "n1.mesh", Err: client.ErrKeyNotInLog},
			"the keys of alice@n1.mesh from node n1.mesh were REFUSED"},
		{"a reason of ours stays", errors.New("--timeout must be positive"), "--timeout must be positive"},
		{"a bad request of ours keeps its reason", fmt.Errorf("--domain: %w: %q is not a domain", protocol.ErrBadRequest, "a b"), `--domain: bad request: "a b" is not a domain`},
		{"an error quoting hostile text is made safe", fmt.Errorf("bad name %q", "\x1b[2J"), `bad name "\x1b[2J"`},
		{"raw hostile text in an error is made safe", errors.New("node says \x1b]0;x\x07"), "node says \ufffd]0;x\ufffd"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			debugErrors = false
			printErr(&b, "qpc send", tt.err)
			if got := b.String(); !strings.HasPrefix(got, "qpc send: ") || !strings.Contains(got, tt.want) || strings.Count(got, "\n") != 1 {
				t.Errorf("printErr(%v) = %q, want one line with %q", tt.err, got, tt.want)
			}
			b.Reset()
			debugErrors = true
			defer func() { debugErrors = false }()
			printErr(&b, "qpc send", tt.err)
			if sayError(tt.err) != termtext.Safe(tt.err.Error()) && !strings.Contains(b.String(), "(--debug) ") {
				t.Errorf("with --debug, printErr(%v) = %q, want the chain too", tt.err, b.String())
			}
		})
	}
}
