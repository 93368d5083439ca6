package repl

import (
	"context"
	"fmt"
	"strings"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/cmd/qpc/internal/termtext"
)

// Roles is the part of the engine that knows a group's roles (issue 30):
// who its admins are, and promoting and demoting them.
type Roles interface {
	MemberRoles(conv chatdb.ConvID) ([]chat.MemberRole, bool, error)
	Promote(ctx context.Context, conv chatdb.ConvID, user string) error
	Demote(ctx context.Context, conv chatdb.ConvID, user string) error
}

var _ Roles = (*chat.Engine)(nil)

func (r *REPL) cmdPromote(ctx context.Context, args []string) error {
	return r.changeMembers(ctx, "promote", args[0], r.eng.Promote, "made %s an admin of %s")
}

func (r *REPL) cmdDemote(ctx context.Context, args []string) error {
	return r.changeMembers(ctx, "demote", args[0], r.eng.Demote, "made %s no longer an admin of %s")
}

// admins says who the admins of c are, for /members: "; admin: alice"
// ("" for a conversation without roles, such as a DM).
func (r *REPL) admins(c chatdb.Conversation) (string, error) {
	ms, roles, err := r.eng.MemberRoles(c.ID)
	if err != nil || !roles {
		return "", err
	}
	var as []string
	for _, m := range ms {
		if m.Admin {
			as = append(as, termtext.Safe(m.Account))
		}
	}
	if len(as) == 0 {
		return "; no admin among the members (nobody can add or remove)", nil
	}
	return fmt.Sprintf("; %s: %s", termtext.Plural(len(as), "admin"), strings.Join(as, ", ")), nil
}
