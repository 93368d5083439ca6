package mls

import (
	"bytes"
	"errors"
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

func TestUpdatePathRejections(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		before, _, up, privs := smallGroup(t, cs)
		tests := []struct {
			name   string
			mutate func(up *UpdatePath, priv *TreePrivateKey) *TreePrivateKey
			want   error
		}{
			{"an intact path is accepted", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey { return k }, nil},
			{"a path with a node missing is refused", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
				up.Nodes = up.Nodes[:len(up.Nodes)-1]
				return k
			}, ErrUpdatePath},
			{"a path whose keys do not match the leaf's parent hash is refused", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
				up.Nodes[1].EncryptionKey = bytes.Clone(up.Nodes[0].EncryptionKey)
				return k
			}, ErrParentHash},
			{"a path with a forged leaf signature is refused", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
				up.LeafNode.Signature = bytes.Clone(up.LeafNode.Signature)
				up.LeafNode.Signature[0] ^= 1
				return k
			}, ErrBadSignature},
			{"a tampered path secret ciphertext does not decrypt", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
				for i := range up.Nodes[1].EncryptedPathSecret {
					ct := &up.Nodes[1].EncryptedPathSecret[i]
					ct.Ciphertext = bytes.Clone(ct.Ciphertext)
					ct.Ciphertext[0] ^= 1
				}
				return k
			}, ErrDecryption},
			{"a member without the right private key cannot process the path", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
				other, _ := NewTreePrivateKey(cs, k.Leaf, newMember(t, cs, "stranger").encPriv)
				return other
			}, ErrNoPrivateKey},
			{"a member's own path is refused", func(up *UpdatePath, k *TreePrivateKey) *TreePrivateKey {
				return &TreePrivateKey{Leaf: 0, keys: k.keys}
			}, ErrUpdatePath},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				u := *up
				u.Nodes = append([]UpdatePathNode(nil), up.Nodes...)
				for i := range u.Nodes {
					u.Nodes[i].EncryptedPathSecret = append([]HPKECiphertext(nil), up.Nodes[i].EncryptedPathSecret...)
				}
				k := tc.mutate(&u, privs[3].Clone())
				_, err := before.Clone().ApplyUpdatePath(cs, 0, &u, testGroupID, testContext(cs), nil, k)
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
			})
		}
	})
}

func TestWelcomePathSecret(t *testing.T) {
	forEachSuite(t, func(t *testing.T, cs CipherSuite) {
		before, members, _, privs := smallGroup(t, cs)
		// The committer at leaf 0 adds a fifth member and sends it the path
		// secret of their lowest common ancestor, as a Welcome would.
		joiner := newMember(t, cs, "joiner")
		tree := before.Clone()
		newLeaf := tree.AddLeaf(joiner.leaf)
		up, committerPriv, commit, err := tree.CreateUpdatePath(cs, 0, &UpdatePathParams{
			Leaf: *members[0].leaf, SignaturePriv: members[0].sigPriv, GroupID: testGroupID,
			Context: testContext(cs), Exclude: []LeafIndex{newLeaf},
		})
		if err != nil {
			t.Fatal(err)
		}
		lca := lowestCommonAncestor(0, newLeaf)
		ps, ok := committerPriv.PathSecret(lca)
		if !ok {
			t.Fatalf("committer holds no path secret for node %d", lca)
		}
		jk, err := NewTreePrivateKey(cs, newLeaf, joiner.encPriv)
		if err != nil {
			t.Fatal(err)
		}
		got, err := jk.ImplantPathSecret(cs, tree, 0, ps)
		if err != nil || !bytes.Equal(got, commit) {
			t.Fatalf("joiner's commit secret differs (%v)", err)
		}
		// An existing member processes the same path, skipping the joiner.
		receiver := before.Clone()
		receiver.AddLeaf(joiner.leaf)
		got, err = receiver.ApplyUpdatePath(cs, 0, up, testGroupID, testContext(cs), []LeafIndex{newLeaf}, privs[2].Clone())
		if err != nil || !bytes.Equal(got, commit) {
			t.Fatalf("member's commit secret differs (%v)", err)
		}
		if _, err := jk.ImplantPathSecret(cs, tree, 0, make([]byte, 32)); !errors.Is(err, ErrUpdatePath) {
			t.Fatalf("wrong path secret: got %v", err)
		}

		committerPriv.ForgetPathSecrets()
		if _, ok := committerPriv.PathSecret(lca); ok {
			t.Fatalf("path secret kept after ForgetPathSecrets")
		}
		if _, ok := committerPriv.privateKey(tree, lca); !ok {
			t.Fatalf("node key lost with the path secrets")
		}
		// A later commit by another member replaces the keys above leaf 0.
		m2 := members[2]
		if _, _, _, err := tree.CreateUpdatePath(cs, 2, &UpdatePathParams{
			Leaf: *m2.leaf, SignaturePriv: m2.sigPriv, GroupID: testGroupID, Context: testContext(cs)}); err != nil {
			t.Fatal(err)
		}
		committerPriv.Prune(tree)
		if _, ok := committerPriv.keys[Root(tree.LeafCount())]; ok {
			t.Fatalf("stale root key kept after Prune")
		}
		if _, ok := committerPriv.keys[LeafIndex(0).Node()]; !ok {
			t.Fatalf("own leaf key dropped by Prune")
		}
	})
}
