// Package usesfake uses a package named time that is not the standard
// library's: nothing is reported, although the real time package is
// imported too (so the analyzer does not take its fast path).
package usesfake

import (
	stdtime "time"

	"lookalike/time"
)

var _ = stdtime.Second

func all() {
	t := time.NewTicker(1)
	<-t.C
	time.NewTimer(1)
	go func() {
		for range t.C {
		}
	}()
	go func() {
		for {
			<-time.Tick(1)
		}
	}()
}
