package protocol

import (
	"bytes"
	"fmt"
	"time"

	"github.com/quicprochat/qpc/schemas"
)

// Bounds of a link request as the node takes and keeps it: the request is
// a device certificate's fields without the signature (a name of at most
// 32 bytes, an Ed25519 and an X-Wing key, a few length and version bytes),
// the tag an HMAC-SHA256.
const (
	// MaxLinkRequest is the largest request, in bytes.
	MaxLinkRequest = 2048
	// LinkTagLen is the length of a request's tag.
	LinkTagLen = 32
	// MaxLinkRequests is the most requests one answer of linkRequests
	// holds (a node keeps fewer per account).
	MaxLinkRequests = 16
)

// CheckLinkRequest checks the sizes of a link request as posted: request
// 1 to MaxLinkRequest bytes, tag LinkTagLen. A failure wraps ErrBadRequest.
func CheckLinkRequest(request, tag []byte) error {
	if len(request) == 0 || len(request) > MaxLinkRequest {
		return errorf(ErrBadRequest, "link request of %d bytes (1-%d)", len(request), MaxLinkRequest)
	}
	if len(tag) != LinkTagLen {
		return errorf(ErrBadRequest, "link request tag of %d bytes (want %d)", len(tag), LinkTagLen)
	}
	return nil
}

// LinkRequestsToWire writes reqs into a new list made by alloc (a
// linkRequests Results' NewRequests).
func LinkRequestsToWire(reqs []LinkRequest, alloc func(int32) (schemas.LinkRequest_List, error)) error {
	list, err := alloc(int32(len(reqs)))
	if err != nil {
		return err
	}
	for i, r := range reqs {
		w := list.At(i)
		w.SetId(r.ID)
		w.SetCreatedMillis(r.Created.UnixMilli())
		if err := w.SetRequest(r.Request); err != nil {
			return err
		}
		if err := w.SetTag(r.Tag); err != nil {
			return err
		}
	}
	return nil
}

// LinkRequestsFromWire reads a node's list of link requests, copying every
// byte slice out of the message. A list longer than MaxLinkRequests or a
// request that CheckLinkRequest refuses is ErrMalformedAnswer.
func LinkRequestsFromWire(list schemas.LinkRequest_List) ([]LinkRequest, error) {
	if list.Len() > MaxLinkRequests {
		return nil, fmt.Errorf("%w: %d link requests (at most %d)", ErrMalformedAnswer, list.Len(), MaxLinkRequests)
	}
	out := make([]LinkRequest, list.Len())
	for i := range out {
		w := list.At(i)
		req, err := w.Request()
		if err != nil {
			return nil, err
		}
		tag, err := w.Tag()
		if err != nil {
			return nil, err
		}
		if err := CheckLinkRequest(req, tag); err != nil {
			return nil, fmt.Errorf("%w: link request %d: %w", ErrMalformedAnswer, i, err)
		}
		out[i] = LinkRequest{ID: w.Id(), Request: bytes.Clone(req), Tag: bytes.Clone(tag)}
		if ms := w.CreatedMillis(); ms != 0 {
			out[i].Created = time.UnixMilli(ms)
		}
	}
	return out, nil
}
