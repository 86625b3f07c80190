package rtt_test

import (
	"fmt"
	"time"

	"github.com/govkit/govern/runtime/rtt"

	_ "github.com/govkit/govern/internal/golden" // go test ./... -update
)

func ExampleWindow() {
	w := rtt.NewWindow(rtt.WithWindow(10 * time.Second))
	for i := range 100 {
		// 98 fast calls and 2 slow ones.
		d := 5 * time.Millisecond
		if i%50 == 0 {
			d = 200 * time.Millisecond
		}
		w.Observe(d)
	}
	p50, _ := w.Quantile(0.5)
	p99, _ := w.Quantile(0.99)
	fmt.Println(p50.Round(time.Millisecond), p99.Round(10*time.Millisecond))
	// Output: 5ms 200ms
}
