// Package poll calls time.Tick in a function that returns and leaves a
// ticker unstopped.
package poll

import "time"

func WaitReady(ready func() bool) {
	for range time.Tick(time.Millisecond) {
		if ready() {
			return
		}
	}
}

func WaitOnce() {
	t := time.NewTicker(time.Millisecond)
	<-t.C
}
