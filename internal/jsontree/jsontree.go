package jsontree

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSyntax is wrapped by every error for input that is not one JSON
// value, or that nests deeper than MaxDepth.
var ErrSyntax = errors.New("jsontree: not JSON")

// ErrType is wrapped by the errors of ParseObject for a top-level value
// that is not an object, and of the field readers for a member of another
// type than asked.
var ErrType = errors.New("jsontree: wrong type")

// MaxDepth bounds the nesting of arrays and objects: 64 levels, where
// encoding/json allows 10000. Nothing qpc reads nests more than three
// deep, and a tight bound keeps the recursion and the tree of a hostile
// input small.
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
	str  string // a string's text, or a number's literal (read exactly by IntField)
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
func (v Value) Str() string {
	if v.kind != String {
		return ""
	}
	return v.str
}

// Int returns a number truncated to an int64 (0 for another kind, and
// for a number beyond int64).
func (v Value) Int() int64 {
	if v.kind != Number {
		return 0
	}
	if n, err := strconv.ParseInt(v.str, 10, 64); err == nil {
		return n
	}
	f, _ := strconv.ParseFloat(v.str, 64) // ±Inf beyond float64
	if f >= 1<<63 || f < -(1<<63) {
		return 0
	}
	return int64(f)
}

// Bool returns a boolean's value, false for any other kind.
func (v Value) Bool() bool { return v.b }

// List returns an array's elements, nil for any other kind.
func (v Value) List() []Value { return v.arr }

// each calls fn with every value of the member key, in input order, and
// returns its first error.
func (v Value) each(key string, fn func(Value) error) error {
	for i, k := range v.keys {
		if k == key {
			if err := fn(v.vals[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// StringField reads the member key of an object as encoding/json decodes
// it into a string: "" when missing, null leaves the value before it, and
// any kind but a string wraps ErrType.
func (v Value) StringField(key string) (string, error) {
	var s string
	err := v.each(key, func(m Value) error {
		switch m.kind {
		case Null:
		case String:
			s = m.str
		default:
			return fmt.Errorf("%w: %q is not a string", ErrType, key)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return s, nil
}

// BytesField reads the member key of an object as encoding/json decodes
// it into a []byte: a string in standard base64; nil when missing or null
// (null sets a slice to nil); any other kind, or a string that is not
// base64, wraps ErrType.
func (v Value) BytesField(key string) ([]byte, error) {
	var b []byte
	err := v.each(key, func(m Value) error {
		switch m.kind {
		case Null:
			b = nil
		case String:
			d, err := base64.StdEncoding.DecodeString(m.str)
			if err != nil {
				return fmt.Errorf("%w: %q: %v", ErrType, key, err)
			}
			b = d
		default:
			return fmt.Errorf("%w: %q is not a base64 string", ErrType, key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// IntField reads the member key of an object as encoding/json decodes it
// into an int: 0 when missing, null leaves the value before it; a fraction,
// an exponent, a number beyond int, or another kind wraps ErrType.
func (v Value) IntField(key string) (int, error) {
	var n int
	err := v.each(key, func(m Value) error {
		switch m.kind {
		case Null:
		case Number:
			i, err := strconv.ParseInt(m.str, 10, strconv.IntSize)
			if err != nil {
				return fmt.Errorf("%w: %q is not an int: %s", ErrType, key, m.str)
			}
			n = int(i)
		default:
			return fmt.Errorf("%w: %q is not a number", ErrType, key)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

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

// ParseObject reads data as one JSON object, for the field readers. null
// reads as an object without members, as encoding/json decodes it into a
// struct; another kind of value wraps ErrType (after the syntax is
// checked: a syntax error wins, as with encoding/json).
func ParseObject(data []byte) (Value, error) {
	v, err := Parse(data)
	if err != nil {
		return Value{}, err
	}
	switch v.kind {
	case Object:
		return v, nil
	case Null:
		return Value{kind: Object}, nil
	}
	return Value{}, fmt.Errorf("%w: the top-level value is not an object", ErrType)
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

// value reads one value inside depth arrays and objects.
func (p *parser) value(depth int) (Value, error) {
	p.space()
	if p.i >= len(p.data) {
		return Value{}, p.fail("end of input")
	}
	c := p.data[p.i]
	if (c == '{' || c == '[') && depth >= MaxDepth {
		return Value{}, p.fail("nested too deep")
	}
	switch {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
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

// object reads an object, itself at depth.
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
		val, err := p.value(depth)
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

// array reads an array, itself at depth.
func (p *parser) array(depth int) (Value, error) {
	p.i++ // [
	v := Value{kind: Array, arr: []Value{}}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return v, nil
	}
	for {
		el, err := p.value(depth)
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
// '+', digits after '.' and 'e') and keeps the literal: the grammar is
// all JSON asks, and each reader converts it as it needs.
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
	return Value{kind: Number, str: string(p.data[start:p.i])}, nil
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
		case c < utf8.RuneSelf && c != '\\':
			out = append(out, c)
			p.i++
			continue
		case c >= utf8.RuneSelf:
			// Invalid UTF-8 reads as U+FFFD for each bad byte, as
			// encoding/json reads it.
			r, size := utf8.DecodeRune(p.data[p.i:])
			out = utf8.AppendRune(out, r)
			p.i += size
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
			// as U+FFFD, as encoding/json reads it, and what follows
			// it is read on its own.
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
