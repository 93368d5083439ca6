package mls

import (
	"bytes"
	"fmt"
	"testing"
)

type treeKEMVector struct {
	CipherSuite             CipherSuiteID `json:"cipher_suite"`
	GroupID                 hexBytes      `json:"group_id"`
	Epoch                   uint64        `json:"epoch"`
	ConfirmedTranscriptHash hexBytes      `json:"confirmed_transcript_hash"`
	RatchetTree             hexBytes      `json:"ratchet_tree"`
	LeavesPrivate           []struct {
		Index          uint32   `json:"index"`
		EncryptionPriv hexBytes `json:"encryption_priv"`
		SignaturePriv  hexBytes `json:"signature_priv"`
		PathSecrets    []struct {
			Node       uint32   `json:"node"`
			PathSecret hexBytes `json:"path_secret"`
		} `json:"path_secrets"`
	} `json:"leaves_private"`
	UpdatePaths []struct {
		Sender        uint32     `json:"sender"`
		UpdatePath    hexBytes   `json:"update_path"`
		PathSecrets   []hexBytes `json:"path_secrets"`
		CommitSecret  hexBytes   `json:"commit_secret"`
		TreeHashAfter hexBytes   `json:"tree_hash_after"`
	} `json:"update_paths"`
}

// lowestCommonAncestor returns the lowest node above both leaves.
func lowestCommonAncestor(a, b LeafIndex) NodeIndex {
	x, y := a.Node(), b.Node()
	k := uint32(0)
	for x != y {
		x, y = x>>1, y>>1
		k++
	}
	return (x << k) | (1<<(k-1) - 1)
}

func TestTreeKEMVectors(t *testing.T) {
	var cases []treeKEMVector
	loadVectors(t, "treekem.json", &cases)
	checked := 0
	for i := range cases {
		if err := checkTreeKEMVector(t, &cases[i]); err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		checked++
	}
	reportCases(t, "treekem.json", checked)
}

func checkTreeKEMVector(t *testing.T, v *treeKEMVector) error {
	cs, err := Suite(v.CipherSuite)
	if err != nil {
		return err
	}
	var tree RatchetTree
	if err := Unmarshal(v.RatchetTree, &tree); err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	if err := tree.VerifyParentHashes(cs); err != nil {
		return err
	}
	gc := &GroupContext{Version: ProtocolVersionMLS10, CipherSuite: v.CipherSuite, GroupID: v.GroupID,
		Epoch: v.Epoch, ConfirmedTranscriptHash: v.ConfirmedTranscriptHash}
	privs := map[LeafIndex]*TreePrivateKey{}
	sigs := map[LeafIndex][]byte{}
	for _, lp := range v.LeavesPrivate {
		leaf := LeafIndex(lp.Index)
		k, err := NewTreePrivateKey(cs, leaf, lp.EncryptionPriv)
		if err != nil {
			return err
		}
		if !bytes.Equal(k.keys[leaf.Node()].pub, tree.Leaf(leaf).EncryptionKey) {
			return fmt.Errorf("leaf %d: private key does not match the tree", leaf)
		}
		for _, ps := range lp.PathSecrets {
			if err := k.SetPathSecret(cs, NodeIndex(ps.Node), ps.PathSecret); err != nil {
				return err
			}
		}
		privs[leaf] = k
		sigs[leaf] = lp.SignaturePriv
	}

	// Every member processes every vector UpdatePath.
	for _, u := range v.UpdatePaths {
		sender := LeafIndex(u.Sender)
		var up UpdatePath
		if err := Unmarshal(u.UpdatePath, &up); err != nil {
			return fmt.Errorf("update path from %d: %w", sender, err)
		}
		for leaf, k := range privs {
			if leaf == sender {
				continue
			}
			tr, pk := tree.Clone(), k.Clone()
			commit, err := tr.ApplyUpdatePath(cs, sender, &up, v.GroupID, gc, nil, pk)
			if err != nil {
				return fmt.Errorf("leaf %d processing path of %d: %w", leaf, sender, err)
			}
			if !bytes.Equal(commit, u.CommitSecret) {
				return fmt.Errorf("leaf %d processing path of %d: commit secret differs", leaf, sender)
			}
			if ps, _ := pk.PathSecret(lowestCommonAncestor(leaf, sender)); !bytes.Equal(ps, u.PathSecrets[leaf]) {
				return fmt.Errorf("leaf %d processing path of %d: path secret differs", leaf, sender)
			}
			if th, err := tr.TreeHash(cs); err != nil || !bytes.Equal(th, u.TreeHashAfter) {
				return fmt.Errorf("leaf %d processing path of %d: tree hash after differs", leaf, sender)
			}
			if err := tr.VerifyParentHashes(cs); err != nil {
				return fmt.Errorf("leaf %d processing path of %d: %w", leaf, sender, err)
			}
		}
	}

	// Every member creates a fresh UpdatePath that every other member processes.
	for sender := range privs {
		committed := tree.Clone()
		up, _, commit, err := committed.CreateUpdatePath(cs, sender, &UpdatePathParams{
			Leaf: *tree.Leaf(sender), SignaturePriv: sigs[sender], GroupID: v.GroupID, Context: gc,
		})
		if err != nil {
			return fmt.Errorf("leaf %d creating a path: %w", sender, err)
		}
		want, err := committed.TreeHash(cs)
		if err != nil {
			return err
		}
		if err := committed.VerifyParentHashes(cs); err != nil {
			return fmt.Errorf("leaf %d created a tree with %w", sender, err)
		}
		for leaf, rk := range privs {
			if leaf == sender {
				continue
			}
			tr := tree.Clone()
			got, err := tr.ApplyUpdatePath(cs, sender, up, v.GroupID, gc, nil, rk.Clone())
			if err != nil {
				return fmt.Errorf("leaf %d processing new path of %d: %w", leaf, sender, err)
			}
			if !bytes.Equal(got, commit) {
				return fmt.Errorf("leaf %d processing new path of %d: commit secret differs", leaf, sender)
			}
			if th, _ := tr.TreeHash(cs); !bytes.Equal(th, want) {
				return fmt.Errorf("leaf %d processing new path of %d: tree hash differs", leaf, sender)
			}
		}
	}
	return nil
}
