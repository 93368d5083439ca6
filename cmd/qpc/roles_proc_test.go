package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// groupMembers runs qpc group members NAME --json as u.
func groupMembers(t *testing.T, u *chanUser, name string) groupMembersJSON {
	t.Helper()
	var got groupMembersJSON
	out := u.must("", "group", "members", name, "--json")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%s: qpc group members --json: %v\n%s", u.name, err, out)
	}
	return got
}

// rolesOf is "alice*,bob" for the members of g, admins starred.
func rolesOf(g groupMembersJSON) string {
	var out []string
	for _, m := range g.Members {
		s := strings.TrimSuffix(m.Account, "@"+domain1)
		if m.Admin {
			s += "*"
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

func TestGroupRolesInTheReplAndQpcGroup(t *testing.T) {
	t.Parallel()
	needTmux(t)
	p := startNodeProc(t, qpcBin)
	a := startRepl(t, newChanUser(t, p, "alice"))
	bob := newChanUser(t, p, "bob")
	newChanUser(t, p, "carol") // registered, with key packages to invite
	a.expect("/cg team", "[#team] > ", replWait)
	a.expect("/invite bob", "invited bob to #team", replWait)
	a.expect("/invite carol", "invited carol to #team", replWait)
	a.expect("/members", "#team: 3 members: alice@"+domain1+", bob@"+domain1+", carol@"+domain1, replWait)
	a.waitFor("; admin: alice@"+domain1, replWait)

	if g := groupMembers(t, bob, "team"); !g.Roles || g.Group != "#team" || rolesOf(g) != "alice*,bob,carol" {
		t.Fatalf("bob's qpc group members: %+v", g)
	}
	// bob is no admin: refused by his own client, nothing sent.
	if _, errOut, code := bob.run("", "group", "promote", "team", "bob"); code != exitFailure || !strings.Contains(errOut, "only an admin of the group can do this") {
		t.Fatalf("bob promotes himself: exit %d, %q", code, errOut)
	}
	// alice, the admin, promotes bob; bob, an admin now, promotes carol.
	a.expect("/promote bob", "made bob an admin of #team", replWait)
	out := bob.must("", "group", "promote", "team", "carol", "--json")
	var promoted groupRoleJSON
	if err := json.Unmarshal([]byte(out), &promoted); err != nil || promoted.Promoted != "carol" || promoted.Group != "#team" {
		t.Fatalf("bob's qpc group promote --json: %q (%v)", out, err)
	}
	a.waitFor("bob@"+domain1+" made carol@"+domain1+" an admin", replWait)
	a.expect("/members", "; admins: alice@"+domain1+", bob@"+domain1+", carol@"+domain1, replWait)
	// alice removes carol, an admin: she goes, and so does her role.
	a.expect("/remove carol", "removed carol from #team", replWait)
	if g := groupMembers(t, bob, "team"); rolesOf(g) != "alice*,bob*" {
		t.Fatalf("bob's members after carol's removal: %+v", g)
	}
	if _, errOut, code := bob.run("", "group", "demote", "team", "carol"); code != exitFailure || !strings.Contains(errOut, "not a member") {
		t.Fatalf("bob demotes carol, removed: exit %d, %q", code, errOut)
	}
	if _, errOut, code := bob.run("", "group", "promote", "team"); code != exitUsage || !strings.Contains(errOut, "usage: qpc group") {
		t.Fatalf("qpc group promote without a user: exit %d, %q", code, errOut)
	}
}
