// Command gen writes testdata/quickstart/customers.parquet, the quickstart's
// sample warehouse export, from a fixed seed:
//
//	go run ./testdata/quickstart/gen
//
// Running it again gives the same bytes; internal/quickstart's test checks
// the committed file against it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/quickstart"
)

func main() {
	out := flag.String("out", filepath.Join("testdata", "quickstart", "customers.parquet"), "output file")
	rows := flag.Int("rows", quickstart.Rows, "number of customers")
	flag.Parse()
	if err := run(*out, *rows); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out string, rows int) error {
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = quickstart.Write(bw, rows, 8192, memory.DefaultAllocator)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d customers, %d bytes\n", out, rows, st.Size())
	return nil
}
