package chat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/mls"
)

// Group roles (issue 30): the account that creates a group is its admin;
// admins add and remove members and promote and demote admins; every
// member updates its own keys, adds and removes its own devices and
// leaves. The admins are listed by account in the group's context
// (mls.ExtensionGroupRoles), and every member's client checks every
// proposal and commit it accepts against them (mls.RolesPolicy, set in
// the engine's mls.Config), so that a member who is not an admin cannot
// add or remove anyone even with a modified client. DMs have no roles:
// both people are equal there and neither can add anyone.
//
// A refused commit. The group's home node orders commits without reading
// them (commit claims prove membership, not roles), so a member with a
// modified client can have a forbidden commit ordered. Every honest member
// refuses it and stays in the epoch before it, with a line naming who
// made it and what it tried (refusedChange). That epoch is then the last
// one for them: the node holds the forbidden commit as the one that ends
// it and accepts a claim of the next epoch only from those who applied it,
// so no honest member can order another commit. The group keeps working
// for messages (they are not ordered; the honest members read each other
// in that epoch, and the offender's messages of its own next epoch are
// never readable to them), but adding, removing, promoting and new keys
// end in ErrGroupBroken. The way on is a new group: an admin makes one
// (/cg) and invites the members it wants, without the offender. The line
// says so.
//
// Admins who are no longer members (they left, which any member commits)
// stay listed until an admin's next change to the membership drops them,
// so that a former admin invited again is not an admin again unless
// promoted.

// Errors of group roles.
var (
	// ErrNotAdmin means the operation needs an admin of the group and
	// the account is not one.
	ErrNotAdmin = errors.New("only an admin of the group can do this")
	// ErrAlreadyAdmin means the account to promote is an admin already.
	ErrAlreadyAdmin = errors.New("already an admin of this group")
	// ErrNotAnAdmin means the account to demote is not an admin.
	ErrNotAnAdmin = errors.New("not an admin of this group")
	// ErrLastAdmin means the change would leave the group without an
	// admin among its members.
	ErrLastAdmin = errors.New("the group would have no admin left: promote someone first")
	// ErrNoRoles means the group was made before group roles: every
	// member can change it, and nobody is an admin.
	ErrNoRoles = errors.New("this group has no roles (it was made before them): every member can add and remove")
)

// accountOf names the account a member's credential belongs to: what
// roles are given to, whichever device acts.
func accountOf(c *mls.Credential) string {
	a, _ := parseMember(string(c.Identity))
	return a
}

// rolesPolicy is the engine's mls.ProposalPolicy.
var rolesPolicy = mls.RolesPolicy(accountOf)

// newGroupExtensions returns the group context extensions of a new group
// of kind: a group lists its creator as its admin; a DM has no roles.
func (e *Engine) newGroupExtensions(kind chatdb.Kind) ([]mls.Extension, error) {
	if kind != chatdb.KindGroup {
		return nil, nil
	}
	ext, err := mls.NewGroupRoles(e.self).Extension()
	if err != nil {
		return nil, err
	}
	return []mls.Extension{ext}, nil
}

// groupRoles returns g's roles; nil for a group without roles.
func groupRoles(g *mls.Group) (*mls.GroupRoles, error) {
	r, ok, err := mls.GroupRolesOf(g.Context().Extensions)
	if err != nil || !ok {
		return nil, err
	}
	return r, nil
}

// mayChangeMembers reports whether this account may add and remove other
// accounts in g: an admin, or anyone in a group without roles.
func (e *Engine) mayChangeMembers(g *mls.Group) bool {
	r, err := groupRoles(g)
	return err == nil && (r == nil || r.IsAdmin(e.self))
}

// requireAdmin fails with ErrNotAdmin unless this account may change g's
// members.
func (e *Engine) requireAdmin(c *chatdb.Conversation, g *mls.Group) error {
	if !e.mayChangeMembers(g) {
		return fmt.Errorf("%s: %w", Label(*c), ErrNotAdmin)
	}
	return nil
}

