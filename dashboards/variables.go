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
