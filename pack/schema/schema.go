// Package schema holds the JSON Schema of pack.json, embedded in the binary
// and printed by `packgen schema`, for editors and other tools.
package schema

import _ "embed"

// PackJSON is the JSON Schema (draft 2020-12) of pack.json.
//
//go:embed pack.schema.json
var PackJSON []byte
