package chat

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/client/chatdb"
)

func TestFramesRoundTrip(t *testing.T) {
	for _, member := range []bool{false, true} {
		w := &welcomeFrame{Kind: chatdb.KindGroup, Member: member, Home: "n1.example.mesh", Name: "friends", Welcome: []byte("mls welcome")}
		b, err := w.marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseWelcomeFrame(b)
		if err != nil || got.Kind != w.Kind || got.Member != member || got.Home != w.Home || got.Name != w.Name || !bytes.Equal(got.Welcome, w.Welcome) {
			t.Fatalf("welcome: %+v %v", got, err)
		}
	}
	g := &groupFrame{GroupID: []byte("0123456789abcdef"), Message: []byte("mls message")}
	gg, err := parseGroupFrame(g.marshal())
	if err != nil || !bytes.Equal(gg.GroupID, g.GroupID) || !bytes.Equal(gg.Message, g.Message) {
		t.Fatalf("group: %+v %v", gg, err)
	}
	c := &chatFrame{ID: newMsgID(), Seq: 7, Time: time.UnixMilli(1_700_000_000_123), Text: "héllo"}
	cb, err := c.marshal()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := parseChatFrame(cb)
	if err != nil || cc.ID != c.ID || cc.Seq != 7 || !cc.Time.Equal(c.Time) || cc.Text != c.Text {
		t.Fatalf("chat: %+v %v", cc, err)
	}
}

func TestBadFramesAreRefused(t *testing.T) {
	for name, b := range map[string][]byte{
		"welcome: empty":         {},
		"welcome: version 2":     {2, 3, 1, 'a', 0, 'w'},
		"welcome: kind note":     {1, 1, 1, 'a', 0, 'w'},
		"welcome: group no name": {1, 3, 1, 'a', 0, 'w'},
		"welcome: dm with name":  {1, 2, 1, 'a', 1, 'x', 'w'},
		"welcome: no home":       {1, 2, 0, 0, 'w'},
		"welcome: no welcome":    {1, 2, 1, 'a', 0},
		"welcome: control char":  {1, 3, 1, 'a', 1, '\n', 'w'},
		"welcome: short name":    {1, 3, 1, 'a', 5, 'x'},
	} {
		if _, err := parseWelcomeFrame(b); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, b := range map[string][]byte{
		"empty": {}, "no group id": {1, 0, 'm'}, "no message": {1, 1, 'g'}, "short id": {1, 5, 'g'},
	} {
		if _, err := parseGroupFrame(b); !errors.Is(err, ErrFrame) {
			t.Errorf("group %s: %v", name, err)
		}
	}
	good, _ := (&chatFrame{ID: newMsgID(), Seq: 1, Time: time.Now(), Text: "x"}).marshal()
	for name, b := range map[string][]byte{
		"short":    good[:chatHeader-1],
		"no text":  good[:chatHeader],
		"seq 0":    append(append(append([]byte{}, good[:17]...), make([]byte, 8)...), good[25:]...),
		"bad utf8": append(append([]byte{}, good[:chatHeader]...), 0xff),
		"too long": append(append([]byte{}, good[:chatHeader]...), strings.Repeat("a", MaxText+1)...),
	} {
		if _, err := parseChatFrame(b); !errors.Is(err, ErrFrame) {
			t.Errorf("chat %s: %v", name, err)
		}
	}
}

func FuzzParseWelcomeFrame(f *testing.F) {
	b, _ := (&welcomeFrame{Kind: chatdb.KindGroup, Home: "a.example", Name: "g", Welcome: []byte{1}}).marshal()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := parseWelcomeFrame(b)
		if err != nil {
			return
		}
		again, err := w.marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %x vs %x (%v)", again, b, err)
		}
	})
}

func FuzzParseGroupFrame(f *testing.F) {
	f.Add((&groupFrame{GroupID: []byte("g"), Message: []byte("m")}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := parseGroupFrame(b)
		if err == nil && !bytes.Equal(g.marshal(), b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

func FuzzParseChatFrame(f *testing.F) {
	b, _ := (&chatFrame{ID: newMsgID(), Seq: 1, Time: time.UnixMilli(5), Text: "hi"}).marshal()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseChatFrame(b)
		if err != nil {
			return
		}
		again, err := c.marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}
