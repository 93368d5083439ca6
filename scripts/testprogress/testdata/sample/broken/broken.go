// Package broken does not compile.
package broken

// F returns a string where it promised an int.
func F() int { return "not an int" }
