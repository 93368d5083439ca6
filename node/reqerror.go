package node

import "fmt"

// errorf returns an error that is kind (for errors.Is) with details.
func errorf(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}
