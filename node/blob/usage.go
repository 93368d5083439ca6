package blob

// UserBytes returns the bytes of the files owner holds on the node, as
// they count against the quota per user.
func (s *Store) UserBytes(owner string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byUser[owner]
}

// UserQuota returns the quota of file bytes per user.
func (s *Store) UserQuota() int64 { return s.lim.PerUser }
