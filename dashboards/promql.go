package dashboards

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/prometheus/prometheus/promql/parser"
)

// grafanaPromVars are Grafana's built-in variables that may stand in a
// PromQL range or step, with a value that makes the expression parse.
var grafanaPromVars = regexp.MustCompile(`\$__rate_interval|\$__interval|\$__range|\$\{__rate_interval\}|\$\{__interval\}|\$\{__range\}`)

// PromQLMetrics parses expr as Grafana would send it to Prometheus (its
// range variables such as $__rate_interval filled in) and returns the
// metric names it selects, sorted and without repeats.
func PromQLMetrics(expr string) ([]string, error) {
	expr = grafanaPromVars.ReplaceAllString(expr, "5m")
	if m := templateVarRE.FindString(expr); m != "" {
		return nil, fmt.Errorf("%w: %s", ErrTemplateVariable, m)
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("parse promql: %w", err)
	}
	seen := map[string]bool{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == "__name__" {
				name = m.Value
			}
		}
		if name != "" {
			seen[name] = true
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}
