package jsontree

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// toAny turns v into what encoding/json's Unmarshal into an any makes.
func toAny(v Value) any {
	switch v.Kind() {
	case Bool:
		return v.Bool()
	case Number:
		f, _ := strconv.ParseFloat(v.str, 64)
		return f
	case String:
		return v.Str()
	case Array:
		out := []any{}
		for _, el := range v.List() {
			out = append(out, toAny(el))
		}
		return out
	case Object:
		out := map[string]any{}
		for i, k := range v.keys {
			out[k] = toAny(v.vals[i])
		}
		return out
	}
	return nil
}

func TestParseReadsWhatEncodingJSONReads(t *testing.T) {
	for _, in := range []string{
		`{"domain":"a.mesh","uptime_s":12,"draining":false,"links":[{"state":"up","since":1765000000}],"x":null}`,
		`[1, -2.5, 3e2, 0, -0.0e-1, "a\"b\\c\/d\b\f\n\r\t", "\u00e9\ud83d\ude00", "\ud800", "\ud800\u0041", true]`,
		` "text" `, `0`, `{}`, `[]`, `{"a":{"b":{"c":[[]]}}}`, `{"a":1,"a":2}`,
		"\"a\xff\xfeb\xed\xa0\x80\"", // invalid UTF-8: U+FFFD per byte
		strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth),
		strings.Repeat(`{"a":`, MaxDepth) + `1` + strings.Repeat(`}`, MaxDepth),
	} {
		v, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var want any
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if got := toAny(v); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", in, got, want)
		}
	}
}

func TestParseRefusesWhatIsNotJSON(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `.5`, `+1`, `1e`, `-`, `"abc`,
		`"a` + "\n" + `"`, `"\x"`, `"\u12"`, `"\u12g4"`, `tru`, `nul`, `[1] [2]`, `{"a":1}x`,
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
		strings.Repeat(`{"a":`, MaxDepth) + `[]` + strings.Repeat(`}`, MaxDepth),
		strings.Repeat(`[`, 1e6), // deep hostile input: refused at the bound, not by the stack
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: %v, want ErrSyntax", in, err)
		}
	}
}

func TestGetAndTheZeroOfAnotherKind(t *testing.T) {
	v, err := Parse([]byte(`{"n":7,"s":"x","b":true,"l":[1],"o":{"k":"v"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if v.Get("n").Int() != 7 || v.Get("s").Str() != "x" || !v.Get("b").Bool() || len(v.Get("l").List()) != 1 ||
		v.Get("o").Get("k").Str() != "v" {
		t.Fatalf("members: %+v", v)
	}
	if v.Get("missing").Kind() != Missing || v.Get("s").Int() != 0 || v.Get("n").Str() != "" || v.Get("l").Get("x").Kind() != Missing {
		t.Fatal("another kind should read as its zero")
	}
}

func TestIntTruncatesAndIsExact(t *testing.T) {
	for in, want := range map[string]int64{
		`9007199254740993`:     9007199254740993, // beyond float64's integers: read from the literal
		`-9223372036854775808`: -9223372036854775808, `9223372036854775807`: 9223372036854775807,
		`12.9`: 12, `-12.9`: -12, `1e3`: 1000, `1e19`: 0, `-1e19`: 0, `1e700`: 0, `"7"`: 0, `true`: 0,
	} {
		v, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := v.Int(); got != want {
			t.Errorf("%s: Int %d, want %d", in, got, want)
		}
	}
}

// nesting returns how deep the arrays and objects of valid JSON nest.
func nesting(in []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(in); i++ {
		switch c := in[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

// FuzzParse holds Parse to encoding/json: the same inputs are JSON, but
// for those nested deeper than MaxDepth, which Parse refuses with
// ErrSyntax, and they read as the same values.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}],"c":"\u00e9"}`, `[true,false,-1.5e3]`, `"\ud83d\ude00"`, `{"a":1,"a":2}`,
		"\"\xff\"", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := Parse(in)
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Fatalf("%q: an error of no kind: %v", in, err)
		}
		valid := json.Valid(in)
		if valid && nesting(in) > MaxDepth {
			if err == nil {
				t.Fatalf("%q: nested %d deep, read", in, nesting(in))
			}
			return
		}
		if valid != (err == nil) {
			t.Fatalf("%q: json.Valid %v, Parse error %v", in, valid, err)
		}
		if err != nil {
			return
		}
		var want any
		if err := json.Unmarshal(in, &want); err != nil {
			return // a number beyond float64, which encoding/json refuses
		}
		if got := toAny(v); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", in, got, want)
		}
	})
}
