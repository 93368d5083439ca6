package protocol

import (
	"bytes"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/schemas"
)

// HealthToWire writes a health answer into w.
func HealthToWire(h Health, w schemas.Health) error {
	w.SetFilesBytes(h.Files.Bytes)
	w.SetFilesLimit(h.Files.Limit)
	w.SetFiles(uint32(h.Files.Count))
	for _, set := range []struct {
		fn  func(string) error
		val string
	}{
		{w.SetVersion, h.Version},
		{w.SetCommit, h.Commit},
		{w.SetPlatform, h.Platform},
		{w.SetNodeId, h.NodeID},
		{w.SetDomain, h.Domain},
		{w.SetMdnsInstance, h.MDNSInstance},
		{w.SetRegistration, h.Registration},
	} {
		if err := set.fn(set.val); err != nil {
			return err
		}
	}
	w.SetUptimeMillis(uint64(h.Uptime.Milliseconds()))
	if len(h.KTHead) > 0 {
		if err := w.SetKtHead(h.KTHead); err != nil {
			return err
		}
	}
	if len(h.KTEvidence) > 0 {
		if err := KTEvidenceToWire(h.KTEvidence, w.NewKtEvidence); err != nil {
			return err
		}
	}
	if len(h.ReportKey) > 0 {
		if err := w.SetReportKey(h.ReportKey); err != nil {
			return err
		}
	}
	if len(h.FederationCA) > 0 {
		list, err := w.NewFederationCa(int32(len(h.FederationCA)))
		if err != nil {
			return err
		}
		for i, der := range h.FederationCA {
			if err := list.Set(i, der); err != nil {
				return err
			}
		}
	}
	if len(h.Links) == 0 {
		return nil
	}
	list, err := w.NewLinks(int32(len(h.Links)))
	if err != nil {
		return err
	}
	for i, l := range h.Links {
		lw := list.At(i)
		if err := lw.SetDomain(l.Domain); err != nil {
			return err
		}
		if err := lw.SetAddress(l.Address); err != nil {
			return err
		}
		if err := lw.SetLastError(l.LastError); err != nil {
			return err
		}
		lw.SetState(linkStateToWire(l.State))
		if !l.Since.IsZero() {
			lw.SetSinceMillis(l.Since.UnixMilli())
		}
		lw.SetRelayedOut(l.RelayedOut)
		lw.SetRelayedIn(l.RelayedIn)
		lw.SetErrors(l.Errors)
	}
	return nil
}

// linkStateToWire maps a link state to the wire by name, not by number.
func linkStateToWire(s LinkState) schemas.LinkState {
	switch s {
	case LinkUp:
		return schemas.LinkState_up
	case LinkConnecting:
		return schemas.LinkState_connecting
	}
	return schemas.LinkState_down
}

// LinksFromWire reads the federation links of a health answer.
func LinksFromWire(list schemas.FederationLink_List) ([]Link, error) {
	out := make([]Link, list.Len())
	for i := range out {
		w := list.At(i)
		l := &out[i]
		var err error
		if l.Domain, err = w.Domain(); err != nil {
			return nil, err
		}
		if l.Address, err = w.Address(); err != nil {
			return nil, err
		}
		if l.LastError, err = w.LastError(); err != nil {
			return nil, err
		}
		switch w.State() {
		case schemas.LinkState_up:
			l.State = LinkUp
		case schemas.LinkState_connecting:
			l.State = LinkConnecting
		}
		if ms := w.SinceMillis(); ms != 0 {
			l.Since = time.UnixMilli(ms)
		}
		l.RelayedOut, l.RelayedIn, l.Errors = w.RelayedOut(), w.RelayedIn(), w.Errors()
	}
	return out, nil
}

// KeysToWire writes k into w; the client publishes keys with it too.
func KeysToWire(k PublishedKeys, w schemas.PublishedKeys) error {
	if err := w.SetIdentityKey(k.IdentityKey); err != nil {
		return err
	}
	if err := w.SetHpkeKey(k.HPKEKey); err != nil {
		return err
	}
	if !k.Published.IsZero() {
		w.SetPublishedMillis(k.Published.UnixMilli())
	}
	if len(k.Answer) > 0 {
		if err := w.SetAnswer(k.Answer); err != nil {
			return err
		}
	}
	if len(k.AccountKey) > 0 {
		if err := w.SetAccountKey(k.AccountKey); err != nil {
			return err
		}
	}
	if len(k.DeviceList) > 0 {
		if err := w.SetDeviceList(k.DeviceList); err != nil {
			return err
		}
	}
	if k.Transparency != nil {
		p, err := w.NewTransparency()
		if err != nil {
			return err
		}
		if err := KeyProofToWire(*k.Transparency, p); err != nil {
			return err
		}
	}
	return w.SetSignature(k.Signature)
}

