package mls

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Group roles: who may change a group's membership, enforced by every
// member on every proposal and commit it accepts.
//
// The admins of a group are listed in a group context extension,
// group_roles, so that they are part of the epoch every member agreed on:
// a Welcome carries them to new members in the GroupContext of its signed
// GroupInfo, and they change only by a GroupContextExtensions proposal,
// which the policy lets only an admin make. Admins are named by account,
// not by leaf: an account has a leaf per device, and each of them acts for
// it. What an account is, given a credential, is the application's to say
// (RolesPolicy's accountOf).
//
// Extension type: RFC 9420 §17.3 keeps 0xF000-0xFFFF for private use,
// which is what an extension only qpc's clients read is; within that range
// 0xF0A0 ("A" for admin) rather than the first values, which other
// experiments pick first, so that a group built by another implementation
// for a test is less likely to carry an extension of the same type and
// another meaning. A registered value would be a new constant, read
// beside this one.
//
// Wire format of the extension data, in the TLS presentation language of
// RFC 9420 §2.1:
//
//	struct {
//	    uint8 version = 1;
//	    opaque admins<V>;   /* a vector of opaque<V> account names */
//	} GroupRoles;
//
// The accounts are 1 to MaxRoleName bytes each, at most MaxAdmins of them,
// strictly ascending bytewise (so each appears once and every GroupRoles
// has exactly one encoding, which the decoder insists on).

// ExtensionGroupRoles identifies the group_roles group context extension
// (private use, see above).
const ExtensionGroupRoles ExtensionType = 0xF0A0

// Bounds of the group_roles extension.
const (
	// MaxAdmins is the most admins a group can list.
	MaxAdmins = 1000
	// MaxRoleName is the longest account name an admin can have, in bytes.
	MaxRoleName = 255
)

// groupRolesVersion is the version of the GroupRoles encoding.
const groupRolesVersion = 1

// Errors of group roles.
var (
	// ErrGroupRoles means a group_roles extension is malformed.
	ErrGroupRoles = errors.New("mls: malformed group roles")
	// ErrPolicy means a proposal or commit was refused by the group's
	// policy (Config.Policy): the group stays as it was.
	ErrPolicy = errors.New("mls: refused by the group's policy")
	// ErrNotAdmin means a member who is not an admin of the group tried
	// what only admins may do.
	ErrNotAdmin = errors.New("not an admin of the group")
)

// GroupRoles is the content of the group_roles extension: the accounts
// that administer the group.
type GroupRoles struct {
	// Admins lists the admins' accounts, ascending, each once.
	Admins []string
}

// NewGroupRoles returns the roles with admins (sorted, each once).
func NewGroupRoles(admins ...string) *GroupRoles {
	as := slices.Clone(admins)
	slices.Sort(as)
	return &GroupRoles{Admins: slices.Compact(as)}
}

// IsAdmin reports whether account is an admin.
func (r *GroupRoles) IsAdmin(account string) bool {
	_, ok := slices.BinarySearch(r.Admins, account)
	return ok
}

// With returns a copy of r with account an admin.
func (r *GroupRoles) With(account string) *GroupRoles {
	return NewGroupRoles(append(slices.Clone(r.Admins), account)...)
}

// Without returns a copy of r without account.
func (r *GroupRoles) Without(account string) *GroupRoles {
	return &GroupRoles{Admins: slices.DeleteFunc(slices.Clone(r.Admins), func(a string) bool { return a == account })}
}

func (r *GroupRoles) encode(w *writer) {
	if err := r.check(); err != nil {
		if w.err == nil {
			w.err = err
		}
		return
	}
	w.u8(groupRolesVersion)
	w.vector(func(w *writer) {
		for _, a := range r.Admins {
			w.opaque([]byte(a))
		}
	})
}

func (r *GroupRoles) decode(rd *reader) {
	if v := rd.u8(); rd.err == nil && v != groupRolesVersion {
		rd.failf("%w: version %d, want %d", ErrGroupRoles, v, groupRolesVersion)
		return
	}
	r.Admins = []string{}
	rd.vector(func(rd *reader) {
		b := rd.opaque()
		if rd.err != nil {
			return
		}
		if len(r.Admins) == MaxAdmins {
			rd.failf("%w: more than %d admins", ErrGroupRoles, MaxAdmins)
			return
		}
		r.Admins = append(r.Admins, string(b))
	})
	if rd.err == nil {
		if err := r.check(); err != nil {
			rd.fail(err)
		}
	}
}

// check enforces the bounds and the canonical order.
func (r *GroupRoles) check() error {
	if len(r.Admins) > MaxAdmins {
		return fmt.Errorf("%w: %d admins, at most %d", ErrGroupRoles, len(r.Admins), MaxAdmins)
	}
	for i, a := range r.Admins {
		if a == "" || len(a) > MaxRoleName {
			return fmt.Errorf("%w: an admin name of %d bytes (1-%d)", ErrGroupRoles, len(a), MaxRoleName)
		}
		if i > 0 && strings.Compare(r.Admins[i-1], a) >= 0 {
			return fmt.Errorf("%w: admins not in ascending order or listed twice", ErrGroupRoles)
		}
	}
	return nil
}

// Extension returns r as a group_roles extension.
func (r *GroupRoles) Extension() (Extension, error) {
	b, err := Marshal(r)
	if err != nil {
		return Extension{}, err
	}
	return Extension{Type: ExtensionGroupRoles, Data: b}, nil
}

