package store

import (
	"encoding/hex"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/quicprochat/qpc/node"
	"github.com/quicprochat/qpc/protocol"
)

// devicesRecord is an account's devices as the store keeps them: what
// node.Devices says, and the legacy device, which owns the queue and key
// packages filed under the bare user name (see queueOwner).
type devicesRecord struct {
	legacy string
	node.Devices
}

// deviceLen is a device id's length in a record: the 8 bytes its 16 hex
// digits stand for.
const deviceLen = 8

// maxDevicesInRecord bounds a devices record's list: crypto/identity
// allows 8 current devices, a byte holds the count.
const maxDevicesInRecord = 255

// encodeDevices: version | legacy(8) | primary(8) | count(1) | count × device(8).
func encodeDevices(d devicesRecord) ([]byte, error) {
	if len(d.Current) > maxDevicesInRecord {
		return nil, fmt.Errorf("%w: %d current devices (at most %d)", protocol.ErrBadRequest, len(d.Current), maxDevicesInRecord)
	}
	b := []byte{recordVersion}
	for _, id := range append([]string{d.legacy, d.Primary}, d.Current...) {
		raw, err := hex.DecodeString(id)
		if err != nil || len(raw) != deviceLen {
			return nil, fmt.Errorf("%w: device id %q", protocol.ErrBadAddress, id)
		}
		b = append(b, raw...)
		if len(b) == 1+2*deviceLen {
			b = append(b, byte(len(d.Current)))
		}
	}
	return b, nil
}

// decodeDevices decodes a devices record.
func decodeDevices(b []byte) (devicesRecord, error) {
	body, err := recordBody("devices", b)
	if err != nil {
		return devicesRecord{}, err
	}
	if len(body) < 2*deviceLen+1 {
		return devicesRecord{}, truncated("devices", 2*deviceLen+1, len(body))
	}
	n := int(body[2*deviceLen])
	if want := 2*deviceLen + 1 + n*deviceLen; len(body) != want {
		return devicesRecord{}, fmt.Errorf("%w: devices record of %d bytes for %d devices (want %d)", ErrCorrupt, len(body), n, want)
	}
	d := devicesRecord{legacy: hex.EncodeToString(body[:deviceLen])}
	d.Primary = hex.EncodeToString(body[deviceLen : 2*deviceLen])
	rest := body[2*deviceLen+1:]
	for i := 0; i < n; i++ {
		d.Current = append(d.Current, hex.EncodeToString(rest[i*deviceLen:(i+1)*deviceLen]))
	}
	if !d.Has(d.Primary) {
		return devicesRecord{}, fmt.Errorf("%w: devices record's primary %s is not current", ErrCorrupt, d.Primary)
	}
	return d, nil
}

// readDevices returns user's devices record; ok false for an account
// without a device list.
func readDevices(tx *bolt.Tx, user string) (d devicesRecord, ok bool, err error) {
	raw := tx.Bucket(bucketDevices).Get([]byte(user))
	if raw == nil {
		return devicesRecord{}, false, nil
	}
	d, err = decodeDevices(raw)
	if err != nil {
		return devicesRecord{}, false, fmt.Errorf("devices of %q: %w", user, err)
	}
	return d, true, nil
}

// queueOwner returns the key under which queue's messages and key packages
// are filed, for a queue name "user" or "user#device", after checking that
// the account exists (protocol.ErrUnknownUser) and the device is current
// (protocol.ErrDeviceRevoked).
//
// The legacy device, the primary of the first list the account published,
// owns what is filed under the bare user name: the mailbox and key packages
// that the account had before it had devices, so that nothing stored then
// moves and the mailbox's sequence numbers go on. Every other device's are
// filed under "user#device" ('#' is not in user names).
func queueOwner(tx *bolt.Tx, queue string) (owner, user string, err error) {
	user, device, err := protocol.ParseQueue(queue)
	if err != nil {
		return "", "", fmt.Errorf("%w: %q", protocol.ErrUnknownUser, queue)
	}
	if err := hasAccount(tx, user); err != nil {
		return "", "", err
	}
	d, ok, err := readDevices(tx, user)
	if err != nil {
		return "", "", err
	}
	if !ok {
		if device != "" {
			return "", "", fmt.Errorf("%w: %q has published no device list", protocol.ErrDeviceRevoked, queue)
		}
		return user, user, nil
	}
	if device == "" {
		device = d.Primary
	}
	if !d.Has(device) {
		return "", "", fmt.Errorf("%w: %s of %q", protocol.ErrDeviceRevoked, device, user)
	}
	if device == d.legacy {
		return user, user, nil
	}
	return protocol.QueueName(user, device), user, nil
}

