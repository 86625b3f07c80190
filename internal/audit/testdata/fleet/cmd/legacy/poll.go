package main

import "time"

// poll leaks its ticker: nothing stops it.
func poll(work func()) {
	ticker := time.NewTicker(time.Second)
	for range 3 {
		<-ticker.C
		work()
	}
}
