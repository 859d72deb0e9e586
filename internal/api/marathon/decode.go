package marathon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Strict decoding. encoding/json stops at the first unknown field or mistyped value and reports
// neither with a Marathon path, so a body is first decoded into generic JSON and walked alongside
// the Go type it is meant for: every unknown field and every value of the wrong JSON type is
// reported with its path. Only a body that passes is decoded into the typed value.
//
// A struct field tagged `marathon:"readonly"` is one that Marathon computes and GET returns; it
// counts as unknown unless read-only fields are allowed (responses, not request bodies).

// DecodeApp decodes an app definition as POST /v2/apps and PUT /v2/apps/{id} accept it: read-only
// fields (task counts, deployments, tasks...) are rejected like any unknown field.
func DecodeApp(data []byte) (*App, error) {
	var a App
	if err := decodeStrict(data, &a, false); err != nil {
		return nil, err
	}
	return &a, nil
}

// DecodeAppInfo decodes an app as GET /v2/apps returns it: like DecodeApp, but it accepts the
// read-only fields.
func DecodeAppInfo(data []byte) (*App, error) {
	var a App
	if err := decodeStrict(data, &a, true); err != nil {
		return nil, err
	}
	return &a, nil
}

// DecodeApps decodes a JSON array of app definitions (PUT /v2/apps), strictly.
func DecodeApps(data []byte) ([]*App, error) {
	var apps []*App
	if err := decodeStrict(data, &apps, false); err != nil {
		return nil, err
	}
	return apps, nil
}

// DecodeGroup decodes a group definition (POST/PUT /v2/groups) strictly, apps included.
func DecodeGroup(data []byte) (*Group, error) {
	var g Group
	if err := decodeStrict(data, &g, false); err != nil {
		return nil, err
	}
	return &g, nil
}

// DecodeGroupPartialUpdate decodes the body of PATCH /v2/groups/{id} strictly.
func DecodeGroupPartialUpdate(data []byte) (*GroupPartialUpdate, error) {
	var u GroupPartialUpdate
	if err := decodeStrict(data, &u, false); err != nil {
		return nil, err
	}
	return &u, nil
}

// DecodeGroupInfo decodes a group as GET /v2/groups returns it, read-only app fields allowed.
func DecodeGroupInfo(data []byte) (*Group, error) {
	var g Group
	if err := decodeStrict(data, &g, true); err != nil {
		return nil, err
	}
	return &g, nil
}

// DecodeResponse decodes any response body of this package's types (tasks, deployments, queue,
// info...) strictly: unknown fields and mistyped values are errors, read-only fields are allowed.
func DecodeResponse(data []byte, v any) error {
	return decodeStrict(data, v, true)
}

// decodeStrict checks data against v's type, then decodes it into v.
func decodeStrict(data []byte, v any, allowReadOnly bool) error {
	generic, err := parseGeneric(data)
	if err != nil {
		return err
	}
	w := walker{allowReadOnly: allowReadOnly}
	w.check(generic, reflect.TypeOf(v).Elem(), "/")
	if verr := w.probs.err(MsgInvalidJSON); verr != nil {
		return &DecodeError{*verr}
	}
	if err := json.Unmarshal(data, v); err != nil {
		// The walk should have caught everything; report what slipped through (e.g. a number
		// out of range) as a validation problem all the same.
		var p problems
		p.add(pathOfUnmarshalError(err), err.Error())
		return &DecodeError{*p.err(MsgInvalidJSON)}
	}
	return nil
}

// parseGeneric decodes data into generic JSON with json.Number for numbers.
func parseGeneric(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, toSyntaxError(data, err)
	}
	if dec.More() {
		return nil, &SyntaxError{Offset: dec.InputOffset(), Err: errors.New("data after the JSON value")}
	}
	// Decoder.More ignores trailing garbage like "}"; json.Valid does not.
	if !json.Valid(data) {
		return nil, toSyntaxError(data, json.Unmarshal(data, new(any)))
	}
	return v, nil
}

func toSyntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &SyntaxError{Offset: se.Offset, Err: err}
	}
	return &SyntaxError{Offset: int64(len(data)), Err: err}
}

func pathOfUnmarshalError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return "/" + strings.ReplaceAll(te.Field, ".", "/")
	}
	return "/"
}

type walker struct {
	allowReadOnly bool
	probs         problems
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func (w *walker) check(v any, t reflect.Type, path string) {
	if v == nil {
		return // null decodes to the zero value of any Go type
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		w.checkUnmarshaler(v, t, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			w.typeError(path, "object", v)
			return
		}
		fields := fieldsOf(t)
		for _, key := range sortedKeys(obj) {
			f, known := fields[key]
			if !known || (f.readOnly && !w.allowReadOnly) {
				w.probs.add(sub(path, key), "Unknown field")
				continue
			}
			w.check(obj[key], f.typ, sub(path, key))
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			w.typeError(path, "object", v)
			return
		}
		for _, key := range sortedKeys(obj) {
			w.check(obj[key], t.Elem(), sub(path, key))
		}
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			w.typeError(path, "array", v)
			return
		}
		for i, item := range arr {
			w.check(item, t.Elem(), idx(path, i))
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			w.typeError(path, "string", v)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			w.typeError(path, "boolean", v)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			w.typeError(path, "number", v)
			return
		}
		i, err := n.Int64()
		if err != nil || reflect.New(t).Elem().OverflowInt(i) {
			w.probs.add(path, "error.expected.int")
		}
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			w.typeError(path, "number", v)
			return
		}
		if _, err := n.Float64(); err != nil {
			w.probs.add(path, "error.expected.jsnumber")
		}
	case reflect.Interface:
		// any JSON value
	default:
		w.probs.add(path, fmt.Sprintf("cannot decode into %s", t))
	}
}

// checkUnmarshaler lets a type with its own UnmarshalJSON judge its value.
func (w *walker) checkUnmarshaler(v any, t reflect.Type, path string) {
	b, err := json.Marshal(v)
	if err != nil {
		w.probs.add(path, err.Error())
		return
	}
	if err := json.Unmarshal(b, reflect.New(t).Interface()); err != nil {
		w.probs.add(path, strings.TrimPrefix(err.Error(), "json: "))
	}
}

// typeError reports a value of the wrong JSON type with Play JSON's code, as Marathon does
// ("error.expected.jsstring").
func (w *walker) typeError(path, want string, got any) {
	w.probs.add(path, "error.expected.js"+want)
}

type fieldInfo struct {
	typ      reflect.Type
	readOnly bool
}

var fieldCache sync.Map // reflect.Type -> map[string]fieldInfo

// fieldsOf maps the JSON names of a struct's fields, embedded structs flattened, to their types.
func fieldsOf(t reflect.Type) map[string]fieldInfo {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]fieldInfo)
	}
	m := map[string]fieldInfo{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range fieldsOf(ft) {
					m[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = fieldInfo{typ: f.Type, readOnly: f.Tag.Get("marathon") == "readonly"}
	}
	fieldCache.Store(t, m)
	return m
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
