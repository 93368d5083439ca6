package jsontree

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// toAny turns v into what encoding/json's Unmarshal into an any makes.
func toAny(v Value) any {
	switch v.Kind() {
	case Bool:
		return v.Bool()
	case Number:
		return v.num
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
		strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2),
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

// FuzzParse holds Parse to encoding/json: the same inputs are JSON (up to
// MaxDepth), and valid UTF-8 reads as the same values.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}],"c":"\u00e9"}`, `[true,false,-1.5e3]`, `"\ud83d\ude00"`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := Parse(in)
		if strings.Count(string(in), "[")+strings.Count(string(in), "{") > MaxDepth {
			return // encoding/json nests deeper
		}
		if valid := json.Valid(in); valid != (err == nil) {
			t.Fatalf("%q: json.Valid %v, Parse error %v", in, valid, err)
		}
		if err != nil || !utf8.Valid(in) {
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
