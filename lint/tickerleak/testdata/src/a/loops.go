package a

import (
	"context"
	"os"
	"time"
)

type service struct {
	ticker *time.Ticker
	quit   chan struct{}
}

func (s *service) Start() {
	go s.loopForever() // reported at the loop, once
	go s.loopForever()
	go s.loopWithQuit()
	go func() {
		for range s.ticker.C { // want `goroutine loops on a ticker channel with no exit, so the goroutine and its ticker leak; add a case that leaves the loop: case <-ctx.Done\(\): return`
			_ = work()
		}
	}()
	go func() {
		for { // want `goroutine loops on a ticker channel with no exit`
			select {
			case <-s.ticker.C:
				_ = work()
			case <-s.quit:
				break // leaves the select, not the loop
			}
		}
	}()
	go func() {
		tick := time.Tick(time.Second)
		for { // want `goroutine loops on a ticker channel with no exit`
			<-tick
			_ = work()
		}
	}()
	go func() {
		timer := time.NewTimer(time.Second)
		for { // want `goroutine loops on a timer channel with no exit, so the goroutine and its timer leak`
			<-timer.C
			timer.Reset(time.Second)
		}
	}()
}

func (s *service) loopForever() {
	for { // want `goroutine loops on a ticker channel with no exit`
		<-s.ticker.C
		_ = work()
	}
}

func (s *service) loopWithQuit() {
	for {
		select {
		case <-s.ticker.C:
			_ = work()
		case <-s.quit:
			return
		}
	}
}

// Loops that leave: all silent.
func exits2(ctx context.Context, t *time.Ticker, quit chan struct{}) {
	go func() {
		for {
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
	loop:
		for {
			select {
			case <-t.C:
			case <-quit:
				break loop
			}
		}
	}()
	go func() {
		for range t.C {
			if work() != nil {
				break
			}
		}
	}()
	go func() {
		for {
			<-t.C
			if work() != nil {
				panic("stop")
			}
		}
	}()
	go func() {
		for ctx.Err() == nil { // a condition is an exit
			<-t.C
		}
	}()
	go func() {
		for {
			if work() != nil {
				return
			}
			time.Sleep(time.Second) // not a ticker channel
		}
	}()
}

// blockForever is called synchronously: blocking is its contract.
func blockForever(t *time.Ticker) {
	for range t.C {
		_ = work()
	}
}

func callsBlockForever(t *time.Ticker) { blockForever(t) }

// A loop with an inner labeled loop whose continue stays inside.
func innerContinue(t *time.Ticker) {
	go func() {
		for { // want `goroutine loops on a ticker channel with no exit`
			<-t.C
		inner:
			for i := 0; i < 3; i++ {
				if i == 1 {
					continue inner
				}
				break inner
			}
		}
	}()
}

// A ctx.Done() case that does not leave the loop is not an exit.
func doneCaseWithoutReturn(ctx context.Context, t *time.Ticker) {
	go func() {
		for { // want `goroutine loops on a ticker channel with no exit`
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop() // stopping does not close t.C: the loop blocks forever
			}
		}
	}()
}

// Nested endless loops are reported once, at the outer loop.
func nested(t *time.Ticker) {
	go func() {
		for { // want `goroutine loops on a ticker channel with no exit`
			for range t.C {
			}
		}
	}()
}

// Exits through goto, a continue to an outer loop, and os.Exit.
func otherExits(t *time.Ticker, n int) {
	go func() {
		for {
			<-t.C
			if n > 3 {
				goto done
			}
		}
	done:
	}()
	go func() {
	outer:
		for i := 0; i < n; i++ {
			for {
				<-t.C
				if i > 1 {
					continue outer
				}
			}
		}
	}()
	go func() {
		for {
			<-t.C
			if n == 0 {
				os.Exit(1)
			}
		}
	}()
}
