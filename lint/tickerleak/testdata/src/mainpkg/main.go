// Command mainpkg starts goroutines from main and init: they live as long as
// the process by design, and main's own ticker ends with the process.
package main

import "time"

func init() {
	go func() {
		for range time.Tick(time.Minute) {
		}
	}()
}

func main() {
	t := time.NewTicker(time.Second)
	go func() {
		for range t.C {
		}
	}()
	<-t.C
}
