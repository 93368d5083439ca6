package repl

import (
	"strings"
	"testing"
)

func TestReplMembersShowsTheAdminsAndPromoteAndDemoteChangeThem(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/cg friends", "/invite bob", "/invite carol")
	mustContain(t, tr.do("/members"), "#friends: 3 members: alice@a.example, bob@a.example, carol@a.example", "; admin: alice@a.example")
	mustContain(t, tr.do("/promote bob"), "made bob an admin of #friends")
	mustContain(t, tr.do("/members"), "; admins: alice@a.example, bob@a.example")
	mustContain(t, tr.do("/promote bob"), "already an admin")
	mustContain(t, tr.do("/demote carol"), "not an admin of this group")
	mustContain(t, tr.do("/demote alice"), "made alice no longer an admin of #friends")
	if out := tr.do("/members"); !strings.Contains(out, "; admin: bob@a.example") || strings.Contains(out, "admin: alice") {
		t.Errorf("after alice's demotion: %s", out)
	}
	// alice is no admin now.
	mustContain(t, tr.do("/promote carol"), "only an admin of the group can do this")
	mustContain(t, tr.do("/promote"), "usage: /promote <user>")
}

func TestReplPromoteWorksInAGroupOnly(t *testing.T) {
	tr := newTestRepl(t)
	tr.do("/dm bob")
	mustContain(t, tr.do("/promote bob"), "/promote works in a group")
	mustContain(t, tr.do("/demote bob"), "/demote works in a group")
	if out := tr.do("/members"); strings.Contains(out, "admin") {
		t.Errorf("a DM shows roles: %s", out)
	}
}
