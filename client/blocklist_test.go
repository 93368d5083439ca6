package client

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestABlockListRoundTripsSorted(t *testing.T) {
	raw, err := BlockList{Blocked: []string{"mallory@b.test", "eve@a.test"}}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"v":1,"blocked":["eve@a.test","mallory@b.test"]}` {
		t.Fatalf("encoded %s", raw)
	}
	l, err := ParseBlockList(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l.Blocked, []string{"eve@a.test", "mallory@b.test"}) {
		t.Fatalf("decoded %v", l.Blocked)
	}
	empty, err := BlockList{}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if l, err := ParseBlockList(empty); err != nil || len(l.Blocked) != 0 {
		t.Fatalf("the empty list: %v %v", l, err)
	}
}

func TestBadBlockListsAreRefused(t *testing.T) {
	many := make([]string, MaxBlocked+1)
	for i := range many {
		many[i] = fmt.Sprintf("u%04d@a.test", i)
	}
	if _, err := (BlockList{Blocked: many}).MarshalBinary(); !errors.Is(err, ErrBadBlockList) {
		t.Fatalf("%d entries: %v", len(many), err)
	}
	for name, raw := range map[string]string{
		"another version":  `{"v":2,"blocked":[]}`,
		"an unknown field": `{"v":1,"blocked":[],"x":1}`,
		"unsorted":         `{"v":1,"blocked":["b@x","a@x"]}`,
		"repeated":         `{"v":1,"blocked":["a@x","a@x"]}`,
		"a space":          `{"v":1,"blocked":["a b@x"]}`,
		"trailing data":    `{"v":1,"blocked":[]} {}`,
		"not JSON":         `v1`,
	} {
		if _, err := ParseBlockList([]byte(raw)); !errors.Is(err, ErrBadBlockList) {
			t.Errorf("%s: %v, want ErrBadBlockList", name, err)
		}
	}
}

func FuzzParseBlockList(f *testing.F) {
	f.Add([]byte(`{"v":1,"blocked":["eve@a.test","mallory@b.test"]}`))
	f.Add([]byte(`{"v":1,"blocked":[]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, err := ParseBlockList(raw)
		if err != nil {
			if !errors.Is(err, ErrBadBlockList) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := l.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted %q, cannot encode it: %v", raw, err)
		}
		if l2, err := ParseBlockList(again); err != nil || !slices.Equal(l2.Blocked, l.Blocked) {
			t.Fatalf("round trip of %q: %v %v", raw, l2, err)
		}
	})
}
