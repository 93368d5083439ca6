package client

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/keystore"
	"github.com/quicprochat/qpc/crypto/sealed"
)

var replayTestKey = bytes.Repeat([]byte{7}, 64)

// clock is a settable clock for the cache.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func loadReplay(t *testing.T, dir string, clk *clock) *ReplayCache {
	t.Helper()
	c, err := LoadReplayCache(dir, "bob", "b.mesh", replayTestKey)
	if err != nil {
		t.Fatal(err)
	}
	c.Now = clk.now
	return c
}

func TestReplayCacheRefusesTheSameSenderAndIDTwice(t *testing.T) {
	clk := &clock{time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	c := loadReplay(t, t.TempDir(), clk)
	id := sealed.NewID()
	if err := c.Check("alice@a.mesh", id, clk.t); err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	for _, sender := range []string{"alice@a.mesh", "ALICE@a.mesh"} {
		if err := c.Check(sender, id, clk.t); !errors.Is(err, ErrReplayed) {
			t.Errorf("copy from %s: %v, want ErrReplayed", sender, err)
		}
	}
	// The id is the sender's: another sender's message with the same id
	// (it cannot know ours) is its own message.
	if err := c.Check("carol@a.mesh", id, clk.t); err != nil {
		t.Errorf("same id from another sender: %v", err)
	}
}

func TestReplayCacheRefusesMessagesOutsideTheWindow(t *testing.T) {
	clk := &clock{time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	c := loadReplay(t, t.TempDir(), clk)
	for _, tt := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"written just inside the window", clk.t.Add(-ReplayWindow + time.Minute), true},
		{"written just before the window", clk.t.Add(-ReplayWindow - time.Minute), false},
		{"dated a year ago", clk.t.AddDate(-1, 0, 0), false},
		{"dated within the clock skew ahead", clk.t.Add(MaxClockSkew - time.Minute), true},
		{"dated beyond the clock skew ahead", clk.t.Add(MaxClockSkew + time.Minute), false},
		{"dated at the Unix epoch", time.UnixMilli(0), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Check("alice@a.mesh", sealed.NewID(), tt.at)
			if tt.ok && err != nil || !tt.ok && !errors.Is(err, ErrStaleMessage) {
				t.Errorf("Check = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestReplayCacheSurvivesARestartAndForgetsIDsPastTheWindow(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	c := loadReplay(t, dir, clk)
	older, newer := sealed.NewID(), sealed.NewID()
	if err := c.Check("alice@a.mesh", older, clk.t.Add(-ReplayWindow/2)); err != nil {
		t.Fatal(err)
	}
	if err := c.Check("alice@a.mesh", newer, clk.t); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(replayPath(dir, "bob", "b.mesh")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v %v", fi, err)
	}

	// A new run of the client: both are still known.
	c = loadReplay(t, dir, clk)
	if c.Len() != 2 {
		t.Fatalf("loaded %d ids, want 2", c.Len())
	}
	if err := c.Check("alice@a.mesh", older, clk.t.Add(-ReplayWindow/2)); !errors.Is(err, ErrReplayed) {
		t.Errorf("copy after a restart: %v", err)
	}

	// ReplayWindow/2 + a day later, the older one is past the window: its
	// id is forgotten on load, and a copy of it is refused as stale.
	clk.t = clk.t.Add(ReplayWindow/2 + 24*time.Hour)
	c = loadReplay(t, dir, clk)
	if c.Len() != 1 {
		t.Errorf("%d ids after the window moved on, want 1", c.Len())
	}
	if err := c.Check("alice@a.mesh", older, clk.t.Add(-ReplayWindow-24*time.Hour)); !errors.Is(err, ErrStaleMessage) {
		t.Errorf("copy of a forgotten message: %v, want ErrStaleMessage", err)
	}
	if err := c.Check("alice@a.mesh", newer, clk.t.Add(-ReplayWindow/2-24*time.Hour)); !errors.Is(err, ErrReplayed) {
		t.Errorf("copy of a remembered message: %v, want ErrReplayed", err)
	}
}

func TestTwoClientsSavingTheSameCacheKeepEachOthersIDs(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{time.Now()}
	follow, oneShot := loadReplay(t, dir, clk), loadReplay(t, dir, clk)
	a, b := sealed.NewID(), sealed.NewID()
	if err := follow.Check("alice@a.mesh", a, clk.t); err != nil {
		t.Fatal(err)
	}
	if err := oneShot.Check("alice@a.mesh", b, clk.t); err != nil {
		t.Fatal(err)
	}
	if err := follow.Save(); err != nil {
		t.Fatal(err)
	}
	if err := oneShot.Save(); err != nil {
		t.Fatal(err)
	}
	c := loadReplay(t, dir, clk)
	for _, id := range []sealed.ID{a, b} {
		if err := c.Check("alice@a.mesh", id, clk.t); !errors.Is(err, ErrReplayed) {
			t.Errorf("id %s: %v, want ErrReplayed", id, err)
		}
	}
}

func TestReplayCacheWhenFullRaisesTheFloorInsteadOfForgetting(t *testing.T) {
	if testing.Short() {
		t.Skip("fills the cache: 65,536 entries")
	}
	clk := &clock{time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	c := loadReplay(t, t.TempDir(), clk)
	start := clk.t.Add(-ReplayWindow / 2)
	first := sealed.NewID()
	if err := c.Check("alice@a.mesh", first, start); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < MaxReplayEntries; i++ {
		if err := c.Check("alice@a.mesh", sealed.NewID(), start.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	if c.Len() != MaxReplayEntries {
		t.Fatalf("%d entries", c.Len())
	}
	if err := c.Check("alice@a.mesh", sealed.NewID(), clk.t); err != nil {
		t.Fatalf("a new message into a full cache: %v", err)
	}
	if c.Len() > MaxReplayEntries {
		t.Errorf("%d entries, limit %d", c.Len(), MaxReplayEntries)
	}
	// The first id was evicted; its copy must still be refused.
	if err := c.Check("alice@a.mesh", first, start); !errors.Is(err, ErrStaleMessage) {
		t.Errorf("copy of an evicted message: %v, want ErrStaleMessage", err)
	}
	t.Logf("after eviction: %d entries, floor %s after the first", c.Len(), time.UnixMilli(c.floor).Sub(start))
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(c.path)
	t.Logf("cache file: %d bytes", fi.Size())
}

func TestReplayCacheFileIsSealedUnderTheExportKey(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{time.Now()}
	c := loadReplay(t, dir, clk)
	if err := c.Check("alice@a.mesh", sealed.NewID(), clk.t); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(c.path)
	if bytes.Contains(data, []byte("alice")) {
		t.Error("the sender's address is in the file")
	}
	if _, err := LoadReplayCache(dir, "bob", "b.mesh", bytes.Repeat([]byte{8}, 64)); !errors.Is(err, keystore.ErrWrongKey) {
		t.Errorf("another export key: %v, want keystore.ErrWrongKey", err)
	}
	data[len(data)-1] ^= 1
	os.WriteFile(c.path, data, 0o600)
	if _, err := LoadReplayCache(dir, "bob", "b.mesh", replayTestKey); !errors.Is(err, keystore.ErrWrongKey) {
		t.Errorf("a tampered file: %v, want keystore.ErrWrongKey", err)
	}
}

func TestReplayCacheDecodeRefusesBadInput(t *testing.T) {
	ids := map[replayKey]int64{{1}: 5, {2}: 6}
	good := encodeReplayCache(3, ids)
	floor, got, err := decodeReplayCache(good)
	if err != nil || floor != 3 || len(got) != 2 || got[replayKey{1}] != 5 || got[replayKey{2}] != 6 {
		t.Fatalf("round trip: %d %v %v", floor, got, err)
	}
	dup := encodeReplayCache(3, map[replayKey]int64{{1}: 5})
	dup[12] = 2
	dup = append(dup, dup[13:]...)
	tooMany := bytes.Clone(good)
	tooMany[9] = 0xff
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrBadReplayCache},
		{"version 0", append([]byte{0}, good[1:]...), ErrReplayCacheTooOld},
		{"version 2", append([]byte{2}, good[1:]...), ErrReplayCacheUnsupported},
		{"header truncated", good[:replayHeader-1], ErrBadReplayCache},
		{"entry truncated", good[:len(good)-1], ErrBadReplayCache},
		{"trailing byte", append(bytes.Clone(good), 0), ErrBadReplayCache},
		{"count beyond the limit", tooMany, ErrBadReplayCache},
		{"duplicate key", dup, ErrBadReplayCache},
	} {
		if _, _, err := decodeReplayCache(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func FuzzDecodeReplayCache(f *testing.F) {
	f.Add(encodeReplayCache(0, nil))
	f.Add(encodeReplayCache(42, map[replayKey]int64{{1}: 5, {2}: -6, {3}: 1 << 60}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		floor, ids, err := decodeReplayCache(b)
		if err != nil {
			return
		}
		if len(ids) > MaxReplayEntries {
			t.Fatalf("%d entries decoded, limit %d", len(ids), MaxReplayEntries)
		}
		// What decodes re-encodes to a file that decodes to the same
		// cache (entries may come in another order).
		floor2, ids2, err := decodeReplayCache(encodeReplayCache(floor, ids))
		if err != nil || floor2 != floor || !maps.Equal(ids, ids2) {
			t.Fatalf("round trip: %v; floor %d/%d, %d/%d entries", err, floor, floor2, len(ids), len(ids2))
		}
	})
}
