package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quicprochat/qpc/crypto/channel"
	"github.com/quicprochat/qpc/crypto/keystore"
	"github.com/quicprochat/qpc/internal/jsontree"
)

func TestStateOpensOnlyWithTheExportKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qpc") // SaveState creates it
	key := bytes.Repeat([]byte{1}, 64)
	s := &State{User: "alice", Domain: "n.example.mesh", Server: "n:7000", Keys: []byte{1, 2, 3}, SessionToken: []byte("tok")}
	if err := SaveState(dir, key, s); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(statePath(dir, "alice", "n.example.mesh"))
	if bytes.Contains(raw, []byte("tok")) || bytes.Contains(raw, []byte("alice")) {
		t.Error("state file holds plaintext")
	}
	got, err := LoadState(dir, "alice", "n.example.mesh", key)
	if err != nil || got.Server != "n:7000" || !bytes.Equal(got.Keys, []byte{1, 2, 3}) {
		t.Fatalf("LoadState = %+v, %v", got, err)
	}
	if _, err := LoadState(dir, "alice", "n.example.mesh", bytes.Repeat([]byte{2}, 64)); !errors.Is(err, keystore.ErrWrongKey) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := LoadState(dir, "bob", "n.example.mesh", key); !errors.Is(err, ErrNoState) {
		t.Errorf("no state: %v", err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %o, want 700", fi.Mode().Perm())
	}
}

func TestCurrentRoundTrips(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadCurrent(dir); !errors.Is(err, ErrNoState) {
		t.Errorf("no current: %v", err)
	}
	cur := Current{User: "a", Domain: "d", Server: "s:1", Fingerprint: "f"}
	if err := SaveCurrent(dir, cur); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadCurrent(dir); err != nil || got != cur {
		t.Errorf("LoadCurrent = %+v, %v", got, err)
	}
}

// TestBadCurrentFileIsAnError checks that a current-account file that is
// not what SaveCurrent writes is refused with jsontree's sentinels.
func TestBadCurrentFileIsAnError(t *testing.T) {
	for _, tc := range []struct {
		content string
		want    error
	}{{"{", jsontree.ErrSyntax}, {`{"server": 7000}`, jsontree.ErrType}} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "current"), []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCurrent(dir); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.content, err, tc.want)
		}
	}
}

func testSecret(b byte) channel.Secret {
	var s channel.Secret
	for i := range s {
		s[i] = b ^ byte(i*7)
	}
	return s
}

func TestChannelSecretsAreKeptSealedAndReadBack(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{3}, 64)
	joined := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := &State{User: "alice", Domain: "n.mesh", Channels: []ChannelEntry{{Topic: "kiez-news", Secret: testSecret(1), Joined: joined}}}
	if err := SaveState(dir, key, s); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(statePath(dir, "alice", "n.mesh"))
	sh := s.Channels[0].Share().String()
	secretText := sh[strings.Index(sh, "#")+1:]
	if bytes.Contains(raw, []byte("kiez-news")) || bytes.Contains(raw, []byte(secretText)) {
		t.Error("the state file holds a channel's topic or secret in the clear")
	}
	got, err := LoadState(dir, "alice", "n.mesh", key)
	if err != nil || !reflect.DeepEqual(got.Channels, s.Channels) {
		t.Fatalf("channels read back as %+v (%v), want %+v", got.Channels, err, s.Channels)
	}
	plain, _ := json.Marshal(s.Channels[0])
	if want := `{"topic":"kiez-news","secret":"` + secretText + `","joined":"2026-05-01T12:00:00Z"}`; string(plain) != want {
		t.Errorf("a channel in the state's JSON:\n%s\nwant\n%s", plain, want)
	}
}

func TestAStateWrittenBeforeChannelsStillLoads(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{4}, 64)
	old := `{"version":1,"user":"bob","domain":"n.mesh","server":"n:7000","fingerprint":"ab","keys":"AQID",` +
		`"session_token":"dG9r","contacts":{}}`
	sealed, err := keystore.Seal(key, []byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath(dir, "bob", "n.mesh"), sealed, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir, "bob", "n.mesh", key)
	if err != nil || got.Channels != nil || got.Server != "n:7000" || !bytes.Equal(got.Keys, []byte{1, 2, 3}) {
		t.Fatalf("an old state loaded as %+v, %v", got, err)
	}
	if _, ok := got.Channel("anything"); ok {
		t.Error("an old state has a channel")
	}
}

func TestAChannelSecretThatIsNot32BytesOfBase64urlIsRefused(t *testing.T) {
	for _, secret := range []string{"", "c2hvcnQ", strings.Repeat("A", 44), strings.Repeat("A", 42) + "=", strings.Repeat("+", 43)} {
		var e ChannelEntry
		if err := json.Unmarshal([]byte(`{"topic":"t","secret":"`+secret+`"}`), &e); err == nil {
			t.Errorf("secret %q read as %x", secret, e.Secret)
		}
	}
}

func TestJoiningLeavingAndFindingChannels(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var s State
	e, added, err := s.JoinChannel(channel.Share{Topic: "Kiez-News", Secret: testSecret(1)}, now)
	if err != nil || !added || e.Topic != "kiez-news" || !e.Joined.Equal(now) {
		t.Fatalf("first join = %+v, %v, %v", e, added, err)
	}
	if _, added, err := s.JoinChannel(channel.Share{Topic: "kiez-news", Secret: testSecret(1)}, now.Add(time.Hour)); err != nil || added {
		t.Errorf("joining again with the same secret: added %v, %v; want nothing to change", added, err)
	}
	if _, _, err := s.JoinChannel(channel.Share{Topic: "kiez-news", Secret: testSecret(2)}, now); !errors.Is(err, ErrChannelConflict) {
		t.Errorf("joining the topic with another secret: %v, want ErrChannelConflict", err)
	}
	if _, _, err := s.JoinChannel(channel.Share{Topic: "no spaces", Secret: testSecret(3)}, now); !errors.Is(err, channel.ErrTopic) {
		t.Errorf("joining a bad topic: %v, want ErrTopic", err)
	}
	if got, ok := s.Channel("KIEZ-NEWS"); !ok || got.Secret != testSecret(1) || !got.Joined.Equal(now) {
		t.Errorf("Channel(KIEZ-NEWS) = %+v, %v", got, ok)
	}
	if len(s.Channels) != 1 {
		t.Errorf("%d channels, want 1", len(s.Channels))
	}
	if !s.LeaveChannel("kiez-news") || s.LeaveChannel("kiez-news") || len(s.Channels) != 0 {
		t.Errorf("leaving twice: %d channels left", len(s.Channels))
	}
}

func TestLoadStateReadsVersionOneAsNotMigratedAndRefusesOthersTyped(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{5}, 64)
	for _, tt := range []struct {
		version int
		want    error
	}{{1, nil}, {2, nil}, {0, ErrStateTooOld}, {3, ErrStateTooNew}} {
		plain, _ := json.Marshal(map[string]any{"version": tt.version, "user": "alice", "domain": "n.mesh", "keys": []byte{1}})
		sealed, err := keystore.Seal(key, plain)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(statePath(dir, "alice", "n.mesh"), sealed, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := LoadState(dir, "alice", "n.mesh", key)
		if !errors.Is(err, tt.want) || tt.want == nil && (s.Migrated() || s.Version != tt.version) {
			t.Errorf("version %d: %+v, %v; want %v", tt.version, s, err, tt.want)
		}
	}
}
