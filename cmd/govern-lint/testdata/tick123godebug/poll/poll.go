// Package poll calls time.Tick in a function that returns.
package poll

import "time"

func WaitReady(ready func() bool) {
	for range time.Tick(time.Millisecond) {
		if ready() {
			return
		}
	}
}
