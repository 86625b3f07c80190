package idempotency

import (
	"errors"
	"fmt"
	"strings"
)

// MetadataKey is the gRPC metadata key that carries a caller's idempotency
// key. gRPC metadata keys are lower case.
const MetadataKey = "idempotency-key"

// HeaderName is the HTTP header that carries an idempotency key
// (draft-ietf-httpapi-idempotency-key-header). The gateway forwards it as
// MetadataKey.
const HeaderName = "Idempotency-Key"

// MaxKeyLength is the longest key accepted, in bytes after unquoting.
const MaxKeyLength = 255

// ErrInvalidKey is wrapped by every error ParseKey returns.
var ErrInvalidKey = errors.New("invalid idempotency key")

// ParseKey validates a key as sent in MetadataKey or HeaderName and returns
// the key itself.
//
// Two forms are accepted:
//
//   - an RFC 8941 structured-field string: `"` ... `"`, where `\"` and `\\`
//     are the only escapes and every other character is printable ASCII
//     (0x20-0x7E); this is the form the IETF Idempotency-Key header uses;
//   - a bare token: one or more of the RFC 9110 tchar characters
//     (ALPHA, DIGIT and !#$%&'*+-.^_`|~) plus ':' and '/'. Unlike an RFC 8941
//     sf-token it may start with a digit, so a UUID can be sent unquoted.
//
// Leading and trailing spaces and tabs are ignored, as HTTP does. The key
// must be 1 to MaxKeyLength bytes long. Keys are compared exactly: `"abc"`
// and `abc` are the same key.
func ParseKey(value string) (string, error) {
	value = strings.Trim(value, " \t")
	if value == "" {
		return "", fmt.Errorf("%w: the key is empty; send 1 to %d characters", ErrInvalidKey, MaxKeyLength)
	}
	if value[0] == '"' {
		return parseStringKey(value)
	}
	if len(value) > MaxKeyLength {
		return "", fmt.Errorf("%w: the key is %d bytes long; send at most %d", ErrInvalidKey, len(value), MaxKeyLength)
	}
	for i := 0; i < len(value); i++ {
		if !isTokenChar(value[i]) {
			return "", fmt.Errorf("%w: byte %#02x at offset %d is not allowed in an unquoted key; quote the key as a structured-field string or use letters, digits and !#$%%&'*+-.^_`|~:/", ErrInvalidKey, value[i], i)
		}
	}
	return value, nil
}

// parseStringKey parses an RFC 8941 sf-string (value starts with '"').
func parseStringKey(value string) (string, error) {
	// An escaped key is at most twice as long as its content, plus quotes.
	if len(value) > 2*MaxKeyLength+2 {
		return "", fmt.Errorf("%w: the key is %d bytes long; send at most %d", ErrInvalidKey, len(value), MaxKeyLength)
	}
	var b strings.Builder
	escaped := false
	for i := 1; i < len(value); i++ {
		c := value[i]
		switch {
		case c == '\\':
			i++
			if i == len(value) || (value[i] != '"' && value[i] != '\\') {
				return "", fmt.Errorf("%w: a backslash at offset %d escapes neither '\"' nor '\\'", ErrInvalidKey, i-1)
			}
			if !escaped {
				escaped = true
				b.Grow(len(value))
				b.WriteString(value[1 : i-1])
			}
			b.WriteByte(value[i])
		case c == '"':
			if i != len(value)-1 {
				return "", fmt.Errorf("%w: characters follow the closing quote at offset %d", ErrInvalidKey, i)
			}
			key := value[1:i]
			if escaped {
				key = b.String()
			}
			if key == "" {
				return "", fmt.Errorf("%w: the key is empty; send 1 to %d characters", ErrInvalidKey, MaxKeyLength)
			}
			if len(key) > MaxKeyLength {
				return "", fmt.Errorf("%w: the key is %d bytes long; send at most %d", ErrInvalidKey, len(key), MaxKeyLength)
			}
			return key, nil
		case c < 0x20 || c > 0x7e:
			return "", fmt.Errorf("%w: byte %#02x at offset %d is not printable ASCII", ErrInvalidKey, c, i)
		default:
			if escaped {
				b.WriteByte(c)
			}
		}
	}
	return "", fmt.Errorf("%w: the quoted key has no closing quote", ErrInvalidKey)
}

// FormatKey returns key as an RFC 8941 structured-field string, the form
// ParseKey reads back to key. It returns an error when key could never be
// accepted (empty, too long, or not printable ASCII).
func FormatKey(key string) (string, error) {
	if key == "" || len(key) > MaxKeyLength {
		return "", fmt.Errorf("%w: the key must be 1 to %d bytes long, not %d", ErrInvalidKey, MaxKeyLength, len(key))
	}
	var b strings.Builder
	b.Grow(len(key) + 2)
	b.WriteByte('"')
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < 0x20 || c > 0x7e {
			return "", fmt.Errorf("%w: byte %#02x at offset %d is not printable ASCII", ErrInvalidKey, c, i)
		}
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String(), nil
}

// isTokenChar reports whether c may appear in an unquoted key: RFC 9110
// tchar plus ':' and '/' (which RFC 8941 tokens also allow).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~', ':', '/':
		return true
	}
	return false
}
