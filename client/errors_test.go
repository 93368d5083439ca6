package client

import (
	"errors"
	"strings"
	"testing"
)

func TestANodesCloseReasonIsShownOnOneLineWithoutControlCharacters(t *testing.T) {
	e := &ClosedByNodeError{Code: 3, Reason: "too many\x1b[2J connections\nfrom\x07 here" + strings.Repeat("x", 300)}
	got := e.Error()
	if strings.ContainsAny(got, "\x1b\n\x07") || len(got) > len(ErrClosedByNode.Error())+2+200 {
		t.Errorf("close reason shown as %q", got)
	}
	if !strings.HasPrefix(got, "the node closed the connection: too many[2J connectionsfrom here") || !errors.Is(e, ErrClosedByNode) {
		t.Errorf("close reason shown as %q", got)
	}
	if got := (&ClosedByNodeError{Code: 6}).Error(); got != "the node closed the connection (code 6)" {
		t.Errorf("without a reason: %q", got)
	}
}
