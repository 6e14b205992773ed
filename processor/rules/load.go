package rules

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/journeys/journeys/schemas"
)

// ErrInvalid is wrapped by every error Parse and Load return for a rules
// file that is not valid.
var ErrInvalid = errors.New("invalid friction rules")

// Load reads and validates a rules file.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read friction rules: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// The YAML shape of a rules file. Everything is checked by validate, which
// knows the rule each value belongs to and so can name it in errors.
type fileYAML struct {
	Version int        `yaml:"version"`
	Rules   []ruleYAML `yaml:"rules"`
}

type ruleYAML struct {
	ID           string        `yaml:"id"`
	Description  string        `yaml:"description"`
	Severity     string        `yaml:"severity"`
	Escalate     *escalateYAML `yaml:"escalate"`
	CustomEvents bool          `yaml:"custom_events"`
	Details      []string      `yaml:"details"`

	CountBefore  *countBeforeYAML  `yaml:"count_before"`
	RepeatWithin *repeatWithinYAML `yaml:"repeat_within"`
	Sequence     *sequenceYAML     `yaml:"sequence"`
	Threshold    *thresholdYAML    `yaml:"threshold"`
	Absence      *absenceYAML      `yaml:"absence"`
}

// ruleFields are the keys of a rule besides its shape.
var ruleFields = []string{"id", "description", "severity", "escalate", "custom_events", "details"}

type escalateYAML struct {
	At       *float64 `yaml:"at"`
	Severity string   `yaml:"severity"`
}

type countBeforeYAML struct {
	Count    *filterYAML `yaml:"count"`
	Anchor   *filterYAML `yaml:"anchor"`
	Min      int         `yaml:"min"`
	Within   string      `yaml:"within"`
	CountKey string      `yaml:"count_key"`
}

type repeatWithinYAML struct {
	Match  *filterYAML `yaml:"match"`
	Min    int         `yaml:"min"`
	Within string      `yaml:"within"`
	Same   string      `yaml:"same"`
}

type sequenceYAML struct {
	First  *filterYAML `yaml:"first"`
	Then   *filterYAML `yaml:"then"`
	Unless *filterYAML `yaml:"unless"`
	Within string      `yaml:"within"`
}

type thresholdYAML struct {
	Match    *filterYAML `yaml:"match"`
	Property string      `yaml:"property"`
	Gt       *float64    `yaml:"gt"`
	Gte      *float64    `yaml:"gte"`
	Lt       *float64    `yaml:"lt"`
	Lte      *float64    `yaml:"lte"`
}

type absenceYAML struct {
	First       *filterYAML `yaml:"first"`
	Then        *filterYAML `yaml:"then"`
	Same        string      `yaml:"same"`
	Within      string      `yaml:"within"`
	DueProperty string      `yaml:"due_property"`
	MaxDue      string      `yaml:"max_due"`
	Before      string      `yaml:"before"`
}

type filterYAML struct {
	Event      stringList          `yaml:"event"`
	Channel    stringList          `yaml:"channel"`
	Properties map[string]condYAML `yaml:"properties"`
}

type condYAML struct {
	Equals any        `yaml:"equals"`
	In     []any      `yaml:"in"`
	NotIn  []any      `yaml:"not_in"`
	Prefix stringList `yaml:"prefix"`
	Gt     *float64   `yaml:"gt"`
	Gte    *float64   `yaml:"gte"`
	Lt     *float64   `yaml:"lt"`
	Lte    *float64   `yaml:"lte"`
}

// stringList is a string or a list of strings.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = stringList{n.Value}
		return nil
	case yaml.SequenceNode:
		var s []string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*l = s
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list of strings", n.Line)
}

// Parse validates and compiles the YAML text of a rules file. Errors name
// the rule (by id, or by position when it has none) and the field.
func Parse(data []byte) (*Set, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	names := ruleNames(&root)
	if err := checkShapes(&root, names); err != nil {
		return nil, err
	}
	var f fileYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, explain(err, names))
	}
	if f.Version != 0 && f.Version != 1 {
		return nil, fmt.Errorf("%w: version %d, want 1", ErrInvalid, f.Version)
	}
	if len(f.Rules) == 0 {
		return nil, fmt.Errorf("%w: no rules", ErrInvalid)
	}
	var errs []error
	var compiled []*Rule
	seen := map[string]int{}
	for i := range f.Rules {
		ry := &f.Rules[i]
		name := ruleName(i, ry.ID)
		if j, dup := seen[ry.ID]; dup && ry.ID != "" {
			errs = append(errs, fmt.Errorf("%s: duplicate id (also rule %d)", name, j+1))
			continue
		}
		seen[ry.ID] = i
		r, err := compile(name, ry)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		compiled = append(compiled, r)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w:\n%w", ErrInvalid, errors.Join(errs...))
	}
	return newSet(compiled), nil
}

