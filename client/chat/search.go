package chat

import (
	"errors"
	"slices"
	"strings"

	"github.com/quicprochat/qpc/client/chatdb"
)

// Search (issue 30) reads the history the way everything else does:
// record by record, each opened with the database's key, matched in
// memory and forgotten. There is no index: an index would be a second
// copy of every word to keep sealed and to wipe on a delete, and a scan
// is fast enough for the histories of a person (BenchmarkSearch100k:
// 0.16 s for 100,000 lines on a 2-core machine, docs/client.md). Nothing
// of a search is written to disk.

// ErrEmptyQuery means a search has no words.
var ErrEmptyQuery = errors.New("empty search")

// Hit is a line a search found.
type Hit struct {
	Conv chatdb.ConvID
	// Label names the conversation (Label).
	Label   string
	Message chatdb.Message
}

// Search returns the chat lines of the account's conversations (of conv
// alone when it is not nil) that hold every word of query, ignoring case;
// a file line matches by its summary (name, size, type). System lines and
// deleted lines are never found. The newest limit hits come back, newest
// first (limit <= 0: all).
func (e *Engine) Search(query string, conv *chatdb.ConvID, limit int) ([]Hit, error) {
	words := strings.Fields(strings.ToLower(query))
	if len(words) == 0 {
		return nil, ErrEmptyQuery
	}
	var hits []Hit
	err := e.db.View(func(tx *chatdb.Tx) error {
		cs, err := tx.Conversations()
		if err != nil {
			return err
		}
		if conv != nil {
			cs = slices.DeleteFunc(cs, func(c chatdb.Conversation) bool { return c.ID != *conv })
			if len(cs) == 0 {
				return ErrNoConversation
			}
		}
		for _, c := range cs {
			label := Label(c)
			err := tx.EachMessage(c.ID, func(m chatdb.Message) error {
				if !m.System && !m.Deleted && matches(searchText(m.Text), words) {
					hits = append(hits, Hit{Conv: c.ID, Label: label, Message: m})
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	slices.SortStableFunc(hits, func(a, b Hit) int { return b.Message.Time.Compare(a.Message.Time) })
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, err
}

// searchText is what a line is searched by: a file line's summary, not
// its reference (which would match at random).
func searchText(text string) string {
	if ref, ok, err := ParseFileText(text); ok && err == nil {
		return FileSummary(ref)
	}
	return text
}

// matches reports whether text holds every word (lower case already),
// ignoring case: most lines are ASCII and are compared without a lower
// case copy.
func matches(text string, words []string) bool {
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		text = strings.ToLower(text)
	}
	for _, w := range words {
		if ascii && !containsFoldASCII(text, w) || !ascii && !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// containsFoldASCII reports whether the ASCII text holds word (lower
// case), ignoring the case of text.
func containsFoldASCII(text, word string) bool {
	n := len(word)
	if n == 0 {
		return true
	}
	first := word[0]
	for i := 0; i+n <= len(text); i++ {
		if lowerASCII(text[i]) != first {
			continue
		}
		j := 1
		for j < n && lowerASCII(text[i+j]) == word[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