// ownerOf is what queueOwner answered for one queue name.
type ownerOf struct {
	owner, user string
	err         error
}

// accountOf returns the user of an owner key ("user" or "user#device").
func accountOf(owner string) string {
	for i := 0; i < len(owner); i++ {
		if owner[i] == '#' {
			return owner[:i]
		}
	}
	return owner
}

// putDevices replaces user's devices record with d (deletes it for the
// zero Devices) and empties the queues and key packages of the devices
// that were current and are not in d, returning the payload bytes freed.
func putDevices(tx *bolt.Tx, user string, d node.Devices) (freed uint64, err error) {
	old, had, err := readDevices(tx, user)
	if err != nil {
		return 0, err
	}
	var owners []string
	if had {
		for _, dev := range old.Current {
			if d.Has(dev) {
				continue
			}
			if dev == old.legacy {
				owners = append(owners, user)
			} else {
				owners = append(owners, protocol.QueueName(user, dev))
			}
		}
	}
	if d.Primary == "" {
		if err := tx.Bucket(bucketDevices).Delete([]byte(user)); err != nil {
			return 0, err
		}
	} else {
		if !d.Has(d.Primary) {
			return 0, fmt.Errorf("%w: primary device %s is not current", protocol.ErrBadRequest, d.Primary)
		}
		rec := devicesRecord{legacy: old.legacy, Devices: node.Devices{Primary: d.Primary, Current: slices.Clone(d.Current)}}
		if !had {
			// The first list: its primary takes over what the account
			// had before devices.
			rec.legacy = d.Primary
		}
		raw, err := encodeDevices(rec)
		if err != nil {
			return 0, err
		}
		if err := tx.Bucket(bucketDevices).Put([]byte(user), raw); err != nil {
			return 0, err
		}
	}
	for _, owner := range owners {
		n, err := clearQueue(tx, owner)
		if err != nil {
			return 0, err
		}
		freed += n
		if err := deleteOwnerKeyPackages(tx, owner); err != nil {
			return 0, err
		}
	}
	return freed, nil
}

// clearQueue removes every message of owner's queue, keeping the queue's
// last seq (the bare user's queue stays, empty, as every account has it;
// a device's goes) and returns the payload bytes freed.
func clearQueue(tx *bolt.Tx, owner string) (uint64, error) {
	raw := tx.Bucket(bucketMailboxMeta).Get([]byte(owner))
	if raw == nil {
		return 0, nil
	}
	meta, err := decodeQueueMeta(raw)
	if err != nil {
		return 0, err
	}
	if err := deleteMailbox(tx, owner); err != nil {
		return 0, err
	}
	if owner != accountOf(owner) {
		return meta.bytes, tx.Bucket(bucketMailboxMeta).Delete([]byte(owner))
	}
	if _, err := tx.Bucket(bucketMailboxes).CreateBucket([]byte(owner)); err != nil {
		return 0, err
	}
	freed := meta.bytes
	meta.count, meta.bytes = 0, 0
	return freed, tx.Bucket(bucketMailboxMeta).Put([]byte(owner), encodeQueueMeta(meta))
}

// accountQueues returns the owner keys of every queue user has: the bare
// name's and each "user#device" with a record.
func accountQueues(tx *bolt.Tx, user string) [][]byte {
	out := [][]byte{[]byte(user)}
	prefix := []byte(user + "#")
	c := tx.Bucket(bucketMailboxMeta).Cursor()
	for k, _ := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, _ = c.Next() {
		out = append(out, append([]byte{}, k...))
	}
	return out
}

// accountTotals sums the messages and payload bytes of every queue of
// user, for the bounds that hold per account.
func accountTotals(tx *bolt.Tx, user string) (count, bytes uint64, err error) {
	for _, k := range accountQueues(tx, user) {
		raw := tx.Bucket(bucketMailboxMeta).Get(k)
		if raw == nil {
			continue
		}
		meta, err := decodeQueueMeta(raw)
		if err != nil {
			return 0, 0, err
		}
		count += meta.count
		bytes += meta.bytes
	}
	return count, bytes, nil
}

// Devices returns user's devices as last put by PutKeys (the zero
// node.Devices for an account without a list); protocol.ErrUnknownUser if
// there is no such account.
func (s *Store) Devices(user string) (node.Devices, error) {
	var d node.Devices
	err := s.view("devices", func(tx *bolt.Tx) error {
		if err := hasAccount(tx, user); err != nil {
			return err
		}
		rec, _, err := readDevices(tx, user)
		d = rec.Devices
		return err
	})
	return d, err
}
