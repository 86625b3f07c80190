// Command tool restores the old timers with a //go:debug directive.
//
//go:debug asynctimerchan=1
package main

import "time"

func main() {
	for range time.Tick(time.Second) {
		if helper() {
			return
		}
	}
}

func helper() bool {
	<-time.Tick(time.Millisecond) // want `time.Tick in a function that returns leaks a ticker on every call \(//go:debug asynctimerchan=1:`
	return true
}

func waitOnce() {
	t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path: .* \(//go:debug asynctimerchan=1: unreferenced tickers are never collected\)`
	<-t.C
}