// pruneRoles sets opts' GroupContextExtensions, when this account is an
// admin of g, to drop from the admins the accounts that are not members
// of g or that opts removes entirely (gone), so that an admin who left
// and is invited again is not an admin again. It leaves opts as it is
// when nothing is to drop or dropping would leave no admin.
func (e *Engine) pruneRoles(g *mls.Group, opts *mls.CommitOptions, gone ...string) error {
	r, err := groupRoles(g)
	if err != nil || r == nil || !r.IsAdmin(e.self) {
		return err
	}
	accounts := roster(g)
	next := r
	for _, a := range r.Admins {
		if !slices.Contains(accounts, a) || slices.Contains(gone, a) {
			next = next.Without(a)
		}
	}
	if len(next.Admins) == len(r.Admins) || len(next.Admins) == 0 {
		return nil
	}
	ext, err := mls.WithGroupRoles(g.Context().Extensions, next)
	if err != nil {
		return err
	}
	opts.GroupContextExtensions = ext
	return nil
}

// MemberRole is a member of a group with its role.
type MemberRole struct {
	// Account is the member's address.
	Account string `json:"account"`
	// Admin is set for an admin of the group.
	Admin bool `json:"admin"`
}

// MemberRoles returns the members of the group conv with their roles, in
// the order of Members; roles is false for a group without roles (one
// made before them, or a DM), whose members are all equal.
func (e *Engine) MemberRoles(conv chatdb.ConvID) (ms []MemberRole, roles bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.conversation(conv)
	if err != nil {
		return nil, false, err
	}
	var r *mls.GroupRoles
	if c.GroupID != nil && !c.Left {
		err = e.db.View(func(tx *chatdb.Tx) error {
			g, err := e.loadGroup(tx, &c)
			if err != nil {
				return err
			}
			r, err = groupRoles(g)
			return err
		})
		if err != nil {
			return nil, false, err
		}
	}
	for _, a := range c.Members {
		ms = append(ms, MemberRole{Account: a, Admin: r != nil && r.IsAdmin(a)})
	}
	return ms, r != nil, nil
}

// Promote makes user, a member of the group conv, an admin of it. Only
// an admin can.
func (e *Engine) Promote(ctx context.Context, conv chatdb.ConvID, user string) error {
	return e.changeRole(ctx, conv, user, true)
}

// Demote makes user, an admin of the group conv, a member without the
// role. Only an admin can, and not the last admin among the members
// (ErrLastAdmin); an admin may demote itself when another remains.
func (e *Engine) Demote(ctx context.Context, conv chatdb.ConvID, user string) error {
	return e.changeRole(ctx, conv, user, false)
}

func (e *Engine) changeRole(ctx context.Context, conv chatdb.ConvID, user string, admin bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.activeGroup(conv)
	if err != nil {
		return err
	}
	if c.Kind != chatdb.KindGroup {
		return fmt.Errorf("%s is a DM: %w", Label(c), ErrNoRoles)
	}
	if user, err = e.normalize(user); err != nil {
		return err
	}
	if !slices.Contains(c.Members, user) {
		return fmt.Errorf("%s: %w", user, ErrNotMember)
	}
	if !e.online {
		return fmt.Errorf("changing the role of %s: %w", user, ErrOffline)
	}
	return e.commitChange(ctx, &c, func(g *mls.Group) (*change, error) {
		r, err := groupRoles(g)
		switch {
		case err != nil:
			return nil, err
		case r == nil:
			return nil, fmt.Errorf("%s: %w", Label(c), ErrNoRoles)
		case !r.IsAdmin(e.self):
			return nil, fmt.Errorf("%s: %w", Label(c), ErrNotAdmin)
		case admin && r.IsAdmin(user):
			return nil, fmt.Errorf("%s: %w", user, ErrAlreadyAdmin)
		case !admin && !r.IsAdmin(user):
			return nil, fmt.Errorf("%s: %w", user, ErrNotAnAdmin)
		}
		accounts := roster(g)
		next := &mls.GroupRoles{}
		for _, a := range r.Admins {
			if slices.Contains(accounts, a) { // drop those who are gone, too
				next = next.With(a)
			}
		}
		if admin {
			next = next.With(user)
		} else {
			next = next.Without(user)
		}
		if len(next.Admins) == 0 {
			return nil, fmt.Errorf("%s: %w", Label(c), ErrLastAdmin)
		}
		ext, err := mls.WithGroupRoles(g.Context().Extensions, next)
		if err != nil {
			return nil, err
		}
		out, err := g.Commit(&mls.CommitOptions{GroupContextExtensions: ext})
		return &change{out: out}, err
	})
}

