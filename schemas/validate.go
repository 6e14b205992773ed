package schemas

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// eventSchemas holds the JSON Schemas of tracking calls: envelope.json for
// every call, and one file per event name (see Event.EventName) for the
// properties of that event. Adding a file adds a checked event.
//
//go:embed events/*.json
var eventSchemas embed.FS

const (
	schemaDir      = "events"
	envelopeSchema = "envelope.json"
	schemaBaseURL  = "https://github.com/journeys/journeys/schemas/"
)

// FieldError is one reason a tracking call does not match its schema.
type FieldError struct {
	// Path is the dotted JSON path of the offending value, such as
	// "properties.revenue"; empty for the call as a whole.
	Path string `json:"path"`
	// Message is meant for the sender and names the path, such as
	// "properties.revenue: expected number, got string" or
	// "anonymousId or userId is required".
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Message }

// Validator checks tracking calls against the embedded JSON Schemas. It is
// compiled once and safe for concurrent use.
type Validator struct {
	envelope   *jsonschema.Schema
	properties map[string]*jsonschema.Schema // by event name
	// checked holds, by event name, the property names a properties
	// schema looks at, when it looks at no others (see checkedNames).
	checked map[string]map[string]bool
}

// NewValidator compiles the embedded event schemas.
func NewValidator() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()

	files, err := fs.Glob(eventSchemas, schemaDir+"/*.json")
	if err != nil {
		return nil, fmt.Errorf("list event schemas: %w", err)
	}
	docs := make(map[string]any, len(files))
	for _, f := range files {
		b, err := eventSchemas.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read event schema %s: %w", f, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("parse event schema %s: %w", f, err)
		}
		if err := c.AddResource(schemaBaseURL+f, doc); err != nil {
			return nil, fmt.Errorf("add event schema %s: %w", f, err)
		}
		docs[f] = doc
	}

	v := &Validator{properties: make(map[string]*jsonschema.Schema), checked: make(map[string]map[string]bool)}
	for _, f := range files {
		sch, err := c.Compile(schemaBaseURL + f)
		if err != nil {
			return nil, fmt.Errorf("compile event schema %s: %w", f, err)
		}
		name := strings.TrimSuffix(path.Base(f), ".json")
		if path.Base(f) == envelopeSchema {
			v.envelope = sch
			continue
		}
		v.properties[name] = sch
		if names, ok := checkedNames(docs[f]); ok {
			v.checked[name] = names
		}
	}
	if v.envelope == nil {
		return nil, fmt.Errorf("event schema %s/%s is missing", schemaDir, envelopeSchema)
	}
	return v, nil
}

// checkedNames returns the property names a properties schema looks at,
// when it is a plain object schema — type object, properties, required and
// annotations, nothing (additionalProperties, patternProperties, $ref, …)
// that could look at other names. ok is false otherwise.
func checkedNames(doc any) (names map[string]bool, ok bool) {
	obj, isObj := doc.(map[string]any)
	if !isObj || obj["type"] != "object" {
		return nil, false
	}
	names = map[string]bool{}
	for k, v := range obj {
		switch k {
		case "$schema", "$id", "$comment", "title", "description", "type":
		case "properties":
			props, isObj := v.(map[string]any)
			if !isObj {
				return nil, false
			}
			for name := range props {
				names[name] = true
			}
		case "required":
			req, isArr := v.([]any)
			if !isArr {
				return nil, false
			}
			for _, r := range req {
				name, isStr := r.(string)
				if !isStr {
					return nil, false
				}
				names[name] = true
			}
		default:
			return nil, false
		}
	}
	return names, true
}

// CheckedProperties returns the property names the event's properties
// schema looks at, when it looks at no others: a caller may then hand
// ValidateProperties only those, undecoded others left out. ok is false
// when the schema may look at any property, or the event has no schema.
func (v *Validator) CheckedProperties(event string) (names map[string]bool, ok bool) {
	names, ok = v.checked[event]
	return names, ok
}

