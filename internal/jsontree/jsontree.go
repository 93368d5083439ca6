// Package jsontree reads a JSON document (RFC 8259) into a tree of values
// without reflection. It is for the router build, where `qpc admin` turns
// the node's JSON answers into tables: encoding/json's decoder, with the
// reflection it brings, costs two 64 KiB steps of the mips binary, this
// reader a few KiB. Reading is strict (one value, no trailing data,
// escapes checked) and bounded
// (MaxDepth); a value of another kind than asked reads as its zero.
// Strings keep their bytes as they are; a lone UTF-16 surrogate escape
// reads as U+FFFD.
package jsontree

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSyntax means the input is not one JSON value.
var ErrSyntax = errors.New("jsontree: not JSON")

// MaxDepth bounds the nesting of arrays and objects.
const MaxDepth = 64

// Kind is the kind of a Value.
type Kind uint8

// The kinds of values; Missing is what Get returns for an absent key.
const (
	Missing Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

// Value is one JSON value.
type Value struct {
	kind Kind
	b    bool
	num  float64
	str  string
	arr  []Value
	keys []string // an object's keys, in order, with vals
	vals []Value
}

// Kind returns v's kind.
func (v Value) Kind() Kind { return v.kind }

// Get returns the member key of an object (the last one, if repeated), or
// a Missing value.
func (v Value) Get(key string) Value {
	for i := len(v.keys) - 1; i >= 0; i-- {
		if v.keys[i] == key {
			return v.vals[i]
		}
	}
	return Value{}
}

// Str returns a string's text, "" for any other kind.
func (v Value) Str() string { return v.str }

// Int returns a number truncated to an int64 (0 for another kind, and
// for a number beyond int64).
func (v Value) Int() int64 {
	if v.kind != Number || v.num >= 1<<63 || v.num < -(1<<63) {
		return 0
	}
	return int64(v.num)
}

// Bool returns a boolean's value, false for any other kind.
func (v Value) Bool() bool { return v.b }

// List returns an array's elements, nil for any other kind.
func (v Value) List() []Value { return v.arr }

// Parse reads data as one JSON value.
func Parse(data []byte) (Value, error) {
	p := parser{data: data}
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.space()
	if p.i != len(p.data) {
		return Value{}, p.fail("data after the value")
	}
	return v, nil
}

type parser struct {
	data []byte
	i    int
}

func (p *parser) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrSyntax, what, p.i)
}

func (p *parser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) literal(word string) bool {
	if len(p.data)-p.i >= len(word) && string(p.data[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *parser) value(depth int) (Value, error) {
	if depth > MaxDepth {
		return Value{}, p.fail("nested too deep")
	}
	p.space()
	if p.i >= len(p.data) {
		return Value{}, p.fail("end of input")
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.string()
		return Value{kind: String, str: s}, err
	case p.literal("true"):
		return Value{kind: Bool, b: true}, nil
	case p.literal("false"):
		return Value{kind: Bool}, nil
	case p.literal("null"):
		return Value{kind: Null}, nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return Value{}, p.fail("unexpected character")
}

func (p *parser) object(depth int) (Value, error) {
	p.i++ // {
	v := Value{kind: Object}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return v, nil
	}
	for {
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return Value{}, p.fail("want a key")
		}
		key, err := p.string()
		if err != nil {
			return Value{}, err
		}
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return Value{}, p.fail("want ':'")
		}
		p.i++
		val, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		v.keys, v.vals = append(v.keys, key), append(v.vals, val)
		p.space()
		if p.i >= len(p.data) {
			return Value{}, p.fail("end of input in an object")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return v, nil
		default:
			return Value{}, p.fail("want ',' or '}'")
		}
	}
}

func (p *parser) array(depth int) (Value, error) {
	p.i++ // [
	v := Value{kind: Array, arr: []Value{}}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return v, nil
	}
	for {
		el, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		v.arr = append(v.arr, el)
		p.space()
		if p.i >= len(p.data) {
			return Value{}, p.fail("end of input in an array")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return v, nil
		default:
			return Value{}, p.fail("want ',' or ']'")
		}
	}
}

// number reads the JSON number grammar exactly (no leading zeros, no
// '+', digits after '.' and 'e').
func (p *parser) number() (Value, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.data[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.data) && p.data[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return Value{}, p.fail("bad number")
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return Value{}, p.fail("bad number")
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return Value{}, p.fail("bad number")
		}
	}
	// The grammar is all JSON asks: a number beyond float64 reads as
	// ±Inf (Int: 0), as strconv rounds it.
	f, _ := strconv.ParseFloat(string(p.data[start:p.i]), 64)
	return Value{kind: Number, num: f}, nil
}

func (p *parser) string() (string, error) {
	p.i++ // "
	var out []byte
	for {
		if p.i >= len(p.data) {
			return "", p.fail("end of input in a string")
		}
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		p.i++ // backslash
		if p.i >= len(p.data) {
			return "", p.fail("end of input in an escape")
		}
		e := p.data[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return "", err
			}
			// A surrogate pair is one rune; a surrogate alone reads
			// as U+FFFD, as encoding/json reads it.
			if r >= 0xd800 && r < 0xdc00 && len(p.data)-p.i >= 6 && p.data[p.i] == '\\' && p.data[p.i+1] == 'u' {
				save := p.i
				p.i += 2
				if r2, err := p.hex4(); err == nil && r2 >= 0xdc00 && r2 < 0xe000 {
					r = utf16.DecodeRune(r, r2)
				} else {
					p.i, r = save, utf8.RuneError
				}
			} else if utf16.IsSurrogate(r) {
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", p.fail("bad escape")
		}
	}
}

func (p *parser) hex4() (rune, error) {
	if len(p.data)-p.i < 4 {
		return 0, p.fail("short \\u escape")
	}
	var r rune
	for _, c := range p.data[p.i : p.i+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, p.fail("bad \\u escape")
		}
		r = r<<4 | rune(d)
	}
	p.i += 4
	return r, nil
}
