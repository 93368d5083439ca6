package app

import (
	"context"
	"time"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/node/admin"
	"github.com/quicprochat/qpc/protocol"
)

// partAdmin is the admin socket's part.
const partAdmin = "admin socket"

// openAdmin opens the admin socket of cfg (none when --admin-socket is
// empty).
func (n *Node) openAdmin() error {
	path := n.cfg.AdminSocketPath()
	if path == "" {
		return nil
	}
	ln, err := admin.Listen(path)
	if err != nil {
		return err
	}
	n.adminLn = ln
	n.release.push(func() error {
		ln.Close()
		return nil
	})
	n.admin = admin.New(adminBackend{n}, n.log.With("part", partAdmin))
	return nil
}

// AdminSocket returns the path of the admin socket, or "" without one.
func (n *Node) AdminSocket() string {
	if n.adminLn == nil {
		return ""
	}
	return n.adminLn.Addr().String()
}

// serveAdmin serves the admin socket until ctx ends.
func (n *Node) serveAdmin(ctx context.Context) error {
	n.log.Info("admin socket", "path", n.AdminSocket())
	return n.admin.Serve(ctx, n.adminLn)
}

// adminBackend answers the admin socket from the node's parts.
type adminBackend struct{ n *Node }

var _ admin.Backend = adminBackend{}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func adminLinks(links []protocol.Link) []protocol.AdminLink {
	out := make([]protocol.AdminLink, 0, len(links))
	for _, l := range links {
		out = append(out, protocol.AdminLink{Domain: l.Domain, Address: l.Address, State: l.State.String(), Since: unixOrZero(l.Since)})
	}
	return out
}

// Status implements admin.Backend.
func (b adminBackend) Status(ctx context.Context) (protocol.AdminStatus, error) {
	n := b.n
	h, err := n.svc.Health(ctx)
	if err != nil {
		return protocol.AdminStatus{}, err
	}
	msgs, bytes, accounts, err := n.store.Totals()
	if err != nil {
		return protocol.AdminStatus{}, err
	}
	mesh, err := n.store.MeshStats()
	if err != nil {
		return protocol.AdminStatus{}, err
	}
	chans, err := n.svc.ChannelState()
	if err != nil {
		return protocol.AdminStatus{}, err
	}
	files := n.blobs.Store().Stats()
	st := protocol.AdminStatus{
		Domain: h.Domain, NodeID: h.NodeID, Version: h.Version, Platform: h.Platform,
		UptimeS:      int64(h.Uptime / time.Second),
		Registration: h.Registration,
		Draining:     n.svc.Draining(),
		Clients:      n.tracker.open(),
		Accounts:     accounts,
		Links:        adminLinks(h.Links),
		Nearby:       []protocol.AdminNearby{},
		Queues: protocol.AdminQueues{MailboxMessages: msgs, MailboxBytes: bytes,
			MeshEnvelopes: int64(mesh.Envelopes), MeshBytes: mesh.Bytes},
		Channels: protocol.AdminChannels{Channels: chans.Store.Channels, Posts: int64(chans.Store.Posts)},
		Files:    protocol.AdminFiles{Count: files.Blobs, Bytes: uint64(files.Reserved), Limit: uint64(files.Limit)},
		Metrics:  n.metrics.summary(),
	}
	if n.mdns != nil {
		for _, p := range n.mdns.Peers() {
			if p.ID == n.key.ID() {
				continue
			}
			st.Nearby = append(st.Nearby, protocol.AdminNearby{Instance: p.Instance, Domain: p.Domain, Address: p.DialAddr()})
		}
	}
	return st, nil
}

// Users implements admin.Backend.
func (b adminBackend) Users(ctx context.Context) (protocol.AdminUsers, error) {
	n := b.n
	users, err := n.store.Users()
	if err != nil {
		return protocol.AdminUsers{}, err
	}
	now := time.Now()
	out := protocol.AdminUsers{Users: make([]protocol.AdminUser, 0, len(users))}
	for _, u := range users {
		au := protocol.AdminUser{Name: u.Name, Devices: u.Devices,
			MailboxMessages: u.MailboxMessages, MailboxBytes: u.MailboxBytes}
		if !u.LastSession.IsZero() {
			// A session lasts SessionTTL from its login.
			au.LastSeen = u.LastSession.Add(-n.svc.Limits().SessionTTL).Unix()
		}
		if n.svc.Online(u.Name) {
			au.LastSeen = now.Unix()
		}
		out.Users = append(out.Users, au)
	}
	return out, nil
}