// checkLeave fails with ErrLastAdmin when the account is the last admin
// among g's members and others remain: the group would be left with
// nobody who can change it.
func (e *Engine) checkLeave(c *chatdb.Conversation, g *mls.Group) error {
	r, err := groupRoles(g)
	if err != nil || r == nil || !r.IsAdmin(e.self) {
		return err
	}
	accounts := roster(g)
	if len(accounts) == 1 {
		return nil // the last member: nobody is left to miss an admin
	}
	for _, a := range accounts {
		if a != e.self && r.IsAdmin(a) {
			return nil
		}
	}
	return fmt.Errorf("%s: %w (/promote NAME, then /leave)", Label(*c), ErrLastAdmin)
}

// checkInviter refuses a Welcome into g sealed by the account from when g
// has roles and from is neither an admin of it nor this account (whose
// other device adds this one). The members refuse the commit of a member
// who is not an admin, but only the new member reads the Welcome: without
// this check, a modified client could bring someone into a group of its
// own making under the name and roles of the real one.
func checkInviter(g *mls.Group, from, self string) error {
	r, err := groupRoles(g)
	if err != nil || r == nil || from == self || r.IsAdmin(from) {
		return err
	}
	return fmt.Errorf("%s is %w", from, mls.ErrNotAdmin)
}

// rolesKey names the meta record of the admins of conv as last shown.
func rolesKey(conv chatdb.ConvID) string { return "roles:" + hex.EncodeToString(conv[:]) }

// rolesChanged records a line for each account that became an admin or
// stopped being one in the commit that brought g to its epoch, made by
// by. The admins last seen are kept in the chat database's meta records;
// a group seen for the first time (just joined) gets no lines.
func (e *Engine) rolesChanged(tx *chatdb.Tx, c *chatdb.Conversation, g *mls.Group, by string) error {
	r, err := groupRoles(g)
	if err != nil || r == nil {
		return err
	}
	raw, err := tx.Meta(rolesKey(c.ID))
	if err != nil {
		return err
	}
	if raw != nil {
		var before []string
		if err := json.Unmarshal(raw, &before); err != nil {
			return fmt.Errorf("chat: admins of a group: %w", err)
		}
		for _, a := range r.Admins {
			if !slices.Contains(before, a) && slices.Contains(c.Members, a) {
				if err := e.systemLine(tx, c, "%s made %s an admin", who(by, e.self), who(a, e.self)); err != nil {
					return err
				}
			}
		}
		for _, a := range before {
			if !r.IsAdmin(a) && slices.Contains(c.Members, a) {
				if err := e.systemLine(tx, c, "%s made %s no longer an admin", who(by, e.self), who(a, e.self)); err != nil {
					return err
				}
			}
		}
	}
	raw, err = json.Marshal(r.Admins)
	if err != nil {
		return err
	}
	return tx.PutMeta(rolesKey(c.ID), raw)
}

// refusedKey names the meta record of the last change of conv this
// client refused.
func refusedKey(conv chatdb.ConvID) string { return "refused:" + hex.EncodeToString(conv[:]) }

// refusedChange records that a proposal or commit of the group c broke
// its roles (err wraps mls.ErrPolicy) and was refused: one line per
// message, however often it arrives (the mailbox, and the ordering node
// when catching up, both bring a commit). See the top of this file for
// what a refused commit means for the group.
func (e *Engine) refusedChange(tx *chatdb.Tx, c *chatdb.Conversation, msg []byte, commit bool, err error) error {
	sum := sha256.Sum256(msg)
	last, gerr := tx.Meta(refusedKey(c.ID))
	if gerr != nil {
		return gerr
	}
	if string(last) == string(sum[:]) {
		return nil
	}
	if gerr := tx.PutMeta(refusedKey(c.ID), sum[:]); gerr != nil {
		return gerr
	}
	why := strings.TrimPrefix(err.Error(), mls.ErrPolicy.Error()+": ")
	if !commit {
		return e.systemLine(tx, c, "!! a proposal in %s was refused: %s", Label(*c), why)
	}
	return e.systemLine(tx, c, "!! a change to %s was refused: %s. The group's home node ordered it, so the group cannot change any more "+
		"(adding, removing, roles, new keys); messages still work among the members who refused it. "+
		"An admin can make a new group (/cg) and invite the members again", Label(*c), why)
}
