//go:build !router

package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/chat"
)

func TestEveryEditAndSearchErrorReadsAsItsOwnSentence(t *testing.T) {
	seen := map[string]error{}
	for _, cause := range []error{chat.ErrNotOwnLine, chat.ErrNoLine, chat.ErrLineDeleted, chat.ErrEmptyQuery} {
		say := sayError(fmt.Errorf("line 7 of @bob: %w", cause))
		if strings.Contains(say, "line 7 of @bob") || say == cause.Error() {
			t.Errorf("%v reads %q: no sentence of its own", cause, say)
		}
		if other, ok := seen[say]; ok {
			t.Errorf("%v and %v read the same: %q", cause, other, say)
		}
		seen[say] = cause
	}
}