// DeleteUser implements admin.Backend.
func (b adminBackend) DeleteUser(ctx context.Context, name string) error {
	return b.n.svc.AdminDeleteUser(name)
}

// ResetUser implements admin.Backend.
func (b adminBackend) ResetUser(ctx context.Context, name string) (protocol.AdminReset, error) {
	code := node.NewInviteCode()
	if err := b.n.svc.AdminResetUser(name, code, admin.DefaultInviteTTL); err != nil {
		return protocol.AdminReset{}, err
	}
	return protocol.AdminReset{Reset: name, Code: code, Expires: time.Now().Add(admin.DefaultInviteTTL).Unix()}, nil
}

// CreateInvite implements admin.Backend.
func (b adminBackend) CreateInvite(uses int, ttl time.Duration) (protocol.AdminInvite, error) {
	code := node.NewInviteCode()
	h := node.HashInvite(code)
	now := time.Now()
	inv := node.Invite{UsesLeft: uses, Created: now, Expires: now.Add(ttl)}
	if err := b.n.store.CreateInvite(h, inv); err != nil {
		return protocol.AdminInvite{}, err
	}
	return protocol.AdminInvite{Code: code, ID: h.InviteID(), Uses: uses, Expires: inv.Expires.Unix()}, nil
}

// Invites implements admin.Backend.
func (b adminBackend) Invites() (protocol.AdminInvites, error) {
	invs, err := b.n.store.Invites(time.Now())
	if err != nil {
		return protocol.AdminInvites{}, err
	}
	out := protocol.AdminInvites{Invites: make([]protocol.AdminInviteInfo, 0, len(invs))}
	for _, i := range invs {
		out.Invites = append(out.Invites, protocol.AdminInviteInfo{ID: i.Hash.InviteID(), For: i.User,
			UsesLeft: i.UsesLeft, Expires: i.Expires.Unix(), Created: i.Created.Unix()})
	}
	return out, nil
}

// RevokeInvite implements admin.Backend.
func (b adminBackend) RevokeInvite(id string) error { return b.n.store.RevokeInvite(id) }

// Quota implements admin.Backend.
func (b adminBackend) Quota(ctx context.Context) (protocol.AdminQuota, error) {
	n := b.n
	users, err := n.store.Users()
	if err != nil {
		return protocol.AdminQuota{}, err
	}
	q := protocol.AdminQuota{
		Limits: protocol.AdminLimits{MailboxMessages: n.cfg.MailboxMaxMessages,
			FilesBytesPerUser: n.blobs.Store().UserQuota(), Accounts: n.cfg.MaxAccounts},
		Users: make([]protocol.AdminUserQuota, 0, len(users)),
	}
	for _, u := range users {
		q.Users = append(q.Users, protocol.AdminUserQuota{Name: u.Name, MailboxMessages: u.MailboxMessages,
			FilesBytes: n.blobs.Store().UserBytes(u.Name)})
	}
	return q, nil
}

// Links implements admin.Backend.
func (b adminBackend) Links() (protocol.AdminLinks, error) {
	var links []protocol.Link
	if b.n.fed != nil {
		links = b.n.fed.Links()
	}
	return protocol.AdminLinks{Links: adminLinks(links)}, nil
}

// Mesh implements admin.Backend.
func (b adminBackend) Mesh() (protocol.AdminMesh, error) {
	r, err := b.n.svc.MeshState()
	if err != nil {
		return protocol.AdminMesh{}, err
	}
	if b.n.mesh == nil { // no engine: the store still says what it holds
		if r.Store, err = b.n.store.MeshStats(); err != nil {
			return protocol.AdminMesh{}, err
		}
	}
	m := protocol.AdminMesh{Routes: make([]protocol.AdminRoute, 0, len(r.Routes)),
		Store: protocol.AdminMeshStore{Envelopes: int64(r.Store.Envelopes), Bytes: r.Store.Bytes,
			MaxBytes: r.Store.MaxBytes, Seen: int64(r.Store.Seen)}}
	for _, rt := range r.Routes {
		m.Routes = append(m.Routes, protocol.AdminRoute{Domain: rt.Domain, Via: rt.Via, Hops: int(rt.Hops)})
	}
	return m, nil
}

// Drain implements admin.Backend.
func (b adminBackend) Drain(on bool) { b.n.svc.SetDraining(on) }

// Audit implements admin.Backend.
func (b adminBackend) Audit(e protocol.AuditEntry) error { return b.n.store.AppendAudit(e, 0) }

// AuditLog implements admin.Backend.
func (b adminBackend) AuditLog(limit int) ([]protocol.AuditEntry, error) {
	return b.n.store.Audit(limit)
}
