package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/govkit/govern/runtime/metrics"
)

// DefaultMaxBytes is the default body size limit: 1 MiB.
const DefaultMaxBytes = 1 << 20

// maxPooledBytes bounds the buffers returned to the pool, so one large
// body does not keep a large buffer alive for every later request.
const maxPooledBytes = 64 << 10

// Error reasons, the values of govern_json_decode_errors_total{reason}.
const (
	ReasonTooLarge  = "too_large"
	ReasonMalformed = "malformed"
	ReasonEmpty     = "empty"
	ReasonRead      = "read"
)

// Error is a body that could not be decoded.
type Error struct {
	// Status is the HTTP status to answer: 413 for a body over the limit,
	// 400 otherwise.
	Status int
	// Reason is one of the Reason constants.
	Reason string
	msg    string
	err    error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the underlying JSON or read error, if any.
func (e *Error) Unwrap() error { return e.err }

// Option configures a Decoder.
type Option func(*Decoder)

// WithMaxBytes sets the largest body accepted (default DefaultMaxBytes).
func WithMaxBytes(n int64) Option {
	return func(d *Decoder) {
		if n > 0 {
			d.maxBytes = n
		}
	}
}

// WithRegisterer exports the decode metrics on reg (default: not
// exported). Several decoders may share reg: they share the series.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(d *Decoder) { d.registerer = reg }
}

// WithDisallowUnknownFields rejects bodies with fields the target type
// does not have, as json.Decoder.DisallowUnknownFields does.
func WithDisallowUnknownFields() Option {
	return func(d *Decoder) { d.disallowUnknown = true }
}

// Decoder decodes JSON bodies. It is safe for concurrent use; make one per
// process (or per route with its own limit).
type Decoder struct {
	maxBytes        int64
	disallowUnknown bool
	registerer      prometheus.Registerer
	buffers         sync.Pool

	seconds   prometheus.Histogram
	bytes     prometheus.Histogram
	errors    *prometheus.CounterVec
	reused    prometheus.Counter
	allocated prometheus.Counter
}

// New returns a Decoder, its metrics registered (or reused) on the
// WithRegisterer registerer.
func New(opts ...Option) (*Decoder, error) {
	d := &Decoder{maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		o(d)
	}
	seconds := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "govern_json_decode_seconds", Help: "Time to read and decode a JSON request body.",
		Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
	})
	size := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "govern_json_decode_bytes", Help: "Size of JSON request bodies read.",
		Buckets: prometheus.ExponentialBuckets(64, 4, 9),
	})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "govern_json_decode_errors_total", Help: "JSON request bodies rejected, by reason: too_large, malformed, empty, read.",
	}, []string{"reason"})
	buffers := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "govern_json_decode_buffers_total", Help: "Body buffers taken from the pool (reused) or allocated because the pool was empty.",
	}, []string{"result"})
	if d.registerer != nil {
		var err error
		if seconds, err = metrics.RegisterOrReuse(d.registerer, seconds); err != nil {
			return nil, fmt.Errorf("jsonbody: %w", err)
		}
		if size, err = metrics.RegisterOrReuse(d.registerer, size); err != nil {
			return nil, fmt.Errorf("jsonbody: %w", err)
		}
		if errs, err = metrics.RegisterOrReuse(d.registerer, errs); err != nil {
			return nil, fmt.Errorf("jsonbody: %w", err)
		}
		if buffers, err = metrics.RegisterOrReuse(d.registerer, buffers); err != nil {
			return nil, fmt.Errorf("jsonbody: %w", err)
		}
	}
	d.seconds, d.bytes, d.errors = seconds, size, errs
	for _, reason := range []string{ReasonTooLarge, ReasonMalformed, ReasonEmpty, ReasonRead} {
		errs.WithLabelValues(reason)
	}
	d.reused, d.allocated = buffers.WithLabelValues("reused"), buffers.WithLabelValues("allocated")
	d.buffers.New = func() any {
		d.allocated.Inc()
		return new(bytes.Buffer)
	}
	return d, nil
}

// DecodeRequest decodes r's body into v. A Content-Length over the limit
// is rejected without reading the body.
func (d *Decoder) DecodeRequest(r *http.Request, v any) error {
	if r.ContentLength > d.maxBytes {
		return d.fail(ReasonTooLarge, nil, r.ContentLength)
	}
	return d.Decode(r.Body, v)
}

// Decode reads body (at most the limit plus one byte) into a pooled buffer
// and decodes it into v with json.Unmarshal.
func (d *Decoder) Decode(body io.Reader, v any) error {
	start := time.Now()
	buf := d.get()
	defer d.put(buf)
	n, err := buf.ReadFrom(io.LimitReader(body, d.maxBytes+1))
	d.bytes.Observe(float64(n))
	switch {
	case err != nil:
		return d.fail(ReasonRead, err, n)
	case n > d.maxBytes:
		return d.fail(ReasonTooLarge, nil, n)
	case len(bytes.TrimSpace(buf.Bytes())) == 0:
		return d.fail(ReasonEmpty, nil, n)
	}
	if d.disallowUnknown {
		dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
		if err == nil && dec.More() {
			err = errors.New("invalid character after top-level value")
		}
	} else {
		err = json.Unmarshal(buf.Bytes(), v)
	}
	if err != nil {
		return d.fail(ReasonMalformed, err, n)
	}
	d.seconds.Observe(time.Since(start).Seconds())
	return nil
}

func (d *Decoder) get() *bytes.Buffer {
	buf := d.buffers.Get().(*bytes.Buffer)
	if buf.Len() != 0 || buf.Cap() != 0 {
		d.reused.Inc()
	}
	buf.Reset()
	return buf
}

func (d *Decoder) put(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBytes {
		buf.Reset()
		d.buffers.Put(buf)
	}
}

func (d *Decoder) fail(reason string, err error, n int64) error {
	d.errors.WithLabelValues(reason).Inc()
	e := &Error{Status: http.StatusBadRequest, Reason: reason, err: err}
	switch reason {
	case ReasonTooLarge:
		e.Status = http.StatusRequestEntityTooLarge
		e.msg = fmt.Sprintf("request body is larger than the %d-byte limit (%d bytes or more): send a smaller body, or raise the limit with jsonbody.WithMaxBytes", d.maxBytes, n)
	case ReasonEmpty:
		e.msg = "request body is empty: send a JSON object"
	case ReasonRead:
		e.msg = fmt.Sprintf("reading the request body failed after %d bytes: %v; resend the request", n, err)
	default:
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			e.msg = fmt.Sprintf("request body is not valid JSON at byte %d: %v; send a well-formed JSON object", syntax.Offset, err)
		case errors.As(err, &typ):
			e.msg = fmt.Sprintf("request body field %q has a JSON %s where a %s is expected; send the documented type", typ.Field, typ.Value, typ.Type)
		default:
			e.msg = fmt.Sprintf("request body does not match the expected JSON: %v; check the field names and types", err)
		}
	}
	return e
}
