package protocol

// ValidateUserName checks the local part of an address: 1 to 64 characters
// of a-z, 0-9, '.', '_' and '-', starting with a letter or digit.
func ValidateUserName(name string) error {
	if len(name) == 0 || len(name) > 64 {
		return errorf(ErrBadRequest, "user name must be 1-64 characters")
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if i > 0 {
			ok = ok || r == '.' || r == '_' || r == '-'
		}
		if !ok {
			return errorf(ErrBadRequest, "user name %q: use a-z, 0-9, '.', '_', '-', starting with a letter or digit", name)
		}
	}
	return nil
}
