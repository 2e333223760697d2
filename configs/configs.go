// Package configs holds the example configurations users copy. The
// quickstart is embedded in the binary so `promfwd run` works with no file.
package configs

import (
	"bytes"
	_ "embed"
)

//go:embed quickstart.yaml
var quickstart []byte

// QuickstartName is the name used for the embedded quickstart in messages.
const QuickstartName = "<embedded quickstart.yaml>"

// Quickstart returns a copy of the embedded quickstart config.
func Quickstart() []byte { return bytes.Clone(quickstart) }
