package connector

import (
	"strings"
	"testing"
)

type fakeConfig struct {
	URL string `yaml:"url"`
}

func (*fakeConfig) Validate(Problems) {}
func (*fakeConfig) Address() string   { return "fake" }
func newFake() Config                 { return &fakeConfig{} }
func newFakeSource() SourceConfig     { return &SQLSource{} }
func expectPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	f()
}

func TestRegistry(t *testing.T) {
	RegisterSource("t-partial", SourceRole{NewConfig: newFakeSource})
	if _, ok := Lookup("t-partial"); ok {
		t.Fatal("a type with a role but no Spec is found")
	}
	for _, typ := range Types() {
		if typ == "t-partial" {
			t.Fatal("Types lists an incomplete type")
		}
	}
	Register(Spec{Type: "t-partial", NewConfig: newFake})
	c, ok := Lookup("t-partial")
	if !ok || c.Source == nil || c.Dest != nil {
		t.Fatalf("Lookup = %+v, %v", c, ok)
	}
	if got := TypeOf(c.NewConfig).Name(); got != "fakeConfig" {
		t.Fatalf("TypeOf = %s", got)
	}
	expectPanic(t, func() { Register(Spec{Type: "t-partial", NewConfig: newFake}) })
	expectPanic(t, func() { RegisterSource("t-partial", SourceRole{NewConfig: newFakeSource}) })
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a or b"}, {[]string{"a", "b", "c"}, "a, b or c"}} {
		if got := List(tc.in); got != tc.want {
			t.Errorf("List(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAs(t *testing.T) {
	var c Config = &fakeConfig{URL: "x"}
	if got, err := As[*fakeConfig](c); err != nil || got.URL != "x" {
		t.Fatalf("As = %v, %v", got, err)
	}
	if _, err := As[*SQLSource](c); err == nil || !strings.Contains(err.Error(), "*connector.fakeConfig") {
		t.Fatalf("As of the wrong type: %v", err)
	}
}

func TestTable(t *testing.T) {
	var tb Table[int]
	tb.Set("b", 2)
	tb.Set("a", 1)
	if v, ok := tb.Get("a"); !ok || v != 1 {
		t.Fatal("Get a")
	}
	if _, ok := tb.Get("c"); ok {
		t.Fatal("Get c")
	}
	if got := strings.Join(tb.Types(), ","); got != "a,b" {
		t.Fatalf("Types = %s", got)
	}
}
