package lib

import (
	"context"
	"time"
)

// Since Go 1.23 the runtime collects a ticker or timer once nothing refers
// to it, stopped or not: none of these is reported in a go 1.23 module.

func waitOnce() {
	t := time.NewTicker(time.Second)
	<-t.C
}

func timeout(ctx context.Context) error {
	timer := time.NewTimer(time.Second)
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func dropped() {
	time.NewTicker(time.Second)
	_ = time.NewTimer(time.Second)
	<-time.NewTicker(time.Millisecond).C
}

// poller is the field guide's leak, a leak at every Go version: a ticker
// in a struct, consumed by a goroutine that never exits, stays referenced
// by that goroutine forever.
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
