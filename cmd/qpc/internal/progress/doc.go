// Package progress draws how far a long job is on a terminal's stderr:
// a bar redrawn in place, with rate and time left when they are known, on
// a terminal, and a plain line now and then otherwise (a log, a pipe, a
// test), so that both qpc kt audit and file transfers report the same way.
//
// It is written here rather than taken from a progress-bar library: the
// bar is a few dozen lines, and the libraries served (such as
// github.com/schollz/progressbar/v3) bring width tables and colour
// parsing the laptop binary does not need.
package progress
