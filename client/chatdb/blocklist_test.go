package chatdb

import (
	"slices"
	"testing"
	"time"
)

func TestTheBlockListIsKeptSealedAndSorted(t *testing.T) {
	db, _ := newDB(t)
	err := db.View(func(tx *Tx) error {
		l, err := tx.BlockList()
		if err != nil || len(l.Blocked) != 0 || !l.Updated.IsZero() {
			t.Errorf("a new database's list: %+v %v", l, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	l := BlockList{Updated: when}.With("Mallory@B.example", true).With("eve@a.example", true).With("zed@a.example", true).With("zed@a.example", false)
	if err := db.Update(func(tx *Tx) error { return tx.PutBlockList(l) }); err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		got, err := tx.BlockList()
		if err != nil {
			return err
		}
		if !slices.Equal(got.Blocked, []string{"eve@a.example", "mallory@b.example"}) || !got.Updated.Equal(when) {
			t.Errorf("read back %+v", got)
		}
		if !got.Has("MALLORY@b.example") || got.Has("zed@a.example") {
			t.Errorf("Has: %+v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestABlockListRecordOutOfOrderIsCorrupt(t *testing.T) {
	l := BlockList{Blocked: []string{"b@x", "a@x"}}
	if _, err := decodeBlockList(encodeBlockList(&l)); err == nil {
		t.Fatal("an unsorted list decoded")
	}
	l = BlockList{Blocked: []string{"A@x"}}
	if _, err := decodeBlockList(encodeBlockList(&l)); err == nil {
		t.Fatal("an upper-case address decoded")
	}
}

func FuzzDecodeBlockList(f *testing.F) {
	fuzzDecode(f, encodeBlockList, decodeBlockList, BlockList{Blocked: []string{"a@x", "b@y"}, Updated: time.Unix(1, 2)}, BlockList{})
}
