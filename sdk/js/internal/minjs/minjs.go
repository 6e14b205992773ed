// Package minjs turns sdk/js/journeys.js into the build that is committed
// as journeys.min.js and served at /sdk.js. The generator and the test
// that checks the committed build is current both call it, so they cannot
// disagree.
package minjs

import (
	"bytes"
	"fmt"

	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/js"
)

// Minify returns the minified form of the SDK's source, ending in a newline.
func Minify(src []byte) ([]byte, error) {
	m := minify.New()
	var out bytes.Buffer
	if err := (&js.Minifier{}).Minify(m, &out, bytes.NewReader(src), nil); err != nil {
		return nil, fmt.Errorf("minify journeys.js: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
