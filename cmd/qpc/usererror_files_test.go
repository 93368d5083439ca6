//go:build !router

package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/files"
)

func TestEveryFileErrorReadsAsItsOwnSentence(t *testing.T) {
	seen := map[string]error{}
	for _, cause := range []error{files.ErrTampered, files.ErrWrongKey, files.ErrTruncated, files.ErrIncomplete,
		files.ErrFileChanged, files.ErrTooLarge, files.ErrBadReference, files.ErrReferenceVersion, files.ErrBadState,
		files.ErrNoFreeName, chat.ErrFileLine, chat.ErrPendingFull, chat.ErrPendingFiles} {
		err := fmt.Errorf("chunk 7: %w", cause)
		say := sayError(err)
		if strings.Contains(say, "chunk 7") || say == cause.Error() {
			t.Errorf("%v reads %q: no sentence of its own", cause, say)
		}
		if other, ok := seen[say]; ok && !errors.Is(cause, other) {
			t.Errorf("%v and %v read the same: %q", cause, other, say)
		}
		seen[say] = cause
	}
}
