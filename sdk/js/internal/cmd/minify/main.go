// Command minify rewrites sdk/js/journeys.min.js from sdk/js/journeys.js.
// Run it with `go generate ./sdk/js` after changing the source.
package main

import (
	"fmt"
	"os"

	"github.com/journeys/journeys/sdk/js/internal/minjs"
)

func main() {
	src, err := os.ReadFile("journeys.js")
	if err == nil {
		var min []byte
		if min, err = minjs.Minify(src); err == nil {
			err = os.WriteFile("journeys.min.js", min, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "minify:", err)
		os.Exit(1)
	}
}
