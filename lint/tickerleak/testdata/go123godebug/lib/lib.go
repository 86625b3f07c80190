// Package lib is a library in a go 1.23 module whose go.mod sets godebug asynctimerchan=1: time.Tick leaks again.
package lib

import "time"

func poll() bool { return false }

// waitReady returns, so each call leaks a ticker that is never collected.
func waitReady() {
	for range time.Tick(10 * time.Millisecond) { // want `time.Tick in a function that returns leaks a ticker on every call \(go.mod godebug asynctimerchan=1: unreferenced tickers are never collected\); use t := time.NewTicker\(d\) and defer t.Stop\(\)`
		if poll() {
			return
		}
	}
}

// pollForever never returns: its one ticker lives as long as it does.
func pollForever() {
	for range time.Tick(time.Second) {
		poll()
	}
}

// Start's goroutine never exits: reported by the loop rule, at any version.
func Start() {
	go func() {
		for range time.Tick(time.Second) { // want `goroutine loops on a ticker channel with no exit`
			poll()
		}
	}()
}

var global = time.Tick(time.Hour) // package level: lives as long as the process

func waitOnce() {
	t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path: .* \(go.mod godebug asynctimerchan=1: unreferenced tickers are never collected\)`
	<-t.C
}
