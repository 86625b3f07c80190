package main

import "time"

// poll leaks a goroutine and its ticker: the loop has no way out.
func poll(work func()) {
	ticker := time.NewTicker(time.Second)
	go func() {
		for range ticker.C {
			work()
		}
	}()
}
