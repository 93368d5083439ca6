package memstore

import (
	"slices"

	"github.com/quicprochat/qpc/node"
)

// ChangeRecord replaces user's OPAQUE record and removes every session of
// user but those in keep; it returns how many it removed.
func (s *Store) ChangeRecord(user string, record []byte, keep ...node.TokenHash) (int, error) {
	if err := s.lock("change record"); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	a, err := s.account(user)
	if err != nil {
		return 0, err
	}
	a.Record = clone(record)
	return s.endSessions(user, keep), nil
}

// EndSessions removes every session of user but those in keep and returns
// how many it removed.
func (s *Store) EndSessions(user string, keep ...node.TokenHash) (int, error) {
	if err := s.lock("end sessions"); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	if _, err := s.account(user); err != nil {
		return 0, err
	}
	return s.endSessions(user, keep), nil
}

// endSessions is EndSessions with the mutex held.
func (s *Store) endSessions(user string, keep []node.TokenHash) int {
	n := 0
	for h, sess := range s.sessions {
		if sess.User == user && !slices.Contains(keep, h) {
			delete(s.sessions, h)
			n++
		}
	}
	return n
}
