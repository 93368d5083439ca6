package protocol

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/schemas"
)

func TestEveryNodeErrorCrossesTheWireAndComesBackAsItself(t *testing.T) {
	for _, c := range codes {
		wrapped := fmt.Errorf("context: %w", c.err)
		if got := CodeOf(wrapped); got != c.code {
			t.Errorf("CodeOf(%v) = %v, want %v", c.err, got, c.code)
		}
		// The exception's reason, as the capnp library prefixes it.
		back := FromException(errors.New("node.capnp:NodeService.enqueue: " + Exception(wrapped).Error()))
		var re *RemoteError
		if !errors.As(back, &re) || re.Code != c.code {
			t.Fatalf("%v came back as %v", c.err, back)
		}
		if want := ErrorOf(c.code); !errors.Is(back, want) {
			t.Errorf("%v: errors.Is(%v, %v) is false", c.err, back, want)
		}
	}
}

func TestInternalErrorsAreNotDetailedToClients(t *testing.T) {
	err := Exception(errors.New("open /var/secret/path: permission denied"))
	if strings.Contains(err.Error(), "secret") || CodeOf(err) != schemas.ErrorCode_internal {
		t.Errorf("internal error leaked: %v", err)
	}
	if !errors.Is(FromException(err), ErrInternal) {
		t.Errorf("internal error did not map back to ErrInternal: %v", FromException(err))
	}
}

func TestErrorsWithoutTheQPCPrefixPassThrough(t *testing.T) {
	orig := errors.New("rpc: connection closed")
	if got := FromException(orig); got != orig {
		t.Errorf("FromException changed %v into %v", orig, got)
	}
	if FromException(nil) != nil || CodeOf(nil) != schemas.ErrorCode_none || ErrorOf(schemas.ErrorCode_none) != nil {
		t.Error("nil does not map to none")
	}
	if got := FromException(errors.New("x qpc:noSuchCode: y")); errors.As(got, new(*RemoteError)) {
		t.Errorf("an unknown code was accepted: %v", got)
	}
}

// FuzzFromException feeds arbitrary exception reasons, as a hostile node
// could send, to the client's decoder: it must never panic, and whatever it
// recognises must map to a known code.
func FuzzFromException(f *testing.F) {
	for _, c := range codes {
		f.Add(Exception(c.err).Error())
	}
	f.Add("qpc:")
	f.Add("qpc:mailboxFull")
	f.Add("xx qpc:none: ")
	f.Fuzz(func(t *testing.T, reason string) {
		err := FromException(errors.New(reason))
		var re *RemoteError
		if errors.As(err, &re) && re.Code != schemas.ErrorCode_none && ErrorOf(re.Code) == nil {
			t.Errorf("code %v maps to no error", re.Code)
		}
	})
}
