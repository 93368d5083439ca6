package protocol

import "errors"

// BadRequest reports a malformed argument read from the wire as
// ErrBadRequest. An error that already is one is returned as it is,
// so that a converter and its caller may both say so without the reason
// saying it twice.
func BadRequest(err error) error {
	if _, ok := errors.AsType[*wireError](err); ok {
		return err
	}
	return &wireError{err}
}

// wireError is a malformed argument, reported as badRequest.
type wireError struct{ err error }

func (e *wireError) Error() string { return "malformed request: " + e.err.Error() }

func (e *wireError) Unwrap() error { return ErrBadRequest }
