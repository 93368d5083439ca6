package mls

import "fmt"

// PSKType distinguishes external and resumption PSKs.
type PSKType uint8

// PSK types.
const (
	// PSKExternal is a PSK agreed outside MLS.
	PSKExternal PSKType = 1
	// PSKResumption is a resumption secret of an earlier epoch.
	PSKResumption PSKType = 2
)

// ResumptionPSKUsage says why a resumption PSK is injected.
type ResumptionPSKUsage uint8

// Resumption PSK usages.
const (
	// ResumptionApplication is a resumption PSK injected by the application.
	ResumptionApplication ResumptionPSKUsage = 1
	// ResumptionReInit is the resumption PSK that links a re-initialized group.
	ResumptionReInit ResumptionPSKUsage = 2
	// ResumptionBranch is the resumption PSK that links a branched group.
	ResumptionBranch ResumptionPSKUsage = 3
)

// PreSharedKeyID names a PSK and carries a fresh nonce (RFC 9420 §8.4).
type PreSharedKeyID struct {
	Type PSKType
	// PSKID is set for external PSKs.
	PSKID []byte
	// Usage, PSKGroupID and PSKEpoch are set for resumption PSKs.
	Usage      ResumptionPSKUsage
	PSKGroupID []byte
	PSKEpoch   uint64
	Nonce      []byte
}

func (p *PreSharedKeyID) encode(w *writer) {
	w.u8(uint8(p.Type))
	switch p.Type {
	case PSKExternal:
		w.opaque(p.PSKID)
	case PSKResumption:
		w.u8(uint8(p.Usage))
		w.opaque(p.PSKGroupID)
		w.u64(p.PSKEpoch)
	default:
		if w.err == nil {
			w.err = fmt.Errorf("%w: psk type %d", ErrUnknownValue, p.Type)
		}
	}
	w.opaque(p.Nonce)
}

func (p *PreSharedKeyID) decode(r *reader) {
	p.Type = PSKType(r.u8())
	switch p.Type {
	case PSKExternal:
		p.PSKID = r.opaque()
	case PSKResumption:
		p.Usage = ResumptionPSKUsage(r.u8())
		if p.Usage < ResumptionApplication || p.Usage > ResumptionBranch {
			r.failf("%w: resumption usage %d", ErrUnknownValue, p.Usage)
		}
		p.PSKGroupID = r.opaque()
		p.PSKEpoch = r.u64()
	default:
		r.failf("%w: psk type %d", ErrUnknownValue, p.Type)
	}
	p.Nonce = r.opaque()
}

// ReInit proposes to restart the group with new parameters.
type ReInit struct {
	GroupID     []byte
	Version     ProtocolVersion
	CipherSuite CipherSuiteID
	Extensions  []Extension
}

func (p *ReInit) encode(w *writer) {
	w.opaque(p.GroupID)
	w.u16(uint16(p.Version))
	w.u16(uint16(p.CipherSuite))
	encodeVec(w, p.Extensions)
}

func (p *ReInit) decode(r *reader) {
	p.GroupID = r.opaque()
	p.Version = ProtocolVersion(r.u16())
	p.CipherSuite = CipherSuiteID(r.u16())
	p.Extensions = decodeVec[Extension](r)
}

// Proposal is one proposed change to the group (RFC 9420 §12.1). Exactly the
// field matching Type is set.
type Proposal struct {
	Type ProposalType
	// Add carries the new member's KeyPackage.
	Add *KeyPackage
	// Update carries the sender's new leaf.
	Update *LeafNode
	// Remove is the removed leaf.
	Remove LeafIndex
	// PSK names a pre-shared key to inject.
	PSK *PreSharedKeyID
	// ReInit carries the new group parameters.
	ReInit *ReInit
	// ExternalInitKEMOutput is the ExternalInit kem_output.
	ExternalInitKEMOutput []byte
	// GroupContextExtensions replaces the group context extensions.
	GroupContextExtensions []Extension
}

