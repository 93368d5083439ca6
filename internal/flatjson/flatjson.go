package flatjson

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSyntax is wrapped by every error for data that is not JSON, or not a
// single value.
var ErrSyntax = errors.New("flatjson: invalid JSON")

// ErrType is wrapped by the errors for a member whose value is not of the
// type asked for, and for a top-level value that is not an object.
var ErrType = errors.New("flatjson: wrong type")

// maxDepth bounds the nesting of the values skipped under members nobody
// asks for, so that hostile input cannot exhaust the stack; encoding/json's
// bound.
const maxDepth = 10000

// kind is the JSON type of a member's value.
type kind uint8

const (
	kindNull kind = iota
	kindString
	kindNumber
	kindOther // true, false, an object or an array: never read, only skipped
)

// member is one "key": value pair of the object, in input order.
type member struct {
	key  string
	kind kind
	text string // the decoded string, or the number's literal
}

// Object is a decoded JSON object. A key that appears twice takes its last
// value, as with encoding/json; unlike encoding/json, keys match exactly,
// not also case-insensitively (the files read with it were written with
// exactly its keys).
type Object struct {
	members []member
}

// Parse decodes data, which must hold one JSON object (or null, which is an
// object without members, as encoding/json treats it for a struct) and
// nothing but white space around it.
func Parse(data []byte) (Object, error) {
	p := parser{data: data}
	p.space()
	var o Object
	if p.literal("null") {
		p.space()
		if p.i != len(p.data) {
			return Object{}, p.errorf("data after the top-level value")
		}
		return o, nil
	}
	if p.i >= len(p.data) {
		return Object{}, p.errorf("no value")
	}
	if p.data[p.i] != '{' {
		// Still check the syntax: a syntax error wins over a type error,
		// as with encoding/json.
		if err := p.value(0); err != nil {
			return Object{}, err
		}
		p.space()
		if p.i != len(p.data) {
			return Object{}, p.errorf("data after the top-level value")
		}
		return Object{}, fmt.Errorf("%w: the top-level value is not an object", ErrType)
	}
	if err := p.object(&o); err != nil {
		return Object{}, err
	}
	p.space()
	if p.i != len(p.data) {
		return Object{}, p.errorf("data after the top-level value")
	}
	return o, nil
}

