package repltest

import (
	"context"
	"fmt"
	"slices"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
)

// admins returns the admins of group c: those promoted, else its creator
// (the inviter of an invitation, else this account). f.mu is held.
func (f *Engine) admins(c *chatdb.Conversation) []string {
	if as, ok := f.roles[c.ID]; ok {
		return as
	}
	if c.InvitedBy != "" {
		return []string{c.InvitedBy}
	}
	return []string{f.self}
}

// MemberRoles is repl.Engine's MemberRoles, in memory: every group has
// roles, a DM none.
func (f *Engine) MemberRoles(id chatdb.ConvID) ([]chat.MemberRole, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conv(id)
	if c.Kind != chatdb.KindGroup {
		return nil, false, nil
	}
	var ms []chat.MemberRole
	for _, m := range c.Members {
		ms = append(ms, chat.MemberRole{Account: m, Admin: slices.Contains(f.admins(c), m)})
	}
	return ms, true, nil
}

// Promote is repl.Engine's Promote, in memory.
func (f *Engine) Promote(_ context.Context, id chatdb.ConvID, user string) error {
	return f.setRole(id, user, true)
}

// Demote is repl.Engine's Demote, in memory.
func (f *Engine) Demote(_ context.Context, id chatdb.ConvID, user string) error {
	return f.setRole(id, user, false)
}

func (f *Engine) setRole(id chatdb.ConvID, user string, admin bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.conv(id)
	as := slices.Clone(f.admins(c))
	user = f.addr(user)
	switch {
	case !slices.Contains(as, f.self):
		return chat.ErrNotAdmin
	case !slices.Contains(c.Members, user):
		return fmt.Errorf("%s: %w", user, chat.ErrNotMember)
	case admin && slices.Contains(as, user):
		return fmt.Errorf("%s: %w", user, chat.ErrAlreadyAdmin)
	case !admin && !slices.Contains(as, user):
		return fmt.Errorf("%s: %w", user, chat.ErrNotAnAdmin)
	}
	if admin {
		as = append(as, user)
	} else {
		as = slices.DeleteFunc(as, func(a string) bool { return a == user })
	}
	if len(as) == 0 {
		return chat.ErrLastAdmin
	}
	if f.roles == nil {
		f.roles = map[chatdb.ConvID][]string{}
	}
	f.roles[id] = as
	return nil
}
