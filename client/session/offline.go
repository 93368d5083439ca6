package session

import (
	"fmt"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/crypto/opaque"
)

// An account opens without its node (qpc repl with the node down) from
// two files of this machine: the offline key (client.SaveOfflineKey), which
// the password opens and which holds the export key, and the state sealed
// under that export key. Such a Session holds a stand-in connection
// (client.Offline) until a follower reaches the node, resumes the saved
// session or logs in again with the password (FollowOptions), and binds
// the device's queue; until then everything that needs the node fails
// with client.ErrOffline, and the chat engine queues what is sent.

// KeepOfflineKey keeps the account's export key on this machine sealed
// under its password, so that OpenOffline can open the account while its
// node is out of reach. It costs an Argon2id run only when the kept key is
// missing or another (the password changed). The REPL calls it; commands
// that always need the node do not, so that an account used only by
// scripts keeps no key that a copy of the disk could test password
// guesses against.
func (s *Session) KeepOfflineKey() error {
	return client.SaveOfflineKey(s.cfg.StateDir, s.cur.User, s.cur.Domain, s.currentPassword(), s.exportKey, s.cfg.offlineKDF())
}

// CanOpenOffline reports whether this machine keeps what OpenOffline
// needs for the account of cur: its domain, its state and its offline key.
func CanOpenOffline(cfg Config, cur client.Current) bool {
	return cur.User != "" && cur.Domain != "" && client.HasState(cfg.StateDir, cur.User, cur.Domain) &&
		client.HasOfflineKey(cfg.StateDir, cur.User, cur.Domain)
}

// OpenOffline opens the account of cur from this machine alone: it asks
// the password (Config.Password), opens the offline key with it and the
// state with that. It makes no connection: Client is a stand-in whose
// calls fail with client.ErrOffline, and FollowOptions(server, nil)
// connects. A wrong password is client.ErrWrongPassword; a machine that
// keeps no offline key of the account gives client.ErrNoOfflineKey; an
// account that has not been moved to devices (ErrNotMigrated) needs its
// node once first.
func OpenOffline(cfg Config, cur client.Current) (*Session, error) {
	if cur.User == "" || cur.Server == "" || cur.Domain == "" {
		return nil, ErrNoAccount
	}
	pw, _, err := cfg.Password(fmt.Sprintf("Password for %s: ", cur.Address()))
	if err != nil {
		return nil, err
	}
	exportKey, err := client.OpenOfflineKey(cfg.StateDir, cur.User, cur.Domain, pw)
	if err != nil {
		return nil, err
	}
	st, err := client.LoadState(cfg.StateDir, cur.User, cur.Domain, exportKey)
	if err != nil {
		return nil, err
	}
	if !st.Migrated() {
		return nil, ErrNotMigrated
	}
	keys, err := st.UserKeys()
	if err != nil {
		return nil, err
	}
	acctKey, err := st.AccountKey()
	if err != nil {
		return nil, err
	}
	list, err := st.OwnList()
	if err != nil {
		return nil, err
	}
	if cur.Fingerprint == "" {
		cur.Fingerprint = st.Fingerprint
	}
	c := client.Offline(cur.Server, cur.Fingerprint)
	return &Session{
		cfg:       cfg,
		c:         c,
		acct:      &client.Account{Client: c, Domain: cur.Domain, User: cur.User, Keys: keys, AccountKey: acctKey, List: list, Known: st.Contacts, KnownLists: st.ContactLists, CommunityCA: st.CommunityCA},
		state:     st,
		exportKey: exportKey,
		cur:       cur,
		password:  pw,
	}, nil
}

// offlineKDF is the Argon2id cost of the offline key: that of the OPAQUE
// configuration, so that a guess against the file costs what a guess
// against the login would; a configuration without Argon2id (tests) gets
// the least cost.
func (cfg *Config) offlineKDF() client.OfflineKDF {
	var a opaque.Argon2id
	switch k := cfg.OPAQUE.KSF.(type) {
	case nil:
		a = opaque.DefaultArgon2id()
	case opaque.Argon2id:
		a = k
	case *opaque.Argon2id:
		a = *k
	default:
		return client.OfflineKDF{Time: 1, Memory: 64, Threads: 1}
	}
	return client.OfflineKDF{Time: a.Time, Memory: a.Memory, Threads: a.Threads}
}

// Connection returns the connection the Session logged in on, or nil when
// it was opened offline and has none.
func (s *Session) Connection() *client.Client {
	if s.c.IsOffline() {
		return nil
	}
	return s.c
}
