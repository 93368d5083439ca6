// Package notests has no tests.
package notests

// G does nothing.
func G() {}
