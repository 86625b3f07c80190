//go:build go1.23

package lib

import "time"

// This file is built only by Go 1.23+, so its own version is 1.23: the
// runtime collects the ticker.
func waitNewer() {
	for range time.Tick(time.Millisecond) {
		if poll() {
			return
		}
	}
}

// Nor is an unstopped ticker reported here.
func waitOnceNewer() {
	t := time.NewTicker(time.Second)
	<-t.C
}
