// Command hoist is a reverse-ETL and bulk data sync tool.
package main

import (
	"os"

	"github.com/hoist-dev/hoist/cmd/cli"
)

func main() { os.Exit(cli.Main()) }
