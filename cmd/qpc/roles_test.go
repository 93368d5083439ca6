//go:build !router

package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/crypto/mls"
)

func TestRoleRefusalsReadAsSentences(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"a member who is not an admin", fmt.Errorf("#team: %w", chat.ErrNotAdmin), "only an admin of the group can do this"},
		{"demoted meanwhile", fmt.Errorf("%w: bob@a is %w: only admins remove others", mls.ErrPolicy, mls.ErrNotAdmin), "only an admin of the group can do this"},
		{"the last admin", fmt.Errorf("#team: %w", chat.ErrLastAdmin), "promote another member first"},
		{"an admin already", fmt.Errorf("bob: %w", chat.ErrAlreadyAdmin), "an admin already"},
		{"not an admin to demote", fmt.Errorf("bob: %w", chat.ErrNotAnAdmin), "that member is not an admin"},
		{"a group without roles", fmt.Errorf("#old: %w", chat.ErrNoRoles), "this group has no roles"},
		{"an invitee whose qpc is too old", fmt.Errorf("%w: leaf 4294967295 lacks the group context extensions", mls.ErrCapabilities), "need to update qpc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printErr(&b, "qpc group", tt.err)
			if got := b.String(); !strings.Contains(got, tt.want) || strings.Count(got, "\n") != 1 {
				t.Errorf("printErr(%v) = %q, want one line with %q", tt.err, got, tt.want)
			}
		})
	}
}
