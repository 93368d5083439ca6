package chat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/quicprochat/qpc/client/chatdb"
	"github.com/quicprochat/qpc/crypto/sealed"
	"github.com/quicprochat/qpc/internal/msgtext"
)

// What travels between clients. Every frame rides in a sealed envelope
// (crypto/sealed) to one recipient, so a node sees neither the group, nor
// the epoch, nor who sent it; the envelope's content type says which frame
// it is:
//
//	ContentWelcome  welcome frame: an invitation into a group
//	ContentGroup    group frame: an MLS message of a group (commit,
//	                proposal or application message)
//
// Welcome frame (all integers big-endian):
//
//	1      version (1)
//	1      kind (chatdb.KindDM or chatdb.KindGroup)
//	1      length h of the home domain, then h bytes
//	1      length n of the group name, then n bytes (UTF-8; empty for a DM)
//	rest   the MLS Welcome (an MLSMessage)
//
// Group frame:
//
//	1      version (1)
//	1      length g of the MLS group id (1-255), then g bytes
//	rest   the MLSMessage
//
// The application data of an MLS application message is a chat frame, or
// a typed frame (0, then a content type: edits and deletes, edits.go):
//
//	1      version (1)
//	16     message id (the same for every copy and every resend)
//	8      the sender's sequence number in this conversation, from 1
//	8      the sender's time, Unix milliseconds
//	rest   the text, UTF-8, 1 to MaxText bytes
const (
	ContentWelcome uint16 = 0x0101
	ContentGroup   uint16 = 0x0102

	frameVersion = 1
	// MaxText is the longest chat message, in bytes.
	MaxText = 16 << 10
	// MaxName is the longest group name, in bytes.
	MaxName = 64
)

// ErrFrame means a frame from another client is malformed.
var ErrFrame = errors.New("malformed chat frame")

// ErrText means a chat text is empty, too long or not UTF-8.
var ErrText = errors.New("bad message text")

type welcomeFrame struct {
	Kind chatdb.Kind
	// Member is set for a device of an account that is in the group
	// already (another device of it is): it joins without an invitation
	// to accept. It rides in the kind byte's high bit (memberFlag), which
	// clients from before devices refuse; they have one device each, so
	// they are never sent such a frame.
	Member  bool
	Home    string
	Name    string
	Welcome []byte
}

// memberFlag marks welcomeFrame.Member in the kind byte.
const memberFlag = 0x80

func (f *welcomeFrame) marshal() ([]byte, error) {
	if len(f.Home) == 0 || len(f.Home) > 255 || len(f.Name) > MaxName {
		return nil, fmt.Errorf("%w: home %d bytes, name %d bytes", ErrFrame, len(f.Home), len(f.Name))
	}
	b := make([]byte, 0, 4+len(f.Home)+len(f.Name)+len(f.Welcome))
	kind := byte(f.Kind)
	if f.Member {
		kind |= memberFlag
	}
	b = append(b, frameVersion, kind, byte(len(f.Home)))
	b = append(b, f.Home...)
	b = append(b, byte(len(f.Name)))
	b = append(b, f.Name...)
	return append(b, f.Welcome...), nil
}

func parseWelcomeFrame(b []byte) (*welcomeFrame, error) {
	if len(b) < 3 || b[0] != frameVersion {
		return nil, fmt.Errorf("%w: welcome: bad header", ErrFrame)
	}
	f := &welcomeFrame{Kind: chatdb.Kind(b[1] &^ memberFlag), Member: b[1]&memberFlag != 0}
	if f.Kind != chatdb.KindDM && f.Kind != chatdb.KindGroup {
		return nil, fmt.Errorf("%w: welcome: kind %d", ErrFrame, b[1])
	}
	rest := b[2:]
	home, rest, err := shortString(rest, 255)
	if err != nil || home == "" {
		return nil, fmt.Errorf("%w: welcome: home domain", ErrFrame)
	}
	name, rest, err := shortString(rest, MaxName)
	if err != nil {
		return nil, fmt.Errorf("%w: welcome: group name", ErrFrame)
	}
	if (f.Kind == chatdb.KindGroup) == (name == "") {
		return nil, fmt.Errorf("%w: welcome: a group needs a name, a DM has none", ErrFrame)
	}
	if len(rest) == 0 {
		return nil, fmt.Errorf("%w: welcome: no MLS welcome", ErrFrame)
	}
	f.Home, f.Name, f.Welcome = home, name, rest
	return f, nil
}

// shortString reads a one-byte length and that many bytes of UTF-8
// without control characters.
func shortString(b []byte, max int) (string, []byte, error) {
	if len(b) < 1 || int(b[0]) > max || len(b) < 1+int(b[0]) {
		return "", nil, ErrFrame
	}
	s := string(b[1 : 1+int(b[0])])
	if !utf8.ValidString(s) {
		return "", nil, ErrFrame
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", nil, ErrFrame
		}
	}
	return s, b[1+int(b[0]):], nil
}

type groupFrame struct {
	GroupID []byte
	Message []byte
}

func (f *groupFrame) marshal() []byte {
	b := make([]byte, 0, 2+len(f.GroupID)+len(f.Message))
	b = append(b, frameVersion, byte(len(f.GroupID)))
	b = append(b, f.GroupID...)
	return append(b, f.Message...)
}

func parseGroupFrame(b []byte) (*groupFrame, error) {
	if len(b) < 2 || b[0] != frameVersion || b[1] == 0 || len(b) < 2+int(b[1])+1 {
		return nil, fmt.Errorf("%w: group message", ErrFrame)
	}
	n := int(b[1])
	return &groupFrame{GroupID: b[2 : 2+n], Message: b[2+n:]}, nil
}

type chatFrame struct {
	ID   chatdb.MsgID
	Seq  uint64
	Time time.Time
	Text string
}

const chatHeader = 1 + 16 + 8 + 8

func checkText(text string) error {
	if err := msgtext.Check(text, MaxText); err != nil {
		return fmt.Errorf("%w: %w", ErrText, err)
	}
	return nil
}

func (f *chatFrame) marshal() ([]byte, error) {
	if err := checkText(f.Text); err != nil {
		return nil, err
	}
	b := make([]byte, chatHeader, chatHeader+len(f.Text))
	b[0] = frameVersion
	copy(b[1:17], f.ID[:])
	binary.BigEndian.PutUint64(b[17:25], f.Seq)
	binary.BigEndian.PutUint64(b[25:33], uint64(f.Time.UnixMilli()))
	return append(b, f.Text...), nil
}

func parseChatFrame(b []byte) (*chatFrame, error) {
	if len(b) < chatHeader || b[0] != frameVersion {
		return nil, fmt.Errorf("%w: chat message header", ErrFrame)
	}
	f := &chatFrame{Seq: binary.BigEndian.Uint64(b[17:25])}
	copy(f.ID[:], b[1:17])
	ms := binary.BigEndian.Uint64(b[25:33])
	if f.Seq == 0 || ms > 1<<53 {
		return nil, fmt.Errorf("%w: chat message sequence or time", ErrFrame)
	}
	f.Time = time.UnixMilli(int64(ms))
	f.Text = string(b[chatHeader:])
	if err := checkText(f.Text); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFrame, err)
	}
	return f, nil
}

// newMsgID returns a random message id.
func newMsgID() chatdb.MsgID { return chatdb.MsgID(sealed.NewID()) }
