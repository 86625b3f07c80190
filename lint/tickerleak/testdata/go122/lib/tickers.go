package lib

import (
	"context"
	"time"
)

// Before Go 1.23 a ticker or timer that is never stopped is never
// collected: each of these leaks one per call.

func waitOnce() {
	t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path: the end of the function \(line 14\) is reached without t.Stop\(\) \(Go version 1.22 < 1.23: unreferenced tickers are never collected\); add defer t.Stop\(\)`
	<-t.C
}

func timeout(ctx context.Context) error {
	timer := time.NewTimer(time.Second) // want `timer from time.NewTimer is not stopped on every path: the return on line 22 is reached without timer.Stop\(\) \(Go version 1.22 < 1.23: unreferenced timers are never collected\)`
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func dropped() {
	time.NewTicker(time.Second)          // want `the ticker returned by time.NewTicker is discarded and can never be stopped \(Go version 1.22 < 1.23: unreferenced tickers are never collected\)`
	_ = time.NewTimer(time.Second)       // want `the timer returned by time.NewTimer is discarded and can never be stopped \(Go version 1.22 < 1.23: unreferenced timers are never collected\)`
	<-time.NewTicker(time.Millisecond).C // want `time.NewTicker\(d\).C drops the ticker, which can never be stopped \(Go version 1.22 < 1.23`
}

// poller is the field guide's leak, a leak at every Go version: a ticker
// in a struct, consumed by a goroutine that never exits.
type poller struct {
	ticker *time.Ticker
}

func (p *poller) Start() {
	p.ticker = time.NewTicker(time.Second)
	go p.loop()
}

func (p *poller) loop() {
	for range p.ticker.C { // want `goroutine loops on a ticker channel with no exit, so the goroutine and its ticker leak`
		poll()
	}
}
