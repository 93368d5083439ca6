package client

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"capnproto.org/go/capnp/v3/exc"
	"github.com/quic-go/quic-go"

	"github.com/quicprochat/qpc/transport"
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

func TestHowAConnectionEndedSaysWhetherTheNodeClosedIt(t *testing.T) {
	busy := &quic.ApplicationError{Remote: true, ErrorCode: transport.CodeBusy, ErrorMessage: "too many connections from this address"}
	tests := []struct {
		name       string
		cause      error
		want       *ClosedByNodeError // nil: not the node's doing
		wantQUIC   bool
		wantReason string
	}{
		{"the node's close, as a dial that lost the race to it returns it", fmt.Errorf("connect: %w", busy),
			&ClosedByNodeError{Code: uint64(transport.CodeBusy)}, false, "too many connections from this address"},
		{"this side's own close is not the node's", &quic.ApplicationError{ErrorCode: transport.CodeNormal}, nil, false, ""},
		{"the node's QUIC stack refusing after the handshake is a busy node", &quic.TransportError{Remote: true, ErrorCode: quic.ConnectionRefused},
			&ClosedByNodeError{Code: uint64(transport.CodeBusy)}, true, "refused by the node's QUIC stack: busy"},
		{"another QUIC error of the node's is not a refusal", &quic.TransportError{Remote: true, ErrorCode: quic.ProtocolViolation}, nil, false, ""},
		{"a refusal this side's stack made is not the node's", &quic.TransportError{ErrorCode: quic.ConnectionRefused}, nil, false, ""},
		{"an idle timeout is not the node's doing", &quic.IdleTimeoutError{}, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := closedByNodeCause(tt.cause)
			switch {
			case tt.want == nil && got != nil:
				t.Errorf("closedByNodeCause = %v, want nil", got)
			case tt.want != nil && got == nil:
				t.Errorf("closedByNodeCause = nil, want code %d", tt.want.Code)
			case got != nil && (got.Code != tt.want.Code || got.QUIC != tt.wantQUIC || got.Reason != tt.wantReason):
				t.Errorf("closedByNodeCause = %+v, want code %d, QUIC %v, reason %q", got, tt.want.Code, tt.wantQUIC, tt.wantReason)
			}
		})
	}
}

func TestACallCutWhileItWasSentSaysWhyTheNodeClosedTheConnection(t *testing.T) {
	// What capnp's RPC returns when the stream write of a call fails
	// because the node has just closed the connection: a failed send, not
	// a disconnect, whose cause is the node's close.
	busy := &quic.ApplicationError{Remote: true, ErrorCode: transport.CodeBusy, ErrorMessage: "too many connections from this address"}
	sendErr := exc.Annotator("rpc").WrapFailed("send message", fmt.Errorf("encode: %w", busy))
	err := (&Client{}).callErr("health", sendErr)
	var closed *ClosedByNodeError
	if !errors.As(err, &closed) || closed.Reason != busy.ErrorMessage || closed.Code != uint64(transport.CodeBusy) {
		t.Errorf("callErr = %v, want the node's close", err)
	}
}