// SetKeys allocates the results of a resolveUser (of NodeService or
// FederationService) with alloc and writes k into them.
func SetKeys[R interface {
	NewKeys() (schemas.PublishedKeys, error)
}](alloc func() (R, error), k PublishedKeys) error {
	res, err := alloc()
	if err != nil {
		return err
	}
	w, err := res.NewKeys()
	if err != nil {
		return err
	}
	return KeysToWire(k, w)
}

// SetKeyPackage allocates the results of a fetchKeyPackage (of either
// service) with alloc and writes the package into them.
func SetKeyPackage[R interface {
	SetPackage([]byte) error
	SetLastResort(bool)
}](alloc func() (R, error), pkg []byte, lastResort bool) error {
	res, err := alloc()
	if err != nil {
		return err
	}
	res.SetLastResort(lastResort)
	return res.SetPackage(pkg)
}

// KeysFromWire reads published keys, copying every byte slice out of the
// message.
func KeysFromWire(w schemas.PublishedKeys) (PublishedKeys, error) {
	var k PublishedKeys
	id, err := w.IdentityKey()
	if err != nil {
		return k, err
	}
	hk, err := w.HpkeKey()
	if err != nil {
		return k, err
	}
	sig, err := w.Signature()
	if err != nil {
		return k, err
	}
	answer, err := w.Answer()
	if err != nil {
		return k, err
	}
	ak, err := w.AccountKey()
	if err != nil {
		return k, err
	}
	list, err := w.DeviceList()
	if err != nil {
		return k, err
	}
	k.IdentityKey, k.HPKEKey, k.Signature, k.Answer = bytes.Clone(id), bytes.Clone(hk), bytes.Clone(sig), bytes.Clone(answer)
	k.AccountKey, k.DeviceList = bytes.Clone(ak), bytes.Clone(list)
	if ms := w.PublishedMillis(); ms != 0 {
		k.Published = time.UnixMilli(ms)
	}
	if w.HasTransparency() {
		tw, err := w.Transparency()
		if err != nil {
			return k, err
		}
		p, err := KeyProofFromWire(tw)
		if err != nil {
			return k, fmt.Errorf("transparency: %w", err)
		}
		k.Transparency = &p
	}
	return k, nil
}

// EnvelopeToWire writes m into w.
func EnvelopeToWire(m Outgoing, w schemas.Envelope) error {
	if err := w.SetRecipient(m.Recipient); err != nil {
		return err
	}
	w.SetTtlSeconds(uint32(m.TTL / time.Second))
	w.SetMaxHops(m.MaxHops)
	return w.SetPayload(m.Payload)
}

// EnvelopesToWire writes msgs into a new list of envelopes made by alloc
// (a Params' NewEnvelopes).
func EnvelopesToWire(msgs []Outgoing, alloc func(int32) (schemas.Envelope_List, error)) error {
	list, err := alloc(int32(len(msgs)))
	if err != nil {
		return err
	}
	for i, m := range msgs {
		if err := EnvelopeToWire(m, list.At(i)); err != nil {
			return err
		}
	}
	return nil
}

// EnvelopesFromWire reads a list of envelopes; a malformed one is a bad
// request.
func EnvelopesFromWire(list schemas.Envelope_List, err error) ([]Outgoing, error) {
	if err != nil {
		return nil, BadRequest(err)
	}
	msgs := make([]Outgoing, list.Len())
	for i := range msgs {
		if msgs[i], err = EnvelopeFromWire(list.At(i)); err != nil {
			return nil, BadRequest(err)
		}
	}
	return msgs, nil
}

// ReceiptsToWire writes receipts, stored at now, into a new list made by
// alloc (a Results' NewReceipts).
func ReceiptsToWire(receipts []Receipt, now time.Time, alloc func(int32) (schemas.Receipt_List, error)) error {
	out, err := alloc(int32(len(receipts)))
	if err != nil {
		return err
	}
	for i, r := range receipts {
		if err := ReceiptToWire(r, now, out.At(i)); err != nil {
			return err
		}
	}
	return nil
}

// EnvelopeFromWire reads an envelope, copying the payload out of the
// message.
func EnvelopeFromWire(w schemas.Envelope) (Outgoing, error) {
	rcpt, err := w.Recipient()
	if err != nil {
		return Outgoing{}, err
	}
	payload, err := w.Payload()
	if err != nil {
		return Outgoing{}, err
	}
	return Outgoing{
		Recipient: rcpt,
		Payload:   bytes.Clone(payload),
		TTL:       time.Duration(w.TtlSeconds()) * time.Second,
		MaxHops:   w.MaxHops(),
	}, nil
}

