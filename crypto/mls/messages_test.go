package mls

import (
	"bytes"
	"testing"
)

// Test-only wrappers for proposal bodies that are not standalone types here.
type removeBody struct{ v uint32 }

func (b *removeBody) encode(w *writer) { w.u32(b.v) }
func (b *removeBody) decode(r *reader) { b.v = r.u32() }

type extensionsBody struct{ v []Extension }

func (b *extensionsBody) encode(w *writer) { encodeVec(w, b.v) }
func (b *extensionsBody) decode(r *reader) { b.v = decodeVec[Extension](r) }

type messagesVector struct {
	MLSWelcome                     hexBytes `json:"mls_welcome"`
	MLSGroupInfo                   hexBytes `json:"mls_group_info"`
	MLSKeyPackage                  hexBytes `json:"mls_key_package"`
	RatchetTree                    hexBytes `json:"ratchet_tree"`
	GroupSecrets                   hexBytes `json:"group_secrets"`
	AddProposal                    hexBytes `json:"add_proposal"`
	UpdateProposal                 hexBytes `json:"update_proposal"`
	RemoveProposal                 hexBytes `json:"remove_proposal"`
	PreSharedKeyProposal           hexBytes `json:"pre_shared_key_proposal"`
	ReInitProposal                 hexBytes `json:"re_init_proposal"`
	ExternalInitProposal           hexBytes `json:"external_init_proposal"`
	GroupContextExtensionsProposal hexBytes `json:"group_context_extensions_proposal"`
	Commit                         hexBytes `json:"commit"`
	PublicMessageApplication       hexBytes `json:"public_message_application"`
	PublicMessageProposal          hexBytes `json:"public_message_proposal"`
	PublicMessageCommit            hexBytes `json:"public_message_commit"`
	PrivateMessage                 hexBytes `json:"private_message"`
}

// fields pairs each encoded structure of a messages vector with a fresh
// value of the type it must decode into.
func (v *messagesVector) fields() []struct {
	name string
	data []byte
	val  codec
} {
	return []struct {
		name string
		data []byte
		val  codec
	}{
		{"mls_welcome", v.MLSWelcome, new(MLSMessage)},
		{"mls_group_info", v.MLSGroupInfo, new(MLSMessage)},
		{"mls_key_package", v.MLSKeyPackage, new(MLSMessage)},
		{"ratchet_tree", v.RatchetTree, new(RatchetTree)},
		{"group_secrets", v.GroupSecrets, new(GroupSecrets)},
		{"add_proposal", v.AddProposal, new(KeyPackage)},
		{"update_proposal", v.UpdateProposal, new(LeafNode)},
		{"remove_proposal", v.RemoveProposal, new(removeBody)},
		{"pre_shared_key_proposal", v.PreSharedKeyProposal, new(PreSharedKeyID)},
		{"re_init_proposal", v.ReInitProposal, new(ReInit)},
		{"external_init_proposal", v.ExternalInitProposal, new(Bytes)},
		{"group_context_extensions_proposal", v.GroupContextExtensionsProposal, new(extensionsBody)},
		{"commit", v.Commit, new(Commit)},
		{"public_message_application", v.PublicMessageApplication, new(MLSMessage)},
		{"public_message_proposal", v.PublicMessageProposal, new(MLSMessage)},
		{"public_message_commit", v.PublicMessageCommit, new(MLSMessage)},
		{"private_message", v.PrivateMessage, new(MLSMessage)},
	}
}

func TestMessagesVectors(t *testing.T) {
	var cases []messagesVector
	loadVectors(t, "messages.json", &cases)
	checked := 0
	for i := range cases {
		ok := true
		for _, f := range cases[i].fields() {
			if err := Unmarshal(f.data, f.val); err != nil {
				t.Errorf("case %d %s: decode: %v", i, f.name, err)
				ok = false
				continue
			}
			out, err := Marshal(f.val)
			if err != nil || !bytes.Equal(out, f.data) {
				t.Errorf("case %d %s: re-encoding differs (%v)", i, f.name, err)
				ok = false
			}
		}
		if ok {
			checked++
		}
	}
	reportCases(t, "messages.json", checked)
}