func (p *Proposal) encode(w *writer) {
	w.u16(uint16(p.Type))
	switch p.Type {
	case ProposalAdd:
		if p.Add == nil {
			w.err = fmt.Errorf("%w: add proposal without key package", ErrProposal)
			return
		}
		p.Add.encode(w)
	case ProposalUpdate:
		if p.Update == nil {
			w.err = fmt.Errorf("%w: update proposal without leaf node", ErrProposal)
			return
		}
		p.Update.encode(w)
	case ProposalRemove:
		w.u32(uint32(p.Remove))
	case ProposalPSK:
		if p.PSK == nil {
			w.err = fmt.Errorf("%w: psk proposal without id", ErrProposal)
			return
		}
		p.PSK.encode(w)
	case ProposalReInit:
		if p.ReInit == nil {
			w.err = fmt.Errorf("%w: reinit proposal without parameters", ErrProposal)
			return
		}
		p.ReInit.encode(w)
	case ProposalExternalInit:
		w.opaque(p.ExternalInitKEMOutput)
	case ProposalGroupContextExtensions:
		encodeVec(w, p.GroupContextExtensions)
	default:
		if w.err == nil {
			w.err = fmt.Errorf("%w: proposal type %d", ErrUnknownValue, p.Type)
		}
	}
}

func (p *Proposal) decode(r *reader) {
	p.Type = ProposalType(r.u16())
	switch p.Type {
	case ProposalAdd:
		p.Add = new(KeyPackage)
		p.Add.decode(r)
	case ProposalUpdate:
		p.Update = new(LeafNode)
		p.Update.decode(r)
	case ProposalRemove:
		p.Remove = LeafIndex(r.u32())
	case ProposalPSK:
		p.PSK = new(PreSharedKeyID)
		p.PSK.decode(r)
	case ProposalReInit:
		p.ReInit = new(ReInit)
		p.ReInit.decode(r)
	case ProposalExternalInit:
		p.ExternalInitKEMOutput = r.opaque()
	case ProposalGroupContextExtensions:
		p.GroupContextExtensions = decodeVec[Extension](r)
	default:
		r.failf("%w: proposal type %d", ErrUnknownValue, p.Type)
	}
}

// ProposalOrRef is a proposal carried by value or by ProposalRef in a Commit.
type ProposalOrRef struct {
	// Proposal is set for proposals by value.
	Proposal *Proposal
	// Reference is set for proposals by reference.
	Reference []byte
}

func (p *ProposalOrRef) encode(w *writer) {
	if p.Proposal != nil {
		w.u8(1)
		p.Proposal.encode(w)
		return
	}
	w.u8(2)
	w.opaque(p.Reference)
}

func (p *ProposalOrRef) decode(r *reader) {
	switch t := r.u8(); t {
	case 1:
		p.Proposal = new(Proposal)
		p.Proposal.decode(r)
	case 2:
		p.Reference = r.opaque()
	default:
		r.failf("%w: proposal-or-ref type %d", ErrUnknownValue, t)
	}
}

// UpdatePathNode carries a new public key and the path secret encrypted to
// the resolution of the copath child (RFC 9420 §7.6).
type UpdatePathNode struct {
	EncryptionKey       []byte
	EncryptedPathSecret []HPKECiphertext
}

func (u *UpdatePathNode) encode(w *writer) {
	w.opaque(u.EncryptionKey)
	encodeVec(w, u.EncryptedPathSecret)
}

func (u *UpdatePathNode) decode(r *reader) {
	u.EncryptionKey = r.opaque()
	u.EncryptedPathSecret = decodeVec[HPKECiphertext](r)
}

// UpdatePath is the committer's new leaf and the keys of its filtered direct path.
type UpdatePath struct {
	LeafNode LeafNode
	Nodes    []UpdatePathNode
}

func (u *UpdatePath) encode(w *writer) {
	u.LeafNode.encode(w)
	encodeVec(w, u.Nodes)
}

func (u *UpdatePath) decode(r *reader) {
	u.LeafNode.decode(r)
	u.Nodes = decodeVec[UpdatePathNode](r)
}

// Commit applies proposals and optionally refreshes the committer's path (RFC 9420 §12.4).
type Commit struct {
	Proposals []ProposalOrRef
	Path      *UpdatePath
}

func (c *Commit) encode(w *writer) {
	encodeVec(w, c.Proposals)
	encodeOptional(w, c.Path)
}

func (c *Commit) decode(r *reader) {
	c.Proposals = decodeVec[ProposalOrRef](r)
	c.Path = decodeOptional[UpdatePath](r)
}
