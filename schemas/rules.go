package schemas

import _ "embed"

// DefaultFrictionRules is the YAML text of the friction rules the processor
// runs unless it is given a rules file (see processor/rules for the format).
//
//go:embed friction-rules.yaml
var DefaultFrictionRules []byte
