//go:build go1.22

// Package a holds tickerleak's cases for unstopped tickers and timers.
//
// The go1.22 build constraint gives this file Go version 1.22, where an
// unstopped ticker or timer leaks (the go122 and go123 modules test the
// version rule itself).
package a

import (
	"context"
	"errors"
	"time"
)

func work() error { return nil }

func neverStopped() {
	t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path: the end of the function \(line 21\) is reached without t.Stop\(\) \(Go version 1.22 < 1.23: unreferenced tickers are never collected\); add defer t.Stop\(\)`
	<-t.C
}

func stoppedOnOnePath() error {
	t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path: the return on line 26 is reached without t.Stop\(\)`
	if err := work(); err != nil {
		return err
	}
	t.Stop()
	return nil
}

func timerLeaksOnCancel(ctx context.Context) error {
	timer := time.NewTimer(time.Second) // want `timer from time.NewTimer is not stopped on every path: the return on line 38 is reached without timer.Stop\(\) \(Go version 1.22 < 1.23: unreferenced timers are never collected\)`
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func varDeclared() {
	var t = time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path`
	_ = t.C
}

func assignedLater() {
	var t *time.Ticker
	t = time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path`
	t.Reset(2 * time.Second)
}

func discarded() {
	time.NewTicker(time.Second)     // want `the ticker returned by time.NewTicker is discarded and can never be stopped`
	_ = time.NewTimer(time.Second)  // want `the timer returned by time.NewTimer is discarded and can never be stopped`
	<-time.NewTicker(time.Second).C // want `time.NewTicker\(d\).C drops the ticker, which can never be stopped`
}

func inLoop() error {
	for i := 0; i < 3; i++ {
		t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path`
		<-t.C
		if i == 1 {
			return errors.New("stop")
		}
		t.Stop()
	}
	return nil
}

func inClosure() func() {
	return func() {
		t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path`
		<-t.C
	}
}
