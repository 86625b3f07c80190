// Package lib is a library in a go 1.23 module: the runtime collects unreferenced tickers.
package lib

import "time"

func poll() bool { return false }

// waitReady returns; at Go 1.23 the ticker is collected: silent.
func waitReady() {
	for range time.Tick(10 * time.Millisecond) {
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
