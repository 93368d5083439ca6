//go:build !router

package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client"
)

func TestTheErrorsOfAnAccountOpenedOfflineReadAsSentences(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("resolve bob: %w", client.ErrOffline), "the REPL is offline"},
		{fmt.Errorf("alice@x: %w", client.ErrNoOfflineKey), "start qpc repl once with the node reachable"},
		{fmt.Errorf("%w: version 9", client.ErrBadOfflineKey), "is damaged"},
	} {
		var b bytes.Buffer
		printErr(&b, "qpc repl", tt.err)
		if got := b.String(); !strings.Contains(got, tt.want) || strings.Contains(got, tt.err.Error()) {
			t.Errorf("printErr(%v) = %q, want %q without the chain", tt.err, got, tt.want)
		}
	}
}
