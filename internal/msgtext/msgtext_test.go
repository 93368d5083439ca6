package msgtext

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		text string
		want error
	}{
		{"hi", nil},
		{strings.Repeat("x", 8), nil},
		{"", ErrEmpty},
		{strings.Repeat("x", 9), ErrTooLong},
		{"\xff\xfe", ErrNotUTF8},
	} {
		if err := Check(tt.text, 8); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%q: %v, want %v", tt.text, err, tt.want)
		}
	}
}
