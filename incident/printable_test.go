package incident

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPrintable(t *testing.T) {
	cases := map[string]string{
		"plain text":                 "plain text",
		"tab\tok":                    "tab\tok",
		"\x1b[31mred\x1b[0m":         "red",
		"title\x1b]0;pwn\x07":        `title\x1b]0;pwn\x07`,
		"clip\x1b]52;c;aGk=\x1b\\":   `clip\x1b]52;c;aGk=\x1b\`,
		"clear\x1b[2J\x1b[H":         `clear\x1b[2J\x1b[H`,
		"over\rwrite":                `over\rwrite`,
		"two\nlines":                 `two\nlines`,
		"c1 \u009b31m":               `c1 \u009b31m`,
		"bidi \u202egnp.exe":         `bidi \u202egnp.exe`,
		"bad utf8 \xff":              `bad utf8 \xff`,
		"del\x7f":                    `del\x7f`,
		"ünïcödé ✓ │ ok":             "ünïcödé ✓ │ ok",
		"\x1b[38;5;196mcolour\x1b[m": "colour",
	}
	for in, want := range cases {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
	if got := PrintableText("a\x1b[2J\nb\x07"); got != "a\\x1b[2J\nb\\x07" {
		t.Errorf("PrintableText = %q", got)
	}
}

func TestRenderJSONEscapesWhatJSONLeavesRaw(t *testing.T) {
	b, err := RenderJSON(ReportData{RunbookTitle: "a\u009b2J\u202eb\x7f\x1b"})
	if err != nil {
		t.Fatal(err)
	}
	var back ReportData
	if err := json.Unmarshal(b, &back); err != nil || back.RunbookTitle != "a\u009b2J\u202eb\x7f\x1b" {
		t.Errorf("round trip: %q %v", back.RunbookTitle, err)
	}
	for _, c := range []string{"\u009b", "\u202e", "\x7f", "\x1b"} {
		if strings.Contains(string(b), c) {
			t.Errorf("JSON report carries raw %q", c)
		}
	}
}
