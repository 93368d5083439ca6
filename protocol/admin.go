package protocol

// The answers of a node's admin socket (schemas/admin.capnp): each method
// answers with one of these objects as JSON, the object `qpc admin CMD
// --json` prints and docs/admin.md specifies. Keys are snake_case, times
// Unix seconds, sizes bytes. LuCI and scripts read them: add fields, never
// rename or retype one.

// AdminStatus answers admin status.
type AdminStatus struct {
	Domain       string          `json:"domain"`
	NodeID       string          `json:"node_id"`
	Version      string          `json:"version"`
	Platform     string          `json:"platform"`
	UptimeS      int64           `json:"uptime_s"`
	Registration string          `json:"registration"`
	Draining     bool            `json:"draining"`
	Clients      int             `json:"clients"`
	Accounts     int             `json:"accounts"`
	Links        []AdminLink     `json:"links"`
	Nearby       []AdminNearby   `json:"nearby"`
	Queues       AdminQueues     `json:"queues"`
	Channels     AdminChannels   `json:"channels"`
	Files        AdminFiles      `json:"files"`
	Metrics      AdminMetricsSum `json:"metrics"`
}

// AdminLink is one federation link: State as `qpc status` names it (down,
// connecting, up), Since when it entered it (0: never reached).
type AdminLink struct {
	Domain  string `json:"domain"`
	Address string `json:"address"`
	State   string `json:"state"`
	Since   int64  `json:"since"`
}

// AdminNearby is a node found on the local network with mDNS.
type AdminNearby struct {
	Instance string `json:"instance"`
	Domain   string `json:"domain"`
	Address  string `json:"address"`
}

// AdminQueues is what waits on the node: messages in mailboxes, envelopes
// in the store-and-forward store.
type AdminQueues struct {
	MailboxMessages int64 `json:"mailbox_messages"`
	MailboxBytes    int64 `json:"mailbox_bytes"`
	MeshEnvelopes   int64 `json:"mesh_envelopes"`
	MeshBytes       int64 `json:"mesh_bytes"`
}

// AdminChannels is the broadcast channels the node keeps posts of.
type AdminChannels struct {
	Channels int   `json:"channels"`
	Posts    int64 `json:"posts"`
}

// AdminFiles is the node's file store.
type AdminFiles struct {
	Count int    `json:"count"`
	Bytes uint64 `json:"bytes"`
	Limit uint64 `json:"limit"`
}

// AdminMetricsSum is a summary of the node's counters since it started.
type AdminMetricsSum struct {
	MessagesEnqueued     uint64 `json:"messages_enqueued"`
	MessagesDelivered    uint64 `json:"messages_delivered"`
	RegistrationsRefused uint64 `json:"registrations_refused"`
	LoginsFailed         uint64 `json:"logins_failed"`
}

// AdminUsers answers admin users.
type AdminUsers struct {
	Users []AdminUser `json:"users"`
}

// AdminUser is one account: LastSeen is the last login or resumed session
// (0: never since the node keeps track).
type AdminUser struct {
	Name            string `json:"name"`
	Devices         int    `json:"devices"`
	LastSeen        int64  `json:"last_seen"`
	MailboxMessages int64  `json:"mailbox_messages"`
	MailboxBytes    int64  `json:"mailbox_bytes"`
}

// AdminDeleted answers admin user delete.
type AdminDeleted struct {
	Deleted string `json:"deleted"`
}

// AdminReset answers admin user reset: Code is the invite, bound to the
// name, with which its owner registers again (`qpc register NAME --invite
// CODE`), valid until Expires; shown only now.
type AdminReset struct {
	Reset   string `json:"reset"`
	Code    string `json:"code"`
	Expires int64  `json:"expires"`
}

// AdminInvite answers admin invite: the code (shown only now), how many
// registrations it allows and when it expires. QRSVG is filled by the
// command, not the node.
type AdminInvite struct {
	Code    string `json:"code"`
	ID      string `json:"id"`
	Uses    int    `json:"uses"`
	Expires int64  `json:"expires"`
	QRSVG   string `json:"qr_svg,omitempty"`
}

// AdminInvites answers admin invite list.
type AdminInvites struct {
	Invites []AdminInviteInfo `json:"invites"`
}

// AdminInviteInfo is an invite as the node keeps it: never the code.
type AdminInviteInfo struct {
	ID string `json:"id"`
	// For is the name a reset's invite is bound to; absent for an invite
	// anyone may use.
	For      string `json:"for,omitempty"`
	UsesLeft int    `json:"uses_left"`
	Expires  int64  `json:"expires"`
	Created  int64  `json:"created"`
}

// AdminRevoked answers admin invite revoke.
type AdminRevoked struct {
	Revoked string `json:"revoked"`
}

// AdminLinks answers admin links.
type AdminLinks struct {
	Links []AdminLink `json:"links"`
}

// AdminMesh answers admin mesh: what `qpc mesh route` and `qpc mesh
// store` show.
type AdminMesh struct {
	Routes []AdminRoute   `json:"routes"`
	Store  AdminMeshStore `json:"store"`
}

// AdminRoute is one entry of the routing table.
type AdminRoute struct {
	Domain string `json:"domain"`
	Via    string `json:"via"`
	Hops   int    `json:"hops"`
}

// AdminMeshStore is the store-and-forward store.
type AdminMeshStore struct {
	Envelopes int64 `json:"envelopes"`
	Bytes     int64 `json:"bytes"`
	MaxBytes  int64 `json:"max_bytes"`
	Seen      int64 `json:"seen"`
}

// AdminQuota answers admin quota.
type AdminQuota struct {
	Limits AdminLimits      `json:"limits"`
	Users  []AdminUserQuota `json:"users"`
}

// AdminLimits is the node's bounds per user and for accounts.
type AdminLimits struct {
	MailboxMessages   int   `json:"mailbox_messages"`
	FilesBytesPerUser int64 `json:"files_bytes_per_user"`
	Accounts          int   `json:"accounts"`
}

// AdminUserQuota is what one user takes.
type AdminUserQuota struct {
	Name            string `json:"name"`
	MailboxMessages int64  `json:"mailbox_messages"`
	FilesBytes      int64  `json:"files_bytes"`
}

// AdminDrain answers admin drain.
type AdminDrain struct {
	Draining bool `json:"draining"`
}

// AdminLog answers admin log.
type AdminLog struct {
	Entries []AuditEntry `json:"entries"`
}

// AuditEntry is one admin action in the node's audit log: Action names
// the method ("user delete", "invite", ...), Target what it acted on.
type AuditEntry struct {
	Time   int64  `json:"time"`
	Action string `json:"action"`
	Target string `json:"target"`
	Detail string `json:"detail"`
}

// AdminReports answers admin reports.
type AdminReports struct {
	Reports []AdminReport `json:"reports"`
}

// AdminReport is one report a user sent to the admin.
type AdminReport struct {
	Time     int64  `json:"time"`
	Reporter string `json:"reporter"`
	Sender   string `json:"sender"`
	Message  string `json:"message"`
	Note     string `json:"note"`
}
