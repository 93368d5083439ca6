package mls

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"
)

// seedFile adds every hex string found under the given JSON keys of a vector
// file to the fuzz corpus. A missing file adds nothing: the fuzz targets
// still run on their built-in seeds.
func seedFile(f *testing.F, name string, keys ...string) {
	data, err := os.ReadFile(vectorPath(f, name))
	if err != nil {
		return
	}
	var doc any
	if json.Unmarshal(data, &doc) != nil {
		return
	}
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && want[k] {
					var h hexBytes
					if h.UnmarshalJSON([]byte(`"`+s+`"`)) == nil {
						f.Add([]byte(h))
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

// roundTrip decodes data into v and, when it decodes, insists that the strict
// decoder accepted only the canonical encoding.
func roundTrip(t *testing.T, data []byte, v codec) bool {
	if Unmarshal(data, v) != nil {
		return false
	}
	out, err := Marshal(v)
	if err != nil {
		t.Fatalf("decoded value does not re-encode: %v", err)
	}
	if !bytes.Equal(out, data) {
		t.Fatalf("re-encoding differs from accepted input:\n in  %x\n out %x", data, out)
	}
	return true
}

func FuzzMLSMessage(f *testing.F) {
	seedFile(f, "messages.json", "mls_welcome", "mls_group_info", "mls_key_package",
		"public_message_application", "public_message_proposal", "public_message_commit", "private_message")
	seedFile(f, "message-protection.json", "proposal_pub", "proposal_priv", "commit_pub", "commit_priv", "application_priv")
	seedFile(f, "welcome.json", "welcome", "key_package")
	f.Add([]byte{0, 1, 0, 2})
	seedPQMessages(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m MLSMessage
		if !roundTrip(t, data, &m) {
			return
		}
		// Every message goes through the paths of both suites: the
		// post-quantum one reads X-Wing keys and SHA-384 secrets.
		for _, cs := range []CipherSuite{suite1, suitePQ} {
			nh := cs.HashLen()
			switch {
			case m.KeyPackage != nil:
				_ = m.KeyPackage.VerifySignature(cs)
				_, _ = m.KeyPackage.Ref(cs)
				_ = m.KeyPackage.Validate(cs, time.Unix(0, 0))
			case m.PublicMessage != nil:
				gc := &GroupContext{GroupID: m.PublicMessage.Content.GroupID, Epoch: m.PublicMessage.Content.Epoch}
				_, _ = UnprotectPublic(cs, m.PublicMessage, make([]byte, nh), gc)
			case m.PrivateMessage != nil:
				gc := &GroupContext{GroupID: m.PrivateMessage.GroupID, Epoch: m.PrivateMessage.Epoch}
				_, _ = UnprotectPrivate(cs, m.PrivateMessage, make([]byte, nh), NewSecretTree(cs, make([]byte, nh), 4), gc)
			}
		}
	})
}

// seedPQMessages adds messages of a group in the post-quantum suite: a
// KeyPackage, an add commit and its Welcome, a self-update commit and an
// application message.
func seedPQMessages(f *testing.F) {
	w := newWorld(f, suitePQ, nil)
	w.add("c0", 2)
	kp, err := Marshal(&MLSMessage{Version: ProtocolVersionMLS10, WireFormat: WireFormatKeyPackage, KeyPackage: &newBundle(f, suitePQ, "x").KeyPackage})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(kp)
	out, err := w.members["c0"].AddMembers(&newBundle(f, suitePQ, "y").KeyPackage)
	if err != nil {
		f.Fatal(err)
	}
	w.members["c0"].DiscardPendingCommit()
	f.Add(out.Commit)
	f.Add(out.Welcome)
	up, err := w.members["c1"].SelfUpdate()
	if err != nil {
		f.Fatal(err)
	}
	w.members["c1"].DiscardPendingCommit()
	f.Add(up.Commit)
	app, err := w.members["c2"].Encrypt([]byte("hello"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(app)
}

func FuzzRatchetTree(f *testing.F) {
	seedFile(f, "messages.json", "ratchet_tree")
	seedFile(f, "tree-validation.json", "tree")
	seedFile(f, "tree-operations.json", "tree_before", "tree_after")
	seedFile(f, "treekem.json", "ratchet_tree")
	cs := suite1
	f.Fuzz(func(t *testing.T, data []byte) {
		var tree RatchetTree
		if !roundTrip(t, data, &tree) {
			return
		}
		if tree.LeafCount() > 256 {
			return // keep each input cheap; shape checks above already ran
		}
		if _, err := tree.TreeHashes(cs); err != nil {
			t.Fatalf("tree hash of a decoded tree: %v", err)
		}
		for x := range NodeWidth(tree.LeafCount()) {
			_ = tree.Resolution(NodeIndex(x))
		}
		_ = tree.Validate(cs, []byte("group"))
		for _, l := range tree.Members() {
			_, _ = tree.FilteredDirectPath(l)
		}
		if m := tree.Members(); len(m) > 1 {
			c := tree.Clone()
			_ = c.RemoveLeaf(m[0])
			_, _ = c.TreeHash(cs)
		}
	})
}

func FuzzStructures(f *testing.F) {
	seedFile(f, "messages.json", "group_secrets", "add_proposal", "update_proposal", "remove_proposal",
		"pre_shared_key_proposal", "re_init_proposal", "external_init_proposal", "commit")
	seedFile(f, "tree-operations.json", "proposal")
	seedFile(f, "treekem.json", "update_path")
	seedFile(f, "transcript-hashes.json", "authenticated_content")
	decoders := []func() codec{
		func() codec { return new(GroupSecrets) },
		func() codec { return new(KeyPackage) },
		func() codec { return new(LeafNode) },
		func() codec { return new(PreSharedKeyID) },
		func() codec { return new(ReInit) },
		func() codec { return new(Commit) },
		func() codec { return new(Proposal) },
		func() codec { return new(UpdatePath) },
		func() codec { return new(AuthenticatedContent) },
		func() codec { return new(GroupInfo) },
		func() codec { return new(GroupContext) },
		func() codec { return new(Welcome) },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range decoders {
			roundTrip(t, data, d())
		}
	})
}

// TestTruncatedMessagesAreRejected cuts every vector message short at every
// length and checks the decoder reports an error instead of accepting it.
func TestTruncatedMessagesAreRejected(t *testing.T) {
	var cases []messagesVector
	loadVectors(t, "messages.json", &cases)
	for _, f := range cases[0].fields() {
		for n := range len(f.data) {
			fresh := cloneEmpty(f.val)
			if err := Unmarshal(f.data[:n], fresh); err == nil {
				t.Errorf("%s cut to %d of %d bytes decoded without error", f.name, n, len(f.data))
				break
			}
		}
		if err := Unmarshal(append(bytes.Clone(f.data), 0), cloneEmpty(f.val)); err == nil {
			t.Errorf("%s with a trailing byte decoded without error", f.name)
		}
	}
}

// cloneEmpty returns a new zero value of the same codec type as v.
func cloneEmpty(v codec) codec {
	return reflect.New(reflect.TypeOf(v).Elem()).Interface().(codec)
}
