package chat

import (
	"context"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/mls"
)

// SkipRolesForTest makes the engine a modified client: its groups run
// without the roles policy, so it builds and applies commits that break
// the group's roles.
func (e *Engine) SkipRolesForTest() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg.Policy = nil
}

// AddForTest has the engine add user's devices to the group of conv with
// the MLS library directly, bypassing the engine's checks, and send the
// commit to the members and the Welcome to user, as a modified client
// could.
func (e *Engine) AddForTest(ctx context.Context, conv chatdb.ConvID, user string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.activeGroup(conv)
	if err != nil {
		return err
	}
	return e.commitChange(ctx, &c, func(g *mls.Group) (*change, error) {
		kps, err := e.deviceKeyPackages(ctx, user, g.CipherSuite(), nil)
		if err != nil {
			return nil, err
		}
		out, err := g.AddMembers(kps...)
		return &change{out: out, welcomeTo: kpTargets(kps)}, err
	})
}

// CommitForTest commits what op builds with the MLS library on the group
// of conv, bypassing every check of the engine's operations, and has it
// ordered and sent as any change is.
func (e *Engine) CommitForTest(ctx context.Context, conv chatdb.ConvID, op func(g *mls.Group) (*mls.CommitOutput, error)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.activeGroup(conv)
	if err != nil {
		return err
	}
	return e.commitChange(ctx, &c, func(g *mls.Group) (*change, error) {
		out, err := op(g)
		return &change{out: out}, err
	})
}
