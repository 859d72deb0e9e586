package marathon

import (
	"encoding/json"
	"fmt"
	"slices"
)

// AppPatch is a partial app definition, the body of PATCH /v2/apps/{id} (and of PUT with
// ?partialUpdate=true): only the fields it names change, each replaced as a whole.
type AppPatch struct {
	fields map[string]json.RawMessage
}

// DecodeAppPatch decodes a partial app strictly: unknown fields and mistyped values are errors,
// absent fields are simply not part of the patch.
func DecodeAppPatch(data []byte) (*AppPatch, error) {
	var a App
	if err := decodeStrict(data, &a, false); err != nil {
		return nil, err
	}
	p := &AppPatch{}
	if err := json.Unmarshal(data, &p.fields); err != nil {
		return nil, fmt.Errorf("app patch: %w", err)
	}
	if p.fields == nil {
		p.fields = map[string]json.RawMessage{}
	}
	return p, nil
}

// DecodeAppPatches decodes a JSON array of partial apps (PATCH /v2/apps), strictly.
func DecodeAppPatches(data []byte) ([]*AppPatch, error) {
	var raws []json.RawMessage
	if _, err := parseGeneric(data); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &raws); err != nil {
		var p problems
		p.add("/", "error.expected.jsarray")
		return nil, &DecodeError{*p.err(MsgInvalidJSON)}
	}
	var all problems
	out := make([]*AppPatch, len(raws))
	for i, raw := range raws {
		p, err := DecodeAppPatch(raw)
		if de, ok := err.(*DecodeError); ok {
			for _, d := range de.Details {
				for _, m := range d.Errors {
					all.add(idx("", i)+trimRoot(d.Path), m)
				}
			}
			continue
		} else if err != nil {
			return nil, err
		}
		out[i] = p
	}
	if verr := all.err(MsgInvalidJSON); verr != nil {
		return nil, &DecodeError{*verr}
	}
	return out, nil
}

func trimRoot(path string) string {
	if path == "/" {
		return ""
	}
	return path
}

// Fields lists the top-level fields the patch sets, sorted.
func (p *AppPatch) Fields() []string {
	keys := make([]string, 0, len(p.fields))
	for k := range p.fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Has reports whether the patch sets the field (by its JSON name, such as "instances").
func (p *AppPatch) Has(field string) bool {
	_, ok := p.fields[field]
	return ok
}

// App returns the patch as an app: the fields it sets, the rest zero.
func (p *AppPatch) App() *App {
	var a App
	p.applyOnto(map[string]json.RawMessage{}, &a)
	return &a
}

// ApplyTo returns a copy of base with the patch's fields replacing base's.
func (p *AppPatch) ApplyTo(base *App) *App {
	b, err := json.Marshal(base)
	if err != nil {
		panic(fmt.Sprintf("marathon: patch: %v", err))
	}
	merged := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &merged); err != nil {
		panic(fmt.Sprintf("marathon: patch: %v", err))
	}
	var a App
	p.applyOnto(merged, &a)
	return &a
}

func (p *AppPatch) applyOnto(merged map[string]json.RawMessage, a *App) {
	for k, v := range p.fields {
		merged[k] = v
	}
	b, err := json.Marshal(merged)
	if err != nil {
		panic(fmt.Sprintf("marathon: patch: %v", err))
	}
	// The patch passed the strict check and base came from an App, so this cannot fail.
	if err := json.Unmarshal(b, a); err != nil {
		panic(fmt.Sprintf("marathon: patch: %v", err))
	}
}

// MarshalJSON writes the patch as it was given.
func (p *AppPatch) MarshalJSON() ([]byte, error) { return json.Marshal(p.fields) }
