package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short stays", "abc", 5, "abc"},
		{"exact stays", "abcde", 5, "abcde"},
		{"long is marked", "abcdefgh", 6, "abc..."},
		{"never splits a rune", "ab\u00e9\u00e9\u00e9", 6, "ab..."},
		{"tiny limit", "abcdef", 2, "..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Truncate(tc.in, tc.n)
			if got != tc.want {
				t.Fatalf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("invalid UTF-8: %q", got)
			}
		})
	}
	if got := Note(strings.Repeat("x", 2000)); len(got) != MaxNote {
		t.Fatalf("Note length %d, want %d", len(got), MaxNote)
	}
}
