//go:build go1.22

// Cases at Go 1.22 that must not be reported (see unstopped.go).

package a

import (
	"context"
	"log"
	"os"
	"time"
)

// poller holds its ticker; Close stops it. Storing the ticker in a field
// hands its lifetime to the struct: not reported.
type poller struct {
	ticker *time.Ticker
	timers map[string]*time.Timer
	all    []*time.Ticker
}

func newPoller() *poller {
	p := &poller{timers: map[string]*time.Timer{}}
	p.ticker = time.NewTicker(time.Second)
	p.timers["x"] = time.NewTimer(time.Second)
	t := time.NewTicker(time.Second)
	p.all = append(p.all, t)
	return p
}

func (p *poller) Close() { p.ticker.Stop() }

// Returned to the caller, who owns it.
func newTicker() *time.Ticker {
	t := time.NewTicker(time.Second)
	return t
}

func newTickerDirect() *time.Ticker { return time.NewTicker(time.Second) }

func namedResult() (t *time.Ticker) {
	t = time.NewTicker(time.Second)
	return
}

func deferStop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = work()
		case <-ctx.Done():
			return
		}
	}
}

func stoppedOnEveryPath() error {
	t := time.NewTicker(time.Second)
	if err := work(); err != nil {
		t.Stop()
		return err
	}
	t.Stop()
	return nil
}

func stopResult() {
	t := time.NewTimer(time.Second)
	if !t.Stop() {
		<-t.C
	}
}

// A timer whose channel was received from has fired and is released.
func timerFired() {
	timer := time.NewTimer(time.Millisecond)
	<-timer.C
}

// Passed away: the callee owns it.
func passedAway() {
	t := time.NewTicker(time.Second)
	consume(t)
}

func consume(*time.Ticker) {}

// Captured by a goroutine that stops it.
func captured() {
	t := time.NewTicker(time.Second)
	go func() {
		defer t.Stop()
		<-t.C
	}()
}

// Never returns normally: the paths end in os.Exit and log.Fatal.
func exits(fail bool) {
	t := time.NewTicker(time.Second)
	if fail {
		log.Fatal("failed")
	}
	<-t.C
	os.Exit(0)
}

// A function that never returns cannot leak through a return.
func forever() {
	t := time.NewTicker(time.Second)
	for {
		<-t.C
	}
}

// A ticker from an outer function's variable is not this function's.
func outerVar() {
	var t *time.Ticker
	func() {
		t = time.NewTicker(time.Second)
	}()
	t.Stop()
}

// A range over a ticker channel never ends: no return is reachable.
func rangesForever() {
	t := time.NewTicker(time.Second)
	for range t.C {
		_ = work()
	}
}
