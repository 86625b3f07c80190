package idempotency

import (
	"errors"
	"strings"
	"testing"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func TestParseKey(t *testing.T) {
	long := strings.Repeat("k", MaxKeyLength)
	cases := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "bare token", in: "order-42", want: "order-42"},
		{name: "bare uuid starting with a digit", in: "0190d6f1-8a3c-7c4e-9b1a-3f2e4d5c6b7a", want: "0190d6f1-8a3c-7c4e-9b1a-3f2e4d5c6b7a"},
		{name: "bare with every symbol", in: "!#$%&'*+-.^_`|~:/aZ09", want: "!#$%&'*+-.^_`|~:/aZ09"},
		{name: "surrounding whitespace", in: " \tabc\t ", want: "abc"},
		{name: "sf-string", in: `"8e03978e-40d5-43e8-bc93-6894a57f9324"`, want: "8e03978e-40d5-43e8-bc93-6894a57f9324"},
		{name: "sf-string with space", in: `"a b"`, want: "a b"},
		{name: "sf-string escapes", in: `"a\"b\\c"`, want: `a"b\c`},
		{name: "sf-string escape first", in: `"\\x"`, want: `\x`},
		{name: "longest bare", in: long, want: long},
		{name: "longest quoted", in: `"` + long + `"`, want: long},
		{name: "longest quoted with escapes", in: `"` + strings.Repeat(`\\`, MaxKeyLength) + `"`, want: strings.Repeat(`\`, MaxKeyLength)},

		{name: "empty", in: "", wantErr: true},
		{name: "blank", in: "  ", wantErr: true},
		{name: "empty sf-string", in: `""`, wantErr: true},
		{name: "too long bare", in: long + "k", wantErr: true},
		{name: "too long quoted", in: `"` + long + `k"`, wantErr: true},
		{name: "space inside bare", in: "a b", wantErr: true},
		{name: "comma in bare", in: "a,b", wantErr: true},
		{name: "quote in bare", in: `a"b`, wantErr: true},
		{name: "non-ascii bare", in: "clé", wantErr: true},
		{name: "unterminated", in: `"abc`, wantErr: true},
		{name: "trailing after quote", in: `"abc"x`, wantErr: true},
		{name: "second string", in: `"a", "b"`, wantErr: true},
		{name: "bad escape", in: `"a\nb"`, wantErr: true},
		{name: "dangling backslash", in: `"a\`, wantErr: true},
		{name: "control char", in: "\"a\x01b\"", wantErr: true},
		{name: "del char", in: "\"a\x7fb\"", wantErr: true},
		{name: "non-ascii quoted", in: `"clé"`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKey(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseKey(%q) = %q, want an error", tc.in, got)
				}
				if !errors.Is(err, ErrInvalidKey) {
					t.Errorf("error %v does not wrap ErrInvalidKey", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseKey(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatKeyRoundTrips(t *testing.T) {
	for _, key := range []string{"a", `quote"and\backslash`, "with space", strings.Repeat("x", MaxKeyLength)} {
		f, err := FormatKey(key)
		if err != nil {
			t.Fatalf("FormatKey(%q): %v", key, err)
		}
		if got, err := ParseKey(f); err != nil || got != key {
			t.Errorf("ParseKey(FormatKey(%q)) = %q, %v", key, got, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", MaxKeyLength+1), "tab\t", "é"} {
		if f, err := FormatKey(bad); err == nil {
			t.Errorf("FormatKey(%q) = %q, want an error", bad, f)
		}
	}
}

// FuzzParseKey checks that any input either fails with ErrInvalidKey or
// yields a key within the documented limits that formats and parses back to
// itself.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"abc", `"a\"b"`, `"`, `\`, `""`, " x ", "0190d6f1-8a3c-7c4e-9b1a-3f2e4d5c6b7a", `"a\`, "\"\xff\"", strings.Repeat(`\\`, 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		key, err := ParseKey(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("ParseKey(%q) error %v does not wrap ErrInvalidKey", in, err)
			}
			return
		}
		if key == "" || len(key) > MaxKeyLength {
			t.Fatalf("ParseKey(%q) = %q: length %d outside 1..%d", in, key, len(key), MaxKeyLength)
		}
		for i := 0; i < len(key); i++ {
			if key[i] < 0x20 || key[i] > 0x7e {
				t.Fatalf("ParseKey(%q) = %q: byte %#x is not printable ASCII", in, key, key[i])
			}
		}
		formatted, err := FormatKey(key)
		if err != nil {
			t.Fatalf("FormatKey(%q) of a parsed key: %v", key, err)
		}
		if again, err := ParseKey(formatted); err != nil || again != key {
			t.Fatalf("ParseKey(FormatKey(%q)) = %q, %v", key, again, err)
		}
	})
}
