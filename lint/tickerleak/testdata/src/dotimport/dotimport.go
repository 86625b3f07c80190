//go:build go1.22

// Package dotimport reaches package time through a dot import and an alias.
//
// The go1.22 build constraint gives this file Go version 1.22, where an
// unstopped ticker or timer leaks (the go122 and go123 modules test the
// version rule itself).
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
