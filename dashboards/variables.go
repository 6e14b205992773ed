package dashboards

import (
	"fmt"
	"regexp"
	"strings"
)

// templateRefRE matches the Grafana template variable syntaxes: $name,
// ${name}, ${name:format} and [[name]] / [[name:format]]. Names starting
// with "__" are Grafana's or the plugin's own and are left alone.
var templateRefRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?\}|\[\[([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?\]\]|\$([A-Za-z_][A-Za-z0-9_]*)`)

// Interpolate replaces references to the given template variables with
// their current values, the way Grafana does before the data source plugin
// sees the query. With All chosen, a variable's AllValue is inserted
// verbatim (Grafana skips formatting of custom all values); without one,
// All stands for every option. Formats: raw (the default), csv,
// singlequote, doublequote, sqlstring, text.
func Interpolate(sql string, vars []Variable) (string, error) {
	byName := make(map[string]Variable, len(vars))
	for _, v := range vars {
		byName[v.Name] = v
	}
	var firstErr error
	out := templateRefRE.ReplaceAllStringFunc(sql, func(m string) string {
		sub := templateRefRE.FindStringSubmatch(m)
		name, format := sub[1]+sub[3]+sub[5], sub[2]+sub[4]
		if strings.HasPrefix(name, "__") {
			return m
		}
		v, ok := byName[name]
		if !ok {
			if firstErr == nil {
				firstErr = fmt.Errorf("template variable %q is not defined on the dashboard", name)
			}
			return m
		}
		s, err := v.format(format)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("template variable %q: %w", name, err)
		}
		return s
	})
	if firstErr != nil {
		return "", firstErr
	}
	return out, nil
}

func (v Variable) format(format string) (string, error) {
	values := v.Current
	if len(values) == 1 && values[0] == AllSelected {
		if format == "text" {
			return "All", nil
		}
		if v.AllValue != "" {
			return v.AllValue, nil
		}
		values = nil
		for _, o := range v.Options {
			if o != AllSelected {
				values = append(values, o)
			}
		}
	}
	quote := func(q string, esc func(string) string) string {
		parts := make([]string, len(values))
		for i, s := range values {
			parts[i] = q + esc(s) + q
		}
		return strings.Join(parts, ",")
	}
	switch format {
	case "", "raw", "csv", "text":
		return strings.Join(values, ","), nil
	case "singlequote":
		return quote("'", func(s string) string { return strings.ReplaceAll(s, "'", `\'`) }), nil
	case "sqlstring":
		return quote("'", func(s string) string { return strings.ReplaceAll(s, "'", "''") }), nil
	case "doublequote":
		return quote(`"`, func(s string) string { return strings.ReplaceAll(s, `"`, `\"`) }), nil
	}
	return "", fmt.Errorf("format %q not supported", format)
}

// conditionalAllMacro is the plugin's macro for a filter that only matters
// when a variable does not select everything.
const conditionalAllMacro = "$__conditionalAll"

// conditionalAllVarRE is the variable argument of $__conditionalAll: $name
// or ${name}.
var conditionalAllVarRE = regexp.MustCompile(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$`)

// ConditionalAll expands $__conditionalAll(condition, $variable) as the
// plugin does in the browser, before Grafana interpolates the variables:
// into 1=1 when the variable selects All (or nothing), else into the
// condition. A panel filter written this way reads nothing for the
// default All, where a filter like "'__all' IN (…) OR hasAny(col, …)" still
// reads col for every row.
func ConditionalAll(sql string, vars []Variable) (string, error) {
	var b strings.Builder
	rest := sql
	for {
		i := strings.Index(rest, conditionalAllMacro+"(")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		inner, after, err := parenthesized(rest[i+len(conditionalAllMacro):])
		if err != nil {
			return "", fmt.Errorf("macro %s: %w", conditionalAllMacro, err)
		}
		args := splitArgs(inner)
		if len(args) != 2 {
			return "", fmt.Errorf("macro %s: expected 2 arguments (condition, $variable), received %d", conditionalAllMacro, len(args))
		}
		m := conditionalAllVarRE.FindStringSubmatch(args[1])
		if m == nil {
			return "", fmt.Errorf("macro %s: second argument %q is not a template variable ($name or ${name})", conditionalAllMacro, args[1])
		}
		name := m[1] + m[2]
		v, ok := variableNamed(vars, name)
		if !ok {
			return "", fmt.Errorf("macro %s: template variable %q is not defined on the dashboard", conditionalAllMacro, name)
		}
		if len(v.Current) == 0 || len(v.Current) == 1 && (v.Current[0] == AllSelected || v.Current[0] == "") {
			b.WriteString("1=1")
		} else {
			b.WriteString(args[0])
		}
		rest = after
	}
}

func variableNamed(vars []Variable, name string) (Variable, bool) {
	for _, v := range vars {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}
