// Command tool: time.Tick in main is exempt, in a returning helper it leaks.
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
	<-time.Tick(time.Millisecond) // want `time.Tick in a function that returns leaks a ticker on every call \(Go version 1.22 < 1.23`
	return true
}
