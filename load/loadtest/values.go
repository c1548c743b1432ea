package loadtest

import (
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/sync/spec"
)

// unicodeTexts are strings a destination must store byte for byte: no
// normalisation (the two "é" differ), no trimming, no lost escapes.
var unicodeTexts = []string{
	"héllo wörld",
	"日本語のテキスト",
	"emoji 🚀🎉",
	"family 👩‍👩‍👧‍👦 (zero-width joiners)",
	"flag 🇺🇦",
	"e\u0301 (e + combining acute)",
	"\u00e9 (precomposed é)",
	"a\u0308\u0323 (two combining marks)",
	"مرحبا بالعالم (right to left)",
	"zero\u200bwidth space",
	"\ufeffbyte order mark",
	"max rune \U0010ffff",
	"tab\tseparated",
	`quotes " and ' and ` + "`",
	"comma, semicolon; pipe |",
	`back\slash \n not a newline`,
	"<b>html</b> &amp; {\"json\": [1]}",
	"  leading and trailing spaces  ",
}

// values checks values every destination must keep whatever types it
// claims: NULLs, any Unicode text, and a value of a megabyte.
func (s *suite) values(t *testing.T) {
	mode := s.firstMode(spec.ModeUpsert, spec.ModeInsert, spec.ModeAppend, spec.ModeReplace, spec.ModeMirror)
	if mode == "" {
		t.Skip("no mode that writes new rows is claimed")
	}
	s.check(t, "nulls", func(t *testing.T) {
		rows := []row{{1, nil, nil}, {2, "x", 0}, {3, nil, 7}, {4, "y", nil}}
		s.writeAndExpect(t, "v_nulls", mode, rows)
	})
	s.check(t, "unicode", func(t *testing.T) {
		rows := make([]row, len(unicodeTexts))
		for i, text := range unicodeTexts {
			rows[i] = row{i + 1, text, i}
		}
		s.writeAndExpect(t, "v_unicode", mode, rows)
	})
	s.check(t, "line endings", func(t *testing.T) {
		rows := []row{{1, "line\nbreak", 1}, {2, "crlf\r\nline", 2}, {3, "cr\ronly", 3}, {4, "ends with a newline\n", 4}}
		s.writeAndExpect(t, "v_line_endings", mode, rows)
	})
	s.check(t, "a 1 MB value", func(t *testing.T) {
		var b strings.Builder
		for b.Len() < 1<<20 {
			b.WriteString("0123456789 abcdefghijklmnopqrstuvwxyz ÄÖÜ 🚀 ")
		}
		rows := []row{{1, b.String(), 1}, {2, "small", 2}}
		s.writeAndExpect(t, "v_large", mode, rows)
	})
}

func (s *suite) writeAndExpect(t *testing.T, obj, mode string, rows []row) {
	t.Helper()
	s.writeTwice(t, obj, mode, baseSchema, rows, row{len(rows) + 1, "another", nil})
}