func ruleName(i int, id string) string {
	if id == "" {
		return fmt.Sprintf("rule %d", i+1)
	}
	return "rule " + id
}

// ruleSpan is where one rule starts in the file and what to call it.
type ruleSpan struct {
	line int
	name string
	node *yaml.Node
}

// ruleNames lists the rules' mapping nodes, for errors that yaml.v3 reports
// by line only.
func ruleNames(root *yaml.Node) []ruleSpan {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil
	}
	var spans []ruleSpan
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "rules" || doc.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for j, item := range doc.Content[i+1].Content {
			id := ""
			if item.Kind == yaml.MappingNode {
				for k := 0; k+1 < len(item.Content); k += 2 {
					if item.Content[k].Value == "id" {
						id = item.Content[k+1].Value
					}
				}
			}
			spans = append(spans, ruleSpan{line: item.Line, name: ruleName(j, id), node: item})
		}
	}
	return spans
}

// checkShapes reports a rule with no shape, two shapes, or a key that is
// neither a field nor a shape: yaml.v3 would call the latter an unknown
// field, which hides that it is most likely a misspelt shape.
func checkShapes(root *yaml.Node, spans []ruleSpan) error {
	var errs []error
	for _, sp := range spans {
		if sp.node.Kind != yaml.MappingNode {
			continue
		}
		var found []string
		for k := 0; k+1 < len(sp.node.Content); k += 2 {
			key := sp.node.Content[k].Value
			switch {
			case slices.Contains(shapes, Shape(key)):
				found = append(found, key)
			case !slices.Contains(ruleFields, key):
				errs = append(errs, fmt.Errorf("%s: line %d: unknown shape or field %q (shapes: %s; fields: %s)",
					sp.name, sp.node.Content[k].Line, key, shapeList(), strings.Join(ruleFields, ", ")))
			}
		}
		switch {
		case len(found) == 0:
			errs = append(errs, fmt.Errorf("%s: no shape: want one of %s", sp.name, shapeList()))
		case len(found) > 1:
			errs = append(errs, fmt.Errorf("%s: %d shapes (%s): a rule has exactly one", sp.name, len(found), strings.Join(found, ", ")))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w:\n%w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

func shapeList() string {
	s := make([]string, len(shapes))
	for i, sh := range shapes {
		s[i] = string(sh)
	}
	return strings.Join(s, ", ")
}

var (
	lineRe      = regexp.MustCompile(`^line (\d+): `)
	notFoundRe  = regexp.MustCompile(`field (\S+) not found in type \S+`)
	unmarshalRe = regexp.MustCompile(`cannot unmarshal !!(\w+) ` + "`" + `([^` + "`" + `]*)` + "`" + ` into \S+`)
)

// explain turns yaml.v3's decoding errors into lines that name the rule and
// say what is wrong in the words of the file.
func explain(err error, spans []ruleSpan) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	lines := make([]string, 0, len(te.Errors))
	for _, msg := range te.Errors {
		msg = notFoundRe.ReplaceAllString(msg, "unknown field $1")
		msg = unmarshalRe.ReplaceAllString(msg, "unexpected $1 $2")
		if m := lineRe.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			for i := len(spans) - 1; i >= 0; i-- {
				if spans[i].line <= line {
					msg = spans[i].name + ": " + msg
					break
				}
			}
		}
		lines = append(lines, msg)
	}
	return strings.Join(lines, "\n")
}

// compile validates one rule; every error starts with name.
func compile(name string, ry *ruleYAML) (*Rule, error) {
	r := &Rule{ID: ry.ID, Description: strings.TrimSpace(ry.Description), Severity: ry.Severity}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if r.ID == "" {
		bad("id: missing")
	} else if !idRe.MatchString(r.ID) {
		bad("id %q: want lower-case letters, digits and underscores", r.ID)
	}
	if r.Description == "" {
		bad("description: missing (say what the rule means for the customer)")
	}
	if !validSeverity(r.Severity) {
		bad("severity %q: want info, warning or critical", r.Severity)
	}
	r.details = ry.Details
	fc := filterCompiler{custom: ry.CustomEvents, bad: bad}
	dur := func(field, s string, required bool) time.Duration {
		if s == "" {
			if required {
				bad("%s: missing", field)
			}
			return 0
		}
		d, err := ParseDuration(s)
		if err != nil {
			bad("%s: %v", field, err)
		} else if d <= 0 {
			bad("%s: %q must be positive", field, s)
		}
		return d
	}
	minCount := func(field string, n, least int) int {
		if n < least {
			bad("%s: %d, want at least %d", field, n, least)
		}
		return n
	}
	switch {
	case ry.CountBefore != nil:
		y := ry.CountBefore
		r.Shape = CountBefore
		r.a = fc.compile("count_before.count", y.Count, true)
		r.b = fc.compile("count_before.anchor", y.Anchor, true)
		r.min = minCount("count_before.min", y.Min, 1)
		r.window = dur("count_before.within", y.Within, true)
		r.countKey = y.CountKey
		if r.countKey == "" {
			r.countKey = "count"
		}
	case ry.RepeatWithin != nil:
		y := ry.RepeatWithin
		r.Shape = RepeatWithin
		r.a = fc.compile("repeat_within.match", y.Match, true)
		r.min = minCount("repeat_within.min", y.Min, 2)
		r.window = dur("repeat_within.within", y.Within, true)
		r.same = y.Same
	case ry.Sequence != nil:
		y := ry.Sequence
		r.Shape = Sequence
		r.a = fc.compile("sequence.first", y.First, true)
		r.b = fc.compile("sequence.then", y.Then, true)
		r.unless = fc.compile("sequence.unless", y.Unless, false)
		r.window = dur("sequence.within", y.Within, true)
	case ry.Threshold != nil:
		y := ry.Threshold
		r.Shape = Threshold
		r.a = fc.compile("threshold.match", y.Match, true)
		r.property = y.Property
		if r.property == "" {
			bad("threshold.property: missing")
		}
		cmps := compileCmps(y.Gt, y.Gte, y.Lt, y.Lte)
		if len(cmps) != 1 {
			bad("threshold: want exactly one of gt, gte, lt, lte; got %d", len(cmps))
		} else {
			r.cmp = cmps[0]
		}
	case ry.Absence != nil:
		y := ry.Absence
		r.Shape = Absence
		r.a = fc.compile("absence.first", y.First, true)
		r.b = fc.compile("absence.then", y.Then, true)
		r.same = y.Same
		r.dueProperty = y.DueProperty
		r.window = dur("absence.within", y.Within, false)
		r.before = dur("absence.before", y.Before, false)
		r.maxDue = dur("absence.max_due", y.MaxDue, false)
		if r.dueProperty != "" && r.maxDue == 0 {
			r.maxDue = max(DefaultMaxDue, r.window)
		}
		switch {
		case r.maxDue != 0 && r.dueProperty == "":
			bad("absence.max_due: only with due_property")
		case r.dueProperty != "" && r.window > r.maxDue:
			bad("absence.max_due: shorter than within")
		case r.before != 0 && (r.window != 0 || r.dueProperty != ""):
			bad("absence: before looks back from first, within and due_property look forward: give one or the other")
		case r.before != 0 && r.same != "":
			bad("absence.same: only with within or due_property")
		case r.before == 0 && r.window == 0 && r.dueProperty == "":
			bad("absence: want within, due_property (or both), or before")
		}
	}
	if ry.Escalate != nil {
		e := ry.Escalate
		switch {
		case r.Shape == Sequence || r.Shape == Absence:
			bad("escalate: only count_before, repeat_within and threshold rules escalate")
		case e.At == nil:
			bad("escalate.at: missing")
		case !validSeverity(e.Severity):
			bad("escalate.severity %q: want info, warning or critical", e.Severity)
		case r.Shape != Threshold && *e.At < float64(r.min):
			bad("escalate.at: %v is below min %d", *e.At, r.min)
		case r.Shape == Threshold && r.cmp.op != 0 && !r.cmp.holds(*e.At):
			bad("escalate.at: %v does not pass the threshold (%s %v)", *e.At, opNames[r.cmp.op], r.cmp.val)
		default:
			r.escalateAt, r.escalateTo = *e.At, e.Severity
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

var idRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func validSeverity(s string) bool {
	return s == schemas.SeverityInfo || s == schemas.SeverityWarning || s == schemas.SeverityCritical
}

type filterCompiler struct {
	custom bool
	bad    func(string, ...any)
}

func (fc filterCompiler) compile(field string, y *filterYAML, required bool) *filter {
	if y == nil {
		if required {
			fc.bad("%s: missing", field)
		}
		return nil
	}
	if len(y.Event) == 0 && len(y.Channel) == 0 {
		fc.bad("%s: name an event or a channel (a filter on properties alone would look at every touchpoint)", field)
	}
	f := &filter{events: y.Event, channels: y.Channel}
	for _, ev := range y.Event {
		if ev == "" {
			fc.bad("%s.event: empty name", field)
		} else if !fc.custom && !slices.Contains(KnownEvents, ev) {
			fc.bad("%s.event: unknown event %q (known: %s; set custom_events: true on the rule to use your own)",
				field, ev, strings.Join(KnownEvents, ", "))
		}
	}
	keys := make([]string, 0, len(y.Properties))
	for k := range y.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic errors and evaluation
	for _, k := range keys {
		c := y.Properties[k]
		pf := fmt.Sprintf("%s.properties.%s", field, k)
		pc := propCond{key: k, prefixes: c.Prefix, nums: compileCmps(c.Gt, c.Gte, c.Lt, c.Lte)}
		if c.Equals != nil {
			if v, ok := scalar(c.Equals); ok {
				pc.equals = append(pc.equals, v)
			} else {
				fc.bad("%s.equals: want a string, number or boolean", pf)
			}
		}
		if c.Equals != nil && c.In != nil {
			fc.bad("%s: give equals or in, not both", pf)
		}
		for _, x := range c.In {
			if v, ok := scalar(x); ok {
				pc.equals = append(pc.equals, v)
			} else {
				fc.bad("%s.in: want strings, numbers or booleans", pf)
			}
		}
		for _, x := range c.NotIn {
			if v, ok := scalar(x); ok {
				pc.notIn = append(pc.notIn, v)
			} else {
				fc.bad("%s.not_in: want strings, numbers or booleans", pf)
			}
		}
		if c.In != nil && len(c.In) == 0 {
			fc.bad("%s.in: empty list", pf)
		}
		if len(pc.equals) == 0 && len(pc.notIn) == 0 && len(pc.prefixes) == 0 && len(pc.nums) == 0 && c.Equals == nil && c.In == nil {
			fc.bad("%s: no condition (equals, in, not_in, prefix, gt, gte, lt, lte)", pf)
		}
		f.props = append(f.props, pc)
	}
	return f
}

func scalar(x any) (value, bool) {
	switch v := x.(type) {
	case string:
		return value{text: v}, true
	case bool:
		return value{text: strconv.FormatBool(v)}, true
	case int:
		return value{num: float64(v), isNum: true}, true
	case float64:
		return value{num: v, isNum: true}, true
	}
	return value{}, false
}

func compileCmps(gt, gte, lt, lte *float64) []numCmp {
	var out []numCmp
	for _, c := range []struct {
		op cmpOp
		v  *float64
	}{{opGt, gt}, {opGte, gte}, {opLt, lt}, {opLte, lte}} {
		if c.v != nil {
			out = append(out, numCmp{c.op, *c.v})
		}
	}
	return out
}

// ParseDuration reads a duration as Go writes it ("90m", "2h30m") with days
// (d) and weeks (w) besides: "7d", "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	if s == "" {
		return 0, errors.New("empty duration")
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("bad duration %q: want a number and a unit (ms, s, m, h, d, w), e.g. 7d or 90m", orig)
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: %q is not a number", orig, s[:i])
		}
		j := i
		for j < len(s) && (s[j] < '0' || s[j] > '9') && s[j] != '.' {
			j++
		}
		var unit time.Duration
		switch s[i:j] {
		case "ms":
			unit = time.Millisecond
		case "s":
			unit = time.Second
		case "m":
			unit = time.Minute
		case "h":
			unit = time.Hour
		case "d":
			unit = 24 * time.Hour
		case "w":
			unit = 7 * 24 * time.Hour
		case "":
			return 0, fmt.Errorf("bad duration %q: %s has no unit (ms, s, m, h, d, w)", orig, s[:i])
		default:
			return 0, fmt.Errorf("bad duration %q: unknown unit %q (ms, s, m, h, d, w)", orig, s[i:j])
		}
		total += time.Duration(n * float64(unit))
		s = s[j:]
	}
	return total, nil
}
