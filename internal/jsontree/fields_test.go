package jsontree

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fields is the struct the tests decode with encoding/json to compare: the
// shapes of the files read with the field readers.
type fields struct {
	Version int    `json:"version"`
	Suite   string `json:"suite"`
	Key     []byte `json:"key"`
}

// decode reads the members of fields from data with ParseObject and the
// field readers.
func decode(data []byte) (fields, error) {
	var f fields
	o, err := ParseObject(data)
	if err != nil {
		return f, err
	}
	if f.Version, err = o.IntField("version"); err != nil {
		return f, err
	}
	if f.Suite, err = o.StringField("suite"); err != nil {
		return f, err
	}
	if f.Key, err = o.BytesField("key"); err != nil {
		return f, err
	}
	return f, nil
}

func TestReadsWhatEncodingJSONWrote(t *testing.T) {
	for _, want := range []fields{
		{},
		{Version: 1, Suite: "ristretto255-SHA512", Key: bytes.Repeat([]byte{0xfb, 0xff, 0x00}, 22)},
		{Version: -7, Suite: "quote \" backslash \\ newline \n tab \t <html> & \u2028 ä 😀", Key: []byte{}},
	} {
		for _, indent := range []bool{false, true} {
			var data []byte
			var err error
			if indent {
				data, err = json.MarshalIndent(want, "", "  ")
			} else {
				data, err = json.Marshal(want)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := decode(data)
			if err != nil {
				t.Fatalf("%s: %v", data, err)
			}
			if got.Version != want.Version || got.Suite != want.Suite || !bytes.Equal(got.Key, want.Key) {
				t.Errorf("%s: got %+v, want %+v", data, got, want)
			}
		}
	}
}

func TestValuesAsEncodingJSONReadsThem(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     fields
	}{
		{"null is an object without members", " null ", fields{}},
		{"a missing member is the zero value", `{}`, fields{}},
		{"a null member is the zero value", `{"version":null,"suite":null,"key":null}`, fields{}},
		{"the last of two members wins", `{"suite":"a","suite":"b"}`, fields{Suite: "b"}},
		{"a later null keeps the value", `{"suite":"a","suite":null}`, fields{Suite: "a"}},
		{"a later null empties a []byte", `{"key":"AAEC","key":null}`, fields{}},
		{"members nobody asks for are skipped", `{"x":[1,{"y":[true,false,null,"]"]}],"version":3,"z":-1.5e+3}`, fields{Version: 3}},
		{"escapes and surrogate pairs", `{"suite":"\u00e4\ud83d\ude00\/\b\f\r"}`, fields{Suite: "ä😀/\b\f\r"}},
		{"an unpaired surrogate is U+FFFD", `{"suite":"\ud800x\udc00\ud800\u0041"}`, fields{Suite: "\uFFFDx\uFFFD\uFFFDA"}},
		{"invalid UTF-8 is U+FFFD per byte", "{\"suite\":\"a\xff\xfeb\"}", fields{Suite: "a\uFFFD\uFFFDb"}},
		{"white space everywhere", " \t\r\n{ \"version\" : 0 , \"suite\" : \"s\" } \n", fields{Suite: "s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decode([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != tc.want.Version || got.Suite != tc.want.Suite || !bytes.Equal(got.Key, tc.want.Key) || (got.Key == nil) != (tc.want.Key == nil) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			var ref fields
			if err := json.Unmarshal([]byte(tc.in), &ref); err != nil || ref.Suite != got.Suite || ref.Version != got.Version || !bytes.Equal(ref.Key, got.Key) || (ref.Key == nil) != (got.Key == nil) {
				t.Errorf("encoding/json reads %+v (%v)", ref, err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"empty input", "", ErrSyntax},
		{"only white space", "  ", ErrSyntax},
		{"unterminated object", `{"suite":"a"`, ErrSyntax},
		{"trailing comma", `{"suite":"a",}`, ErrSyntax},
		{"data after the object", `{} {}`, ErrSyntax},
		{"unquoted name", `{suite:"a"}`, ErrSyntax},
		{"control character in a string", "{\"suite\":\"a\nb\"}", ErrSyntax},
		{"bad escape", `{"suite":"\x"}`, ErrSyntax},
		{"short \\u escape", `{"suite":"\u12"}`, ErrSyntax},
		{"leading zero", `{"version":01}`, ErrSyntax},
		{"lone minus", `{"version":-}`, ErrSyntax},
		{"fraction without digits", `{"version":1.}`, ErrSyntax},
		{"bad literal", `{"x":nul}`, ErrSyntax},
		{"too deep", `{"x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, ErrSyntax},
		{"an array at the top", `[]`, ErrType},
		{"a string at the top", `"s"`, ErrType},
		{"a string for an int", `{"version":"1"}`, ErrType},
		{"a fraction for an int", `{"version":1.5}`, ErrType},
		{"an exponent for an int", `{"version":1e2}`, ErrType},
		{"an int out of range", `{"version":99999999999999999999}`, ErrType},
		{"a number for a string", `{"suite":1}`, ErrType},
		{"an object for a string", `{"suite":{}}`, ErrType},
		{"true for bytes", `{"key":true}`, ErrType},
		{"bad base64", `{"key":"!!"}`, ErrType},
		{"an earlier duplicate of the wrong type", `{"suite":1,"suite":"a"}`, ErrType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode([]byte(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var ref fields
			if json.Unmarshal([]byte(tc.in), &ref) == nil && tc.name != "too deep" {
				t.Errorf("encoding/json accepts what jsontree refuses")
			}
		})
	}
}

// FuzzAgreesWithEncodingJSON holds ParseObject and the field readers to
// encoding/json decoding into a struct: for any input, both accept it with
// the same values or both refuse it. The documented differences are
// skipped: member names that match a field only case-insensitively, and
// nesting deeper than MaxDepth (encoding/json allows 10000), which must be
// refused with ErrSyntax.
func FuzzAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"version":1,"suite":"ristretto255-SHA512","key":"AAEC"}`,
		"{\n  \"version\": 1,\n  \"key\": null\n}",
		`null`, `[]`, `{"x":[{"y":1}],"suite":"\ud83d\ude00"}`, `{"version":-0}`, `{"version":1e2}`,
		`{"suite":1,"suite":"a"}`, "{\"suite\":\"\xff\"}", `{"key":"AAEC","key":null}`,
		`{"x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `,"version":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decode(data)
		if err != nil && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrType) {
			t.Fatalf("an error of no kind: %v", err)
		}
		if o, perr := Parse(data); perr == nil {
			for _, k := range o.keys {
				for _, name := range []string{"version", "suite", "key"} {
					if k != name && strings.EqualFold(k, name) {
						return // encoding/json would match it, jsontree does not
					}
				}
			}
		}
		if json.Valid(data) && nesting(data) > MaxDepth {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("%q: nested %d deep: %v, want ErrSyntax", data, nesting(data), err)
			}
			return
		}
		var ref fields
		refErr := json.Unmarshal(data, &ref)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("%q: jsontree %v, encoding/json %v", data, err, refErr)
		}
		if err == nil && (got.Version != ref.Version || got.Suite != ref.Suite || !bytes.Equal(got.Key, ref.Key) || (got.Key == nil) != (ref.Key == nil)) {
			t.Fatalf("%q: jsontree %+v, encoding/json %+v", data, got, ref)
		}
	})
}
