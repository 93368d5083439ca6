package protocol

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/quicprochat/qpc/schemas"
)

func TestKeysWithADeviceListRoundTrip(t *testing.T) {
	p := newRoot(t, schemas.NewRootNodeService_publishKeys_Params)
	w, err := p.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	k := PublishedKeys{IdentityKey: []byte{1}, HPKEKey: []byte{2}, Signature: []byte{3}, Published: time.UnixMilli(1000),
		AccountKey: bytes.Repeat([]byte{5}, 32), DeviceList: []byte("signed list")}
	if err := KeysToWire(k, w); err != nil {
		t.Fatal(err)
	}
	got, err := KeysFromWire(w)
	if err != nil || !bytes.Equal(got.AccountKey, k.AccountKey) || !bytes.Equal(got.DeviceList, k.DeviceList) ||
		!bytes.Equal(got.IdentityKey, k.IdentityKey) || !got.Published.Equal(k.Published) {
		t.Errorf("round trip: %+v, %v", got, err)
	}
}

func TestLinkRequestsRoundTripAndBadOnesAreMalformed(t *testing.T) {
	tag := bytes.Repeat([]byte{7}, LinkTagLen)
	reqs := []LinkRequest{{ID: 3, Request: []byte("fields"), Tag: tag, Created: time.UnixMilli(5000)}}
	r := newRoot(t, schemas.NewRootNodeService_linkRequests_Results)
	if err := LinkRequestsToWire(reqs, r.NewRequests); err != nil {
		t.Fatal(err)
	}
	list, err := r.Requests()
	if err != nil {
		t.Fatal(err)
	}
	got, err := LinkRequestsFromWire(list)
	if err != nil || len(got) != 1 || got[0].ID != 3 || !bytes.Equal(got[0].Request, reqs[0].Request) ||
		!bytes.Equal(got[0].Tag, tag) || !got[0].Created.Equal(reqs[0].Created) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, bad := range map[string][]LinkRequest{
		"a short tag":         {{ID: 1, Request: []byte("x"), Tag: tag[:31]}},
		"an empty request":    {{ID: 1, Tag: tag}},
		"a request too large": {{ID: 1, Request: make([]byte, MaxLinkRequest+1), Tag: tag}},
		"too many requests":   make([]LinkRequest, MaxLinkRequests+1),
	} {
		r := newRoot(t, schemas.NewRootNodeService_linkRequests_Results)
		if err := LinkRequestsToWire(bad, r.NewRequests); err != nil {
			t.Fatal(err)
		}
		list, _ := r.Requests()
		if _, err := LinkRequestsFromWire(list); !errors.Is(err, ErrMalformedAnswer) {
			t.Errorf("%s: %v, want ErrMalformedAnswer", name, err)
		}
	}
	if err := CheckLinkRequest([]byte("x"), tag); err != nil {
		t.Errorf("a good request: %v", err)
	}
	if err := CheckLinkRequest(nil, tag); !errors.Is(err, ErrBadRequest) {
		t.Errorf("an empty request: %v, want ErrBadRequest", err)
	}
}
