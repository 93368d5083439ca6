package repltest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quicprochat/qpc/client/chat"
	"github.com/quicprochat/qpc/client/chatdb"
)

// Edit is the chat engine's Edit, in memory: the account's own lines only.
func (f *Engine) Edit(_ context.Context, id chatdb.ConvID, seq uint64, text string) (chatdb.Message, error) {
	return f.change(id, seq, func(m *chatdb.Message) { m.Text, m.Edited = text, time.Now() })
}

// Delete is the chat engine's Delete, in memory.
func (f *Engine) Delete(_ context.Context, id chatdb.ConvID, seq uint64) (chatdb.Message, error) {
	return f.change(id, seq, func(m *chatdb.Message) { m.Text, m.Deleted, m.Edited = "", true, time.Time{} })
}

func (f *Engine) change(id chatdb.ConvID, seq uint64, apply func(*chatdb.Message)) (chatdb.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hist[id]
	if seq == 0 || seq > uint64(len(h)) {
		return chatdb.Message{}, fmt.Errorf("line %d: %w", seq, chat.ErrNoLine)
	}
	m := &h[seq-1]
	switch {
	case m.System || m.From != f.self:
		return *m, fmt.Errorf("line %d: %w", seq, chat.ErrNotOwnLine)
	case m.Deleted:
		return *m, fmt.Errorf("line %d: %w", seq, chat.ErrLineDeleted)
	}
	apply(m)
	return *m, nil
}

// Changed changes line seq of id as its author's edit (text) or delete
// (text "") would, and returns the event the chat engine reports.
func (f *Engine) Changed(id chatdb.ConvID, seq uint64, text string) chat.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := &f.hist[id][seq-1]
	if text == "" {
		m.Text, m.Deleted = "", true
	} else {
		m.Text, m.Edited = text, time.Now()
	}
	mm := *m
	return chat.Event{Conv: id, Label: Label(*f.conv(id)), Message: &mm, Changed: true}
}

// Search is the chat engine's Search, in memory: lines holding every
// word, ignoring case, newest first.
func (f *Engine) Search(query string, conv *chatdb.ConvID, limit int) ([]chat.Hit, error) {
	words := strings.Fields(strings.ToLower(query))
	if len(words) == 0 {
		return nil, chat.ErrEmptyQuery
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var hits []chat.Hit
	for _, c := range f.convs {
		if conv != nil && c.ID != *conv {
			continue
		}
		for _, m := range f.hist[c.ID] {
			text := strings.ToLower(m.Text)
			if !m.System && !m.Deleted && !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(text, w) }) {
				hits = append(hits, chat.Hit{Conv: c.ID, Label: Label(*c), Message: m})
			}
		}
	}
	slices.SortStableFunc(hits, func(a, b chat.Hit) int { return b.Message.Time.Compare(a.Message.Time) })
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}
