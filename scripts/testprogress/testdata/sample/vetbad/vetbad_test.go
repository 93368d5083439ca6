// Package vetbad compiles but fails go test's vet checks.
package vetbad

import (
	"fmt"
	"testing"
)

func TestPrintf(t *testing.T) { _ = fmt.Sprintf("%d", "x") }
