package chat

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/quicprochat/qpc/client/chatdb"
)

func receiptIDs(n int) []chatdb.MsgID {
	ids := make([]chatdb.MsgID, n)
	for i := range ids {
		ids[i][0], ids[i][15] = byte(i), byte(i+1)
	}
	return ids
}

func TestReceiptFramesDecodeToWhatWasEncoded(t *testing.T) {
	for _, f := range []receiptFrame{
		{Kind: ReceiptDelivered, IDs: receiptIDs(1)},
		{Kind: ReceiptRead, IDs: receiptIDs(MaxReceiptIDs)},
	} {
		b, err := f.marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseReceiptFrame(b)
		if err != nil || !reflect.DeepEqual(*got, f) {
			t.Fatalf("decoded %+v, %v; want %+v", got, err, f)
		}
		for n := range len(b) {
			if _, err := parseReceiptFrame(b[:n]); !errors.Is(err, ErrReceipt) {
				t.Errorf("truncated to %d of %d bytes: %v, want ErrReceipt", n, len(b), err)
			}
		}
		if _, err := parseReceiptFrame(append(bytes.Clone(b), 0)); !errors.Is(err, ErrReceipt) {
			t.Errorf("a trailing byte: %v, want ErrReceipt", err)
		}
	}
}

func TestReceiptFramesOutOfBoundsAreRefused(t *testing.T) {
	for name, f := range map[string]receiptFrame{
		"no ids":          {Kind: ReceiptDelivered},
		"too many ids":    {Kind: ReceiptDelivered, IDs: receiptIDs(MaxReceiptIDs + 1)},
		"an unknown kind": {Kind: 3, IDs: receiptIDs(1)},
		"the zero kind":   {Kind: 0, IDs: receiptIDs(1)},
	} {
		if _, err := f.marshal(); !errors.Is(err, ErrReceipt) {
			t.Errorf("%s: marshal %v, want ErrReceipt", name, err)
		}
	}
	for name, b := range map[string][]byte{
		"version 2":        append([]byte{2, 1, 1}, make([]byte, 16)...),
		"kind 3":           append([]byte{1, 3, 1}, make([]byte, 16)...),
		"count 0":          {1, 1, 0},
		"count past bound": append([]byte{1, 1, MaxReceiptIDs + 1}, make([]byte, 16*(MaxReceiptIDs+1))...),
	} {
		if _, err := parseReceiptFrame(b); !errors.Is(err, ErrReceipt) {
			t.Errorf("%s: %v, want ErrReceipt", name, err)
		}
	}
}

func FuzzParseReceiptFrame(f *testing.F) {
	for _, fr := range []receiptFrame{{Kind: ReceiptDelivered, IDs: receiptIDs(1)}, {Kind: ReceiptRead, IDs: receiptIDs(3)}} {
		b, err := fr.marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseReceiptFrame(b)
		if err != nil {
			if !errors.Is(err, ErrReceipt) {
				t.Fatalf("error %v is not ErrReceipt", err)
			}
			return
		}
		again, err := fr.marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded %+v does not encode to its input: %x, %v", fr, again, err)
		}
	})
}
