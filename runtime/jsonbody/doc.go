// Package jsonbody decodes JSON request bodies with pooled buffers, a size
// limit and metrics.
//
// The field guide pools json.Decoder values in a sync.Pool. That cannot
// work: a json.Decoder is bound to the reader it was created with and has
// no way to be reset onto the next request's body, and reusing one across
// requests would read the previous body's buffered bytes. What is worth
// pooling is the buffer the body is read into. Decoder reads a body into
// a pooled bytes.Buffer, through a limit (a body larger than the limit is
// rejected before it is all read, so a client cannot make the server
// buffer gigabytes), then json.Unmarshal decodes it from the buffer.
//
// Every decode is measured on the registerer given (through
// governance.Governor.Registerer it carries the service labels):
// govern_json_decode_seconds, govern_json_decode_bytes,
// govern_json_decode_errors_total{reason} and
// govern_json_decode_buffers_total{result="reused"|"allocated"}, the pool's
// hit rate. Errors are *Error values with the HTTP status to answer (413
// or 400) and a message that names the fix.
//
// Benchmarks against json.NewDecoder(r).Decode are in docs/observability.md.
package jsonbody
