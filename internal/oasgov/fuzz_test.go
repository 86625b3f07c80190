package oasgov

import (
	"errors"
	"os"
	"testing"

	"github.com/govkit/govern/internal/govgen"
)

// FuzzParse feeds arbitrary documents to the x-govern decoder: it must
// never panic, and every problem it reports must be a located diagnostic.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/orders.yaml", "testdata/mistakes.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"openapi":"3.0.3","info":{"title":"t","version":"1"},"x-govern":{"retry":[1]},"paths":{}}`))
	f.Add([]byte("openapi: 3.0.3\ninfo: {title: t, version: '1'}\nx-govern: &a {idempotency: *a}\npaths: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		api, err := Parse("api.yaml", data)
		if err == nil {
			if api == nil || api.Table == nil {
				t.Fatal("no error and no API")
			}
			return
		}
		var diags govgen.Diagnostics
		if !errors.As(err, &diags) || len(diags) == 0 {
			t.Fatalf("error is not diagnostics: %v", err)
		}
		for _, d := range diags {
			if d.Line < 1 || d.Col < 1 || d.Message == "" {
				t.Fatalf("unlocated diagnostic %+v", d)
			}
		}
	})
}
