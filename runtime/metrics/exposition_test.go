package metrics

import (
	"bytes"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// TestServiceLabelsFirst renders a gateway-like histogram as the admin
// endpoint does and greps it the way the field guide's PR check does.
func TestServiceLabelsFirst(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Help: "h", Buckets: []float64{1}}, []string{"route", "method", "code"})
	prometheus.WrapRegistererWith(prometheus.Labels{"service": "payment", "env": "production", "region": "eu-west-1"}, reg).MustRegister(h)
	h.WithLabelValues("/v1/payments", "POST", "200").Observe(0.1)

	render := func(g prometheus.Gatherer) string {
		mfs, err := g.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
		return buf.String()
	}
	const check = `http_request_duration_seconds_count{service="payment"`
	if strings.Contains(render(reg), check) {
		t.Fatal("client_golang already renders service first; ServiceLabelsFirst is not needed")
	}
	got := render(ServiceLabelsFirst(reg))
	want := `http_request_duration_seconds_count{service="payment",env="production",region="eu-west-1",code="200",method="POST",route="/v1/payments"} 1`
	if !strings.Contains(got, want) {
		t.Fatalf("exposition:\n%s\nwant a line %s", got, want)
	}
	if !strings.Contains(got, `http_request_duration_seconds_bucket{service="payment",env="production",region="eu-west-1",code="200",method="POST",route="/v1/payments",le="1"} 1`) {
		t.Fatalf("bucket line not in order:\n%s", got)
	}
}
