package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	_ "github.com/govkit/govern/internal/golden" // accepts go test ./... -update
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type order struct {
	ID    string   `json:"id"`
	Items []string `json:"items"`
	Total int      `json:"total"`
}

func TestDecode(t *testing.T) {
	reg := prometheus.NewRegistry()
	d, err := New(WithMaxBytes(64), WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		body       string
		wantStatus int // 0: decodes
		wantReason string
		wantInMsg  string
	}{
		{"valid", `{"id":"o-1","items":["a","b"],"total":3}`, 0, "", ""},
		{"too large", `{"id":"` + strings.Repeat("x", 100) + `"}`, http.StatusRequestEntityTooLarge, ReasonTooLarge, "jsonbody.WithMaxBytes"},
		{"malformed", `{"id":"o-1",}`, http.StatusBadRequest, ReasonMalformed, "not valid JSON at byte 13"},
		{"wrong type", `{"total":"three"}`, http.StatusBadRequest, ReasonMalformed, `field "total" has a JSON string`},
		{"empty", "  \n", http.StatusBadRequest, ReasonEmpty, "send a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got order
			err := d.Decode(strings.NewReader(tt.body), &got)
			if tt.wantStatus == 0 {
				if err != nil || got.ID != "o-1" || got.Total != 3 || len(got.Items) != 2 {
					t.Fatalf("Decode = %+v, %v", got, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.wantStatus || e.Reason != tt.wantReason || !strings.Contains(e.Error(), tt.wantInMsg) {
				t.Fatalf("Decode error = %#v (%v), want status %d reason %s mentioning %q", err, err, tt.wantStatus, tt.wantReason, tt.wantInMsg)
			}
		})
	}
	for reason, want := range map[string]float64{ReasonTooLarge: 1, ReasonMalformed: 2, ReasonEmpty: 1, ReasonRead: 0} {
		if got := testutil.ToFloat64(d.errors.WithLabelValues(reason)); got != want {
			t.Errorf("errors{reason=%s} = %v, want %v", reason, got, want)
		}
	}
	if n := testutil.CollectAndCount(reg, "govern_json_decode_seconds", "govern_json_decode_bytes"); n != 2 {
		t.Errorf("decode histograms exported: %d", n)
	}
}

func TestDecodeRequestRejectsLargeContentLengthUnread(t *testing.T) {
	d, err := New(WithMaxBytes(10))
	if err != nil {
		t.Fatal(err)
	}
	body := &countingReader{r: strings.NewReader(strings.Repeat("x", 1000))}
	req := httptest.NewRequest(http.MethodPost, "/v1/orders", body)
	req.ContentLength = 1000
	var e *Error
	if err := d.DecodeRequest(req, &order{}); !errors.As(err, &e) || e.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("DecodeRequest = %v, want 413", err)
	}
	if body.n != 0 {
		t.Errorf("read %d bytes of a body whose Content-Length is over the limit", body.n)
	}
	// A lying Content-Length (or chunked body) is still cut at the limit.
	body = &countingReader{r: strings.NewReader(strings.Repeat("x", 1000))}
	req = httptest.NewRequest(http.MethodPost, "/v1/orders", body)
	req.ContentLength = -1
	if err := d.DecodeRequest(req, &order{}); !errors.As(err, &e) || e.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("DecodeRequest (chunked) = %v, want 413", err)
	}
	if body.n > 11+512 {
		t.Errorf("read %d bytes for a 10-byte limit", body.n)
	}
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestUnknownFields(t *testing.T) {
	d, err := New(WithDisallowUnknownFields())
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if err := d.Decode(strings.NewReader(`{"id":"o","colour":"red"}`), &order{}); !errors.As(err, &e) || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("unknown field: %v", err)
	}
	if err := d.Decode(strings.NewReader(`{"id":"o"} {"id":"p"}`), &order{}); !errors.As(err, &e) {
		t.Fatalf("two values: %v", err)
	}
}

// TestConcurrentDecodesReuseBuffers decodes from many goroutines: every
// result is its own body's (no buffer shared between two decodes), and
// the pool is reused.
func TestConcurrentDecodesReuseBuffers(t *testing.T) {
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				want := order{ID: strings.Repeat(string(rune('a'+g)), 1+i%50), Total: i}
				body, _ := json.Marshal(want)
				var got order
				if err := d.Decode(bytes.NewReader(body), &got); err != nil || got.ID != want.ID || got.Total != want.Total {
					t.Errorf("goroutine %d decode %d = %+v, %v", g, i, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if reused := testutil.ToFloat64(d.reused); reused < 1000 {
		t.Errorf("reused %v buffers of 1600 decodes, allocated %v", reused, testutil.ToFloat64(d.allocated))
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"id":"o-1","items":["a"],"total":1}`))
	f.Add([]byte(`{"id":`))
	f.Add([]byte(``))
	d, err := New(WithMaxBytes(256))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got order
		err := d.Decode(bytes.NewReader(body), &got)
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Error() == "" || (e.Status != 400 && e.Status != 413)) {
			t.Fatalf("Decode(%q) = %v, want nil or a *Error with 400/413", body, err)
		}
		if err == nil && len(body) > 256 {
			t.Fatalf("decoded a %d-byte body over the 256-byte limit", len(body))
		}
	})
}

// body is a realistic order request (about 1 KiB).
var benchBody = func() []byte {
	o := order{ID: "ord-0195f7a2-7c1e-7b3a-9f00-5e1d2c3b4a59", Total: 12345}
	for i := range 20 {
		o.Items = append(o.Items, "sku-"+strings.Repeat("x", 30)+string(rune('a'+i)))
	}
	b, _ := json.Marshal(o)
	return b
}()

func BenchmarkDecode(b *testing.B) {
	b.Run("json.NewDecoder", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchBody)))
		for b.Loop() {
			var o order
			if err := json.NewDecoder(bytes.NewReader(benchBody)).Decode(&o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsonbody", func(b *testing.B) {
		d, err := New(WithRegisterer(prometheus.NewRegistry()))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(benchBody)))
		for b.Loop() {
			var o order
			if err := d.Decode(bytes.NewReader(benchBody), &o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsonbody/parallel", func(b *testing.B) {
		d, err := New(WithRegisterer(prometheus.NewRegistry()))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(benchBody)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				var o order
				if err := d.Decode(bytes.NewReader(benchBody), &o); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("json.NewDecoder/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchBody)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				var o order
				if err := json.NewDecoder(bytes.NewReader(benchBody)).Decode(&o); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