// Validate checks one tracking call, decoded from JSON into Go values
// (map[string]any, []any, string, float64 or json.Number, bool, nil), as
// jsonschema.UnmarshalJSON or encoding/json produce. It checks the envelope
// and, when the call's event has a properties schema, its properties; other
// custom track events pass with only the envelope checked. It returns nil
// when the call is valid.
func (v *Validator) Validate(call any) []FieldError {
	var errs []FieldError
	if err := v.envelope.Validate(call); err != nil {
		errs = appendFieldErrors(errs, "", err)
	}
	obj, ok := call.(map[string]any)
	if !ok {
		return errs
	}
	sch, ok := v.properties[eventName(obj)]
	if !ok {
		return errs
	}
	props := obj["properties"]
	if props == nil {
		props = map[string]any{} // absent properties still have required fields
	}
	if _, isObj := props.(map[string]any); !isObj {
		return errs // the envelope already said properties must be an object
	}
	if err := sch.Validate(props); err != nil {
		errs = appendFieldErrors(errs, "properties", err)
	}
	return errs
}

// eventName mirrors Event.EventName on the raw call.
func eventName(obj map[string]any) string {
	typ, _ := obj["type"].(string)
	if typ == TypeTrack {
		ev, _ := obj["event"].(string)
		return ev
	}
	return typ
}

func appendFieldErrors(errs []FieldError, prefix string, err error) []FieldError {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return append(errs, FieldError{Path: prefix, Message: withPath(prefix, err.Error())})
	}
	var leaves []FieldError
	collect(&leaves, prefix, ve)
	// The library visits properties in map order; sort for stable answers.
	slices.SortStableFunc(leaves, func(a, b FieldError) int { return strings.Compare(a.Path, b.Path) })
	for _, l := range leaves {
		if !slices.Contains(errs, l) {
			errs = append(errs, l)
		}
	}
	return errs
}

var printer = message.NewPrinter(language.English)

// collect turns the library's error tree into one FieldError per failed
// leaf keyword, since the inner nodes (allOf, if/then, $ref) only say that
// something below them failed.
func collect(out *[]FieldError, prefix string, ve *jsonschema.ValidationError) {
	loc := joinPath(prefix, ve.InstanceLocation)
	if k, ok := ve.ErrorKind.(*kind.AnyOf); ok && k != nil {
		if fe, ok := requiredOneOf(loc, ve); ok {
			*out = append(*out, fe)
			return
		}
	}
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collect(out, prefix, c)
		}
		return
	}
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			p := joinPath(loc, []string{m})
			*out = append(*out, FieldError{Path: p, Message: withPath(p, "required")})
		}
		return
	}
	*out = append(*out, FieldError{Path: loc, Message: withPath(loc, describe(ve.ErrorKind))})
}

// requiredOneOf words an anyOf whose every branch failed on one field that
// is missing or empty, like "anonymousId or userId is required".
func requiredOneOf(loc string, ve *jsonschema.ValidationError) (FieldError, bool) {
	depth := len(ve.InstanceLocation)
	var names []string
	for _, c := range ve.Causes {
		for len(c.Causes) == 1 {
			c = c.Causes[0]
		}
		if len(c.Causes) > 0 {
			return FieldError{}, false
		}
		if req, ok := c.ErrorKind.(*kind.Required); ok && len(c.InstanceLocation) == depth {
			names = append(names, req.Missing...)
			continue
		}
		if len(c.InstanceLocation) != depth+1 {
			return FieldError{}, false
		}
		names = append(names, c.InstanceLocation[depth])
	}
	if len(names) == 0 {
		return FieldError{}, false
	}
	p := joinPath(loc, names[:1])
	return FieldError{Path: p, Message: strings.Join(names, " or ") + " is required"}, true
}

func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("expected %s, got %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("longer than %d characters", k.Want)
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("shorter than %d characters", k.Want)
	case *kind.Format:
		if k.Want == "date-time" {
			return "expected an RFC 3339 date-time"
		}
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		return "expected one of " + strings.Join(want, ", ")
	case *kind.Const:
		return fmt.Sprintf("expected %v", k.Want)
	case *kind.Minimum:
		want, _ := k.Want.Float64()
		return fmt.Sprintf("must be at least %v", want)
	case *kind.Pattern:
		return fmt.Sprintf("does not match %s", k.Want)
	}
	return k.LocalizedString(printer)
}

func joinPath(prefix string, loc []string) string {
	parts := make([]string, 0, len(loc)+1)
	if prefix != "" {
		parts = append(parts, prefix)
	}
	parts = append(parts, loc...)
	return strings.Join(parts, ".")
}

func withPath(p, msg string) string {
	if p == "" {
		return msg
	}
	return p + ": " + msg
}
