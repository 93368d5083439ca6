package chat

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/mls"
)

// The account keeps keyPackageTarget KeyPackages of each cipher suite it
// publishes on its node and tops them up when fewer than keyPackageLow are
// left, plus one last-resort KeyPackage per suite for when they run out.
const (
	keyPackageTarget = 10
	keyPackageLow    = 5
)

// storedBundle is a KeyPackage's private keys as the database keeps them.
// The signature key is the account's identity key, which is not stored
// again.
type storedBundle struct {
	KeyPackage []byte `json:"kp"` // the MLSMessage
	Init       []byte `json:"init"`
	Encryption []byte `json:"enc"`
	LastResort bool   `json:"last_resort,omitempty"`
}

// replenish uploads KeyPackages of every suite the account publishes when
// the node holds too few. e.mu is held.
func (e *Engine) replenish(ctx context.Context) error {
	for _, cs := range e.suites {
		if err := e.replenishSuite(ctx, cs); err != nil {
			return fmt.Errorf("key packages of %v: %w", cs.ID(), err)
		}
	}
	return nil
}

// replenishSuite tops up the KeyPackages of suite cs, in an upload of its
// own (the node takes one suite per upload).
func (e *Engine) replenishSuite(ctx context.Context, cs mls.CipherSuite) error {
	n, haveLastResort, err := e.acct.Client.KeyPackageCount(ctx, uint16(cs.ID()))
	if err != nil {
		return err
	}
	var pkgs [][]byte
	var last []byte
	err = e.db.Update(func(tx *chatdb.Tx) error {
		make1 := func(lastResort bool) ([]byte, error) {
			kpb, err := e.newKeyPackage(cs)
			if err != nil {
				return nil, err
			}
			msg, err := mls.Marshal(&mls.MLSMessage{Version: mls.ProtocolVersionMLS10, WireFormat: mls.WireFormatKeyPackage, KeyPackage: &kpb.KeyPackage})
			if err != nil {
				return nil, err
			}
			ref, err := kpb.KeyPackage.Ref(cs)
			if err != nil {
				return nil, err
			}
			rec, err := json.Marshal(storedBundle{KeyPackage: msg, Init: kpb.InitPriv, Encryption: kpb.EncryptionPriv, LastResort: lastResort})
			if err != nil {
				return nil, err
			}
			return msg, tx.PutKeyPackage(ref, rec)
		}
		if n < keyPackageLow {
			for range keyPackageTarget - n {
				p, err := make1(false)
				if err != nil {
					return err
				}
				pkgs = append(pkgs, p)
			}
		}
		if !haveLastResort {
			if last, err = make1(true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || (len(pkgs) == 0 && last == nil) {
		return err
	}
	e.log.Debug("uploading key packages", "suite", cs.ID(), "count", len(pkgs), "last_resort", last != nil)
	return e.acct.Client.UploadKeyPackages(ctx, pkgs, last)
}

// bundleFor finds the KeyPackage of this account that a Welcome is for.
func (e *Engine) bundleFor(tx *chatdb.Tx, w *mls.Welcome) (*mls.KeyPackageBundle, []byte, bool, error) {
	for _, s := range w.Secrets {
		raw, ok, err := tx.KeyPackage(s.NewMember)
		if err != nil {
			return nil, nil, false, err
		}
		if !ok {
			continue
		}
		var sb storedBundle
		if err := json.Unmarshal(raw, &sb); err != nil {
			return nil, nil, false, fmt.Errorf("chat: stored key package: %w", err)
		}
		var m mls.MLSMessage
		if err := mls.Unmarshal(sb.KeyPackage, &m); err != nil || m.KeyPackage == nil {
			return nil, nil, false, fmt.Errorf("chat: stored key package: %w", err)
		}
		kpb := &mls.KeyPackageBundle{KeyPackage: *m.KeyPackage, InitPriv: sb.Init, EncryptionPriv: sb.Encryption,
			SignaturePriv: e.acct.Keys.Identity.Seed()}
		return kpb, s.NewMember, sb.LastResort, nil
	}
	return nil, nil, false, nil
}
