package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// A strict JSON reader. encoding/json into structs or maps silently keeps
// the last of two duplicate names and drops unknown ones; a policy whose
// meaning depends on which duplicate wins must be refused instead, so the
// document is read token by token into ordered values.

type jkind byte

const (
	jString jkind = 's'
	jNumber jkind = 'n'
	jBool   jkind = 'b'
	jNull   jkind = 'z'
	jArray  jkind = 'a'
	jObject jkind = 'o'
)

type jvalue struct {
	kind jkind
	text string // string value, number text, "true"/"false"
	arr  []jvalue
	obj  []jfield
}

type jfield struct {
	name string
	val  jvalue
}

// maxDepth bounds nesting; a policy needs four levels
// (document, statement, condition, operator) plus arrays.
const maxDepth = 8

func (k jkind) String() string {
	switch k {
	case jString:
		return "a string"
	case jNumber:
		return "a number"
	case jBool:
		return "a boolean"
	case jNull:
		return "null"
	case jArray:
		return "an array"
	case jObject:
		return "an object"
	}
	return "?"
}

// readJSON parses one JSON value and refuses trailing data, duplicate
// object names and nesting deeper than maxDepth.
func readJSON(data []byte) (jvalue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		return jvalue{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jvalue{}, fmt.Errorf("data after the policy document")
	}
	return v, nil
}

func readValue(dec *json.Decoder, depth int) (jvalue, error) {
	tok, err := dec.Token()
	if err != nil {
		return jvalue{}, syntaxError(err)
	}
	switch t := tok.(type) {
	case string:
		return jvalue{kind: jString, text: t}, nil
	case json.Number:
		return jvalue{kind: jNumber, text: t.String()}, nil
	case bool:
		if t {
			return jvalue{kind: jBool, text: "true"}, nil
		}
		return jvalue{kind: jBool, text: "false"}, nil
	case nil:
		return jvalue{kind: jNull}, nil
	case json.Delim:
		if depth >= maxDepth {
			return jvalue{}, fmt.Errorf("the document is nested too deeply")
		}
		switch t {
		case '[':
			v := jvalue{kind: jArray}
			for dec.More() {
				e, err := readValue(dec, depth+1)
				if err != nil {
					return jvalue{}, err
				}
				v.arr = append(v.arr, e)
			}
			if _, err := dec.Token(); err != nil {
				return jvalue{}, syntaxError(err)
			}
			return v, nil
		case '{':
			v := jvalue{kind: jObject}
			var names map[string]bool // past a few fields, so that the duplicate check stays linear
			for dec.More() {
				nt, err := dec.Token()
				if err != nil {
					return jvalue{}, syntaxError(err)
				}
				name, ok := nt.(string)
				if !ok {
					return jvalue{}, fmt.Errorf("not valid JSON: object name expected")
				}
				if names == nil && len(v.obj) >= 8 {
					names = make(map[string]bool, 16)
					for _, f := range v.obj {
						names[f.name] = true
					}
				}
				dup := names[name]
				if names == nil {
					for _, f := range v.obj {
						dup = dup || f.name == name
					}
				}
				if dup {
					return jvalue{}, fmt.Errorf("duplicate element %q", trim(name))
				}
				if names != nil {
					names[name] = true
				}
				e, err := readValue(dec, depth+1)
				if err != nil {
					return jvalue{}, err
				}
				v.obj = append(v.obj, jfield{name, e})
			}
			if _, err := dec.Token(); err != nil {
				return jvalue{}, syntaxError(err)
			}
			return v, nil
		}
	}
	return jvalue{}, fmt.Errorf("not valid JSON: unexpected %v", tok)
}

func syntaxError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("not valid JSON: unexpected end of the document")
	}
	return fmt.Errorf("not valid JSON: %v", err)
}