// ReceiptFromWire reads a receipt; its error, if any, is a *RemoteError.
// A receipt whose mesh id is not 32 bytes gets an error wrapping
// ErrMalformedAnswer instead of its parts: what became of its message is
// unknown.
func ReceiptFromWire(w schemas.Receipt) Receipt {
	r := Receipt{Seq: w.Seq(), Err: remoteError(w.Error())}
	if !w.HasMeshId() {
		return r
	}
	id, err := meshIDFromWire(w.MeshId())
	if err == nil {
		r.QueuedAt, err = w.QueuedAt()
	}
	if err != nil {
		return Receipt{Err: fmt.Errorf("%w: receipt: %v", ErrMalformedAnswer, err)}
	}
	r.MeshID = id
	return r
}

// ReceiptToWire writes r, stored at now, into w.
func ReceiptToWire(r Receipt, now time.Time, w schemas.Receipt) error {
	w.SetSeq(r.Seq)
	w.SetServerTimeMillis(now.UnixMilli())
	w.SetError(CodeOf(r.Err))
	if r.MeshID == (MeshID{}) {
		return nil
	}
	if err := w.SetMeshId(r.MeshID[:]); err != nil {
		return err
	}
	return w.SetQueuedAt(r.QueuedAt)
}

// remoteError returns the *RemoteError of a wire code, nil for none.
func remoteError(code schemas.ErrorCode) error {
	err := ErrorOf(code)
	if err == nil {
		return nil
	}
	return &RemoteError{Code: code, Message: err.Error()}
}

// MessagesToWire writes msgs into out, a list of their length.
func MessagesToWire(msgs []Message, out schemas.Message_List) error {
	for i, m := range msgs {
		w := out.At(i)
		w.SetSeq(m.Seq)
		w.SetEnqueuedMillis(m.Enqueued.UnixMilli())
		w.SetExpiresMillis(m.Expires.UnixMilli())
		if err := w.SetPayload(m.Payload); err != nil {
			return err
		}
	}
	return nil
}

// MessagesFromWire reads a list of messages, copying payloads out of the
// message.
func MessagesFromWire(list schemas.Message_List) ([]Message, error) {
	out := make([]Message, list.Len())
	for i := range out {
		w := list.At(i)
		p, err := w.Payload()
		if err != nil {
			return nil, err
		}
		out[i] = Message{
			Seq:      w.Seq(),
			Payload:  bytes.Clone(p),
			Enqueued: time.UnixMilli(w.EnqueuedMillis()),
			Expires:  time.UnixMilli(w.ExpiresMillis()),
		}
	}
	return out, nil
}

// HealthFromWire reads a health answer, the twin of HealthToWire.
func HealthFromWire(w schemas.Health) (Health, error) {
	var h Health
	for _, get := range []struct {
		name string
		fn   func() (string, error)
		dst  *string
	}{
		{"version", w.Version, &h.Version},
		{"commit", w.Commit, &h.Commit},
		{"platform", w.Platform, &h.Platform},
		{"nodeId", w.NodeId, &h.NodeID},
		{"domain", w.Domain, &h.Domain},
		{"mdnsInstance", w.MdnsInstance, &h.MDNSInstance},
		{"registration", w.Registration, &h.Registration},
	} {
		v, err := get.fn()
		if err != nil {
			return Health{}, fmt.Errorf("health.%s: %w", get.name, err)
		}
		*get.dst = v
	}
	h.Uptime = time.Duration(w.UptimeMillis()) * time.Millisecond
	h.Files = FileStoreHealth{Bytes: w.FilesBytes(), Limit: w.FilesLimit(), Count: int(w.Files())}
	if w.HasKtHead() {
		head, err := w.KtHead()
		if err != nil {
			return Health{}, fmt.Errorf("health.ktHead: %w", err)
		}
		h.KTHead = bytes.Clone(head)
	}
	if w.HasReportKey() {
		key, err := w.ReportKey()
		if err != nil {
			return Health{}, fmt.Errorf("health.reportKey: %w", err)
		}
		h.ReportKey = bytes.Clone(key)
	}
	if w.HasKtEvidence() {
		list, err := w.KtEvidence()
		if err != nil {
			return Health{}, fmt.Errorf("health.ktEvidence: %w", err)
		}
		if h.KTEvidence, err = KTEvidenceFromWire(list); err != nil {
			return Health{}, fmt.Errorf("health.ktEvidence: %w", err)
		}
	}
	if w.HasFederationCa() {
		list, err := w.FederationCa()
		if err != nil {
			return Health{}, fmt.Errorf("health.federationCa: %w", err)
		}
		for i := 0; i < list.Len(); i++ {
			der, err := list.At(i)
			if err != nil {
				return Health{}, fmt.Errorf("health.federationCa: %w", err)
			}
			h.FederationCA = append(h.FederationCA, append([]byte(nil), der...))
		}
	}
	if w.HasLinks() {
		list, err := w.Links()
		if err != nil {
			return Health{}, fmt.Errorf("health.links: %w", err)
		}
		if h.Links, err = LinksFromWire(list); err != nil {
			return Health{}, fmt.Errorf("health.links: %w", err)
		}
	}
	return h, nil
}
