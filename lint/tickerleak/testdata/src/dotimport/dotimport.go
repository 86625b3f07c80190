// Package dotimport reaches package time through a dot import and an alias.
package dotimport

import (
	. "time"
	clock "time"
)

func viaDot() {
	t := NewTicker(Second) // want `t from time.NewTicker is not stopped on every path`
	<-t.C
}

func viaAlias() {
	timer := clock.NewTimer(clock.Second) // want `timer from time.NewTimer is not stopped on every path`
	timer.Reset(clock.Minute)
}

func goroutine(t *clock.Ticker) {
	go func() {
		for range t.C { // want `goroutine loops on a ticker channel with no exit`
		}
	}()
}