// GroupRolesOf returns the roles of the group context extensions ext;
// ok is false when ext has no group_roles extension (a group without
// roles, where every member may change the membership).
func GroupRolesOf(ext []Extension) (r *GroupRoles, ok bool, err error) {
	i := slices.IndexFunc(ext, func(e Extension) bool { return e.Type == ExtensionGroupRoles })
	if i < 0 {
		return nil, false, nil
	}
	r = new(GroupRoles)
	if err := Unmarshal(ext[i].Data, r); err != nil {
		return nil, true, fmt.Errorf("%w: %w", ErrGroupRoles, err)
	}
	return r, true, nil
}

// WithGroupRoles returns a copy of ext with its group_roles extension set
// to r (added when ext has none), the other extensions as they were.
func WithGroupRoles(ext []Extension, r *GroupRoles) ([]Extension, error) {
	e, err := r.Extension()
	if err != nil {
		return nil, err
	}
	out := slices.Clone(ext)
	if i := slices.IndexFunc(out, func(x Extension) bool { return x.Type == ExtensionGroupRoles }); i >= 0 {
		out[i] = e
		return out, nil
	}
	return append(out, e), nil
}

// PolicyView is what a ProposalPolicy sees of the epoch a proposal
// belongs to. It is valid only during the call.
type PolicyView struct {
	ctx  *GroupContext
	tree *RatchetTree
}

// Extensions returns the group context extensions of the epoch. The
// policy must not modify them.
func (v *PolicyView) Extensions() []Extension { return v.ctx.Extensions }

// Credential returns the credential of the member at leaf l, and false
// when l is blank or outside the tree.
func (v *PolicyView) Credential(l LeafIndex) (*Credential, bool) {
	if uint64(l) >= uint64(v.tree.LeafCount()) {
		return nil, false
	}
	leaf := v.tree.Leaf(l)
	if leaf == nil {
		return nil, false
	}
	return &leaf.Credential, true
}

// ProposalPolicy decides whether the member at leaf sender may make
// proposal p in the epoch v shows. A group asks it about every proposal
// it caches (its own and those it receives) and about every proposal of
// every commit it creates, merges or applies (by reference and by value,
// whose sender is the committer), and about the new leaf of a commit's
// UpdatePath as if it were an Update of the committer's. An error refuses
// the proposal or the whole commit; the group stays as it was.
type ProposalPolicy func(v *PolicyView, sender LeafIndex, p *Proposal) error

// checkPolicy asks the configured policy about p from sender in g's
// current epoch.
func (g *Group) checkPolicy(sender LeafIndex, p *Proposal) error {
	if g.cfg.Policy == nil {
		return nil
	}
	if err := g.cfg.Policy(&PolicyView{ctx: &g.ctx, tree: g.tree}, sender, p); err != nil {
		return fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	return nil
}

// RolesPolicy is the ProposalPolicy of group roles; accountOf names the
// account a credential belongs to. In a group whose context has a
// group_roles extension:
//
//   - any member may update its own leaf, but not move it to another
//     account (an Update, or a commit's new leaf, keeps the account);
//   - any member may add a device of its own account and remove leaves of
//     its own account (leaving the group is removing all of them);
//   - only an admin may add or remove other accounts' leaves, change the
//     group context extensions (which is how admins are promoted and
//     demoted), or make any other proposal (PSKs);
//   - the extensions an admin sets keep a group_roles extension with at
//     least one admin, so that a group never loses its roles or ends with
//     nobody who may change it.
//
// In a group without the extension every proposal is left to the other
// rules of MLS.
func RolesPolicy(accountOf func(*Credential) string) ProposalPolicy {
	return func(v *PolicyView, sender LeafIndex, p *Proposal) error {
		roles, ok, err := GroupRolesOf(v.Extensions())
		if err != nil || !ok {
			return err
		}
		cred, ok := v.Credential(sender)
		if !ok {
			return fmt.Errorf("%w: leaf %d", ErrNotMember, sender)
		}
		who := accountOf(cred)
		admin := roles.IsAdmin(who)
		notAdmin := func(what string, args ...any) error {
			return fmt.Errorf("%s is %w: %s", who, ErrNotAdmin, fmt.Sprintf(what, args...))
		}
		switch p.Type {
		case ProposalUpdate:
			if p.Update == nil {
				return fmt.Errorf("%w: update without a leaf", ErrProposal)
			}
			if to := accountOf(&p.Update.Credential); to != who {
				return fmt.Errorf("%w: an update by %s names the account %s", ErrCredential, who, to)
			}
			return nil
		case ProposalRemove:
			target, ok := v.Credential(p.Remove)
			if !ok {
				return fmt.Errorf("%w: %w: remove of leaf %d", ErrProposal, ErrBlankLeaf, p.Remove)
			}
			if t := accountOf(target); t != who && !admin {
				return notAdmin("only admins remove others (%s)", t)
			}
			return nil
		case ProposalAdd:
			if p.Add == nil {
				return fmt.Errorf("%w: add without a key package", ErrProposal)
			}
			if a := accountOf(&p.Add.LeafNode.Credential); a != who && !admin {
				return notAdmin("only admins add others (%s)", a)
			}
			return nil
		case ProposalGroupContextExtensions:
			if !admin {
				return notAdmin("only admins change the group's roles and settings")
			}
			next, ok, err := GroupRolesOf(p.GroupContextExtensions)
			switch {
			case err != nil:
				return err
			case !ok:
				return fmt.Errorf("%w: the group roles may not be dropped", ErrGroupRoles)
			case len(next.Admins) == 0:
				return fmt.Errorf("%w: a group keeps at least one admin", ErrGroupRoles)
			}
			return nil
		default:
			if !admin {
				return notAdmin("only admins make proposals of type %d", p.Type)
			}
			return nil
		}
	}
}
