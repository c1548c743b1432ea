package load

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// streamTopic is a topic, subject or routing key: plain text, or a Go
// text/template with .Sync, .Object and .Op, and per row .Key (the key's
// values joined by "/") and .Row (the mapped row, dotted names nested).
// A template naming neither .Key nor .Row is rendered once per batch.
type streamTopic struct {
	text    string
	tmpl    *template.Template // nil: plain text
	perRow  bool
	usesRow bool
}

// topicData is what a topic template sees.
type topicData struct {
	Sync, Object, Op, Key string
	Row                   map[string]any
}

// compileStreamTopic parses a topic template.
func compileStreamTopic(text string) (*streamTopic, error) {
	t := &streamTopic{text: text}
	if !strings.Contains(text, "{{") {
		return t, nil
	}
	tmpl, err := template.New("").Funcs(tmplFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	t.tmpl = tmpl
	t.usesRow = strings.Contains(text, ".Row")
	t.perRow = t.usesRow || strings.Contains(text, ".Key")
	return t, nil
}

// CheckStreamTopic parses a topic template as the destination will, so a
// broken one fails validate rather than the first batch.
func CheckStreamTopic(text string) error {
	_, err := compileStreamTopic(text)
	return err
}

func (t *streamTopic) render(d topicData) (string, error) {
	if t.tmpl == nil {
		return t.text, nil
	}
	var b bytes.Buffer
	if err := t.tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("topic template: %s", templateErr(err))
	}
	return b.String(), nil
}
