package chat

// This file is what the chat database contributes to an account on many
// devices (issue 22): the contacts and conversations a device that
// approves a link hands the new one (client.SyncBundle), and the notices
// of a contact adding or removing a device, shown once.

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/quicprochat/qpc/client"
	"github.com/quicprochat/qpc/client/chatdb"
)

// SyncContents returns the contacts of the account with their
// verification marks, as a client.SyncBundle carries them, at most
// client.MaxSyncContacts.
func (e *Engine) SyncContents() ([]client.SyncContact, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var contacts []client.SyncContact
	err := e.db.View(func(tx *chatdb.Tx) error {
		cts, err := tx.Contacts()
		if err != nil {
			return err
		}
		for _, ct := range cts {
			if len(contacts) == client.MaxSyncContacts || len(ct.IdentityKey) == 0 {
				continue
			}
			sc := client.SyncContact{Address: ct.Address, AccountKey: bytes.Clone(ct.IdentityKey)}
			if ct.Verified && len(ct.VerifiedKey) > 0 {
				sc.Verified, sc.VerifiedKey = true, bytes.Clone(ct.VerifiedKey)
			}
			contacts = append(contacts, sc)
		}
		return nil
	})
	return contacts, err
}

// ImportContacts records contacts handed over by another device of the
// account. A contact this device already knows keeps what it knows (it
// saw it itself); a verification mark is taken only for the key the
// contact has now. It returns how many contacts it added.
func (e *Engine) ImportContacts(contacts []client.SyncContact) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	added := 0
	err := e.db.Update(func(tx *chatdb.Tx) error {
		for _, sc := range contacts {
			addr, err := e.normalize(sc.Address)
			if err != nil || addr == e.self {
				continue
			}
			if _, ok, err := tx.Contact(addr); err != nil {
				return err
			} else if ok {
				continue
			}
			ct := chatdb.Contact{Address: addr, IdentityKey: bytes.Clone(sc.AccountKey), Updated: e.now()}
			if sc.Verified {
				ct.Verified, ct.VerifiedKey = true, bytes.Clone(sc.VerifiedKey)
				ct.KeyChanged = !bytes.Equal(sc.VerifiedKey, sc.AccountKey)
			}
			if err := tx.PutContact(&ct); err != nil {
				return err
			}
			added++
		}
		return nil
	})
	return added, err
}

// contactDevicesMeta names the chat database setting that holds the
// device lists seen of the contacts: one record, so that the addresses
// stay inside the sealed value and out of the setting's name.
const contactDevicesMeta = "contact-devices"

// seenDevices is what the account saw of a contact's devices.
type seenDevices struct {
	AccountKey []byte `json:"k"`
	Seq        uint64 `json:"s"`
	// Devices are the current devices by id, with their names.
	Devices map[string]string `json:"d"`
}

// NoteDevices compares the device list p publishes with the one seen
// before and returns a one-line notice for each device added or removed
// since ("alice@x added a device 'desk' on 2026-12-08"), also written in
// the DM with p. Each change is told once: the first list seen of a
// contact, a list under another account key (a key change, which
// NoteContact shows loudly) and a list not newer than the one seen are
// recorded without notices.
func (e *Engine) NoteDevices(p client.Peer) ([]string, error) {
	if p.List == nil {
		return nil, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	addr, err := e.normalize(p.Address)
	if err != nil || addr == e.self {
		return nil, err
	}
	var notices []string
	err = e.db.Update(func(tx *chatdb.Tx) error {
		all := map[string]seenDevices{}
		if raw, err := tx.Meta(contactDevicesMeta); err != nil {
			return err
		} else if raw != nil {
			if err := json.Unmarshal(raw, &all); err != nil {
				// A record this build cannot read is started over: the
				// notices are a courtesy, the list is verified anyway.
				all = map[string]seenDevices{}
			}
		}
		old, known := all[addr]
		if known && bytes.Equal(old.AccountKey, p.AccountKey) && p.List.Seq <= old.Seq {
			return nil
		}
		now := seenDevices{AccountKey: bytes.Clone(p.AccountKey), Seq: p.List.Seq, Devices: map[string]string{}}
		for _, d := range p.Devices {
			now.Devices[d.ID.String()] = d.Name
		}
		if known && bytes.Equal(old.AccountKey, p.AccountKey) {
			for _, d := range p.List.Devices {
				id := d.ID.String()
				_, before := old.Devices[id]
				switch {
				case d.Current() && !before:
					notices = append(notices, fmt.Sprintf("%s added a device '%s' on %s", addr, d.Name, d.Added.Local().Format("2006-01-02")))
				case !d.Current() && before:
					notices = append(notices, fmt.Sprintf("%s removed the device '%s' on %s", addr, d.Name, d.Revoked.Local().Format("2006-01-02")))
				}
			}
		}
		all[addr] = now
		raw, err := json.Marshal(all)
		if err != nil {
			return err
		}
		if err := tx.PutMeta(contactDevicesMeta, raw); err != nil {
			return err
		}
		if len(notices) == 0 {
			return nil
		}
		c, ok, err := e.dmConversation(tx, addr)
		if err != nil || !ok {
			return err
		}
		for _, n := range notices {
			if err := e.systemLine(tx, &c, "%s", n); err != nil {
				return err
			}
		}
		return nil
	})
	return notices, err
}
