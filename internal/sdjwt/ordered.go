package sdjwt

import (
	"bytes"
	"fmt"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssi-project/ssi/internal/jsonx"
)

// The issuer works on an order-preserving tree so that the disclosures and
// the payload keep the member order of the input (which is what makes the
// RFC 9901 examples reproducible byte for byte).

type member struct {
	name string
	val  node
}

// node is *object, *array or leaf.
type node any

type object struct{ members []member }

type array struct{ elems []node }

// leaf is the raw JSON text of a string, number, true, false or null.
type leaf []byte

// parseOrdered reads data, which must already have passed jsonx.Check (or
// jose.ParseValue, which accepts the same), into an ordered tree.
func parseOrdered(data []byte) (node, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	n, err := readNode(dec)
	if err != nil {
		return nil, jsonx.Malformed(err)
	}
	return n, nil
}

func readNode(dec *jsontext.Decoder) (node, error) {
	switch dec.PeekKind() {
	case '{':
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		o := &object{}
		for dec.PeekKind() != '}' {
			tok, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			name := tok.String()
			v, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			o.members = append(o.members, member{name, v})
		}
		_, err := dec.ReadToken()
		return o, err
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		a := &array{elems: []node{}}
		for dec.PeekKind() != ']' {
			v, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			a.elems = append(a.elems, v)
		}
		_, err := dec.ReadToken()
		return a, err
	case 0:
		_, err := dec.ReadToken()
		if err == nil {
			err = fmt.Errorf("unexpected end of JSON")
		}
		return nil, err
	}
	v, err := dec.ReadValue()
	if err != nil {
		return nil, err
	}
	return leaf(bytes.Clone(v)), nil
}

// writer encodes nodes. spaced uses ", " and ": " as separators, the
// formatting of the RFC 9901 examples (Python's json.dumps default).
type writer struct {
	buf    []byte
	spaced bool
}

func (w *writer) comma() {
	w.buf = append(w.buf, ',')
	if w.spaced {
		w.buf = append(w.buf, ' ')
	}
}

func (w *writer) colon() {
	w.buf = append(w.buf, ':')
	if w.spaced {
		w.buf = append(w.buf, ' ')
	}
}

func (w *writer) str(s string) {
	w.buf, _ = jsontext.AppendQuote(w.buf, s) // error only for invalid UTF-8, which Check excluded
}

func (w *writer) node(n node) {
	switch t := n.(type) {
	case *object:
		w.buf = append(w.buf, '{')
		for i, m := range t.members {
			if i > 0 {
				w.comma()
			}
			w.str(m.name)
			w.colon()
			w.node(m.val)
		}
		w.buf = append(w.buf, '}')
	case *array:
		w.buf = append(w.buf, '[')
		for i, e := range t.elems {
			if i > 0 {
				w.comma()
			}
			w.node(e)
		}
		w.buf = append(w.buf, ']')
	case leaf:
		w.buf = append(w.buf, t...)
	case string:
		w.str(t)
	}
}
