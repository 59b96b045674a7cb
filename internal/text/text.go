// Package text holds the one truncation every message of the operator goes through:
// events, status messages, admission answers. It imports nothing of the project.
package text

import "unicode/utf8"

// MaxNote keeps event notes within the events API's 1 kB limit.
const MaxNote = 1000

// Truncate cuts s to at most n bytes on a rune boundary, marking the cut with "...".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "..."
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// Note is s cut to MaxNote, for an event note or a condition message.
func Note(s string) string { return Truncate(s, MaxNote) }