// each calls fn for every member named key, in input order, and returns
// the first error: encoding/json assigns each duplicate in turn, so a
// duplicate of the wrong type fails even when a later one is right.
func (o Object) each(key string, fn func(member) error) error {
	for _, m := range o.members {
		if m.key != key || m.kind == kindNull {
			continue
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// String returns the string value of key; "" when key is missing or null.
func (o Object) String(key string) (string, error) {
	var s string
	err := o.each(key, func(m member) error {
		if m.kind != kindString {
			return fmt.Errorf("%w: %q is not a string", ErrType, key)
		}
		s = m.text
		return nil
	})
	if err != nil {
		return "", err
	}
	return s, nil
}

// Bytes returns the value of key decoded from standard base64, the way
// encoding/json writes a []byte; nil when key is missing or null.
func (o Object) Bytes(key string) ([]byte, error) {
	var b []byte
	err := o.each(key, func(m member) error {
		if m.kind != kindString {
			return fmt.Errorf("%w: %q is not a base64 string", ErrType, key)
		}
		v, err := base64.StdEncoding.DecodeString(m.text)
		if err != nil {
			return fmt.Errorf("%w: %q: %v", ErrType, key, err)
		}
		b = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Int returns the integer value of key; 0 when key is missing or null. A
// fraction, an exponent or a value out of int's range is an error.
func (o Object) Int(key string) (int, error) {
	var n int
	err := o.each(key, func(m member) error {
		if m.kind != kindNumber {
			return fmt.Errorf("%w: %q is not a number", ErrType, key)
		}
		v, err := strconv.ParseInt(m.text, 10, strconv.IntSize)
		if err != nil {
			return fmt.Errorf("%w: %q is not an int: %s", ErrType, key, m.text)
		}
		n = int(v)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// parser reads data from i on.
type parser struct {
	data []byte
	i    int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrSyntax, p.i, fmt.Sprintf(format, args...))
}

// space skips JSON white space.
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

// literal consumes word if data continues with it.
func (p *parser) literal(word string) bool {
	if len(p.data)-p.i >= len(word) && string(p.data[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

// object reads an object whose members go into o (o nil: skipped).
func (p *parser) object(o *Object) error {
	return p.objectAt(o, 0)
}

func (p *parser) objectAt(o *Object, depth int) error {
	p.i++ // '{'
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return nil
	}
	for {
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return p.errorf("want a member name")
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return p.errorf("want ':' after a member name")
		}
		p.i++
		p.space()
		m := member{key: key}
		switch {
		case p.i >= len(p.data):
			return p.errorf("unexpected end")
		case p.data[p.i] == '"':
			m.kind = kindString
			if m.text, err = p.str(); err != nil {
				return err
			}
		case p.data[p.i] == '-' || (p.data[p.i] >= '0' && p.data[p.i] <= '9'):
			m.kind = kindNumber
			if m.text, err = p.number(); err != nil {
				return err
			}
		case p.literal("null"):
			m.kind = kindNull
		default:
			m.kind = kindOther
			if err := p.value(depth + 1); err != nil {
				return err
			}
		}
		if o != nil {
			o.members = append(o.members, m)
		}
		p.space()
		if p.i >= len(p.data) {
			return p.errorf("unexpected end of an object")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return p.errorf("want ',' or '}' after a member")
		}
	}
}

// value skips one JSON value of any type.
func (p *parser) value(depth int) error {
	if depth > maxDepth {
		return p.errorf("nested deeper than %d", maxDepth)
	}
	p.space()
	if p.i >= len(p.data) {
		return p.errorf("unexpected end")
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.objectAt(nil, depth)
	case c == '[':
		p.i++
		p.space()
		if p.i < len(p.data) && p.data[p.i] == ']' {
			p.i++
			return nil
		}
		for {
			if err := p.value(depth + 1); err != nil {
				return err
			}
			p.space()
			if p.i >= len(p.data) {
				return p.errorf("unexpected end of an array")
			}
			switch p.data[p.i] {
			case ',':
				p.i++
			case ']':
				p.i++
				return nil
			default:
				return p.errorf("want ',' or ']' in an array")
			}
		}
	case c == '"':
		_, err := p.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := p.number()
		return err
	case p.literal("true"), p.literal("false"), p.literal("null"):
		return nil
	default:
		return p.errorf("unexpected character %q", c)
	}
}

// number reads a number literal: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() (string, error) {
	start := p.i
	if p.data[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	switch {
	case p.i < len(p.data) && p.data[p.i] == '0':
		p.i++
	case digits() == 0:
		return "", p.errorf("a number without digits")
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return "", p.errorf("a number without digits after '.'")
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return "", p.errorf("a number without digits in its exponent")
		}
	}
	return string(p.data[start:p.i]), nil
}

// str reads a string literal and returns its value. Invalid UTF-8 and
// unpaired surrogates become U+FFFD, as with encoding/json.
func (p *parser) str() (string, error) {
	p.i++ // '"'
	var out []byte
	for {
		if p.i >= len(p.data) {
			return "", p.errorf("unterminated string")
		}
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c < 0x20:
			return "", p.errorf("control character in a string")
		case c == '\\':
			if p.i+1 >= len(p.data) {
				return "", p.errorf("unterminated escape")
			}
			e := p.data[p.i+1]
			p.i += 2
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
				r, ok := p.hex4()
				if !ok {
					return "", p.errorf("bad \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// A pair is two escapes; anything else is one U+FFFD.
					save := p.i
					if p.literal(`\u`) {
						if r2, ok := p.hex4(); ok {
							if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
								out = utf8.AppendRune(out, d)
								continue
							}
						}
					}
					p.i = save
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", p.errorf("bad escape \\%c", e)
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.data[p.i:])
			p.i += size
			out = utf8.AppendRune(out, r) // RuneError for each invalid byte
		}
	}
}

// hex4 reads the four hex digits of a \u escape.
func (p *parser) hex4() (rune, bool) {
	if len(p.data)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.i : p.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}
