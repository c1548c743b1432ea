package cli_test

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hoist-dev/hoist/cmd/cli"
)

// TestDocCoversFlags: docs/spec.md names every command and flag hoist has,
// and no flag it does not have.
func TestDocCoversFlags(t *testing.T) {
	data, err := os.ReadFile("../../docs/spec.md")
	if err != nil {
		t.Fatalf("the reference is missing: %v", err)
	}
	doc := string(data)
	have := map[string]bool{"help": true}
	var walk func(c *cobra.Command, path string)
	walk = func(c *cobra.Command, path string) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if path != "" && !strings.Contains(doc, "`hoist "+path) {
			t.Errorf("docs/spec.md does not document `hoist %s`", path)
		}
		visit := func(f *pflag.Flag) {
			have[f.Name] = true
			if f.Name != "help" && !strings.Contains(doc, "`--"+f.Name) {
				t.Errorf("docs/spec.md does not document flag --%s of %q", f.Name, c.CommandPath())
			}
		}
		c.LocalFlags().VisitAll(visit)
		c.PersistentFlags().VisitAll(visit)
		for _, sub := range c.Commands() {
			walk(sub, strings.TrimSpace(path+" "+sub.Name()))
		}
	}
	root := cli.NewRootCmd(&cli.IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	root.InitDefaultHelpFlag()
	walk(root, "")
	for _, m := range regexp.MustCompile("`--([a-z][a-z-]*)").FindAllStringSubmatch(doc, -1) {
		if !have[m[1]] {
			t.Errorf("docs/spec.md documents flag --%s, which no command has", m[1])
		}
	}
}

// TestStarterSpecPointsAtTheReference: the starter spec's comments send the
// user to a reference that exists in the repository.
func TestStarterSpecPointsAtTheReference(t *testing.T) {
	dir := t.TempDir()
	if res := hoist(t, dir, nil, "init"); res.code != 0 {
		t.Fatalf("init: %s", res.stderr)
	}
	data, err := os.ReadFile(dir + "/hoist.yaml")
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`[A-Za-z_/.-]+\.md`).FindAllString(string(data), -1)
	if len(refs) == 0 {
		t.Fatal("the starter spec names no reference")
	}
	for _, r := range refs {
		if _, err := os.Stat("../../" + r); err != nil {
			t.Errorf("the starter spec points to %s, which is not in the repository", r)
		}
	}
}
