//go:build go1.22

// Package fix exercises the "defer t.Stop()" suggested fix.
//
// The go1.22 build constraint gives this file Go version 1.22, where an
// unstopped ticker or timer leaks (the go122 and go123 modules test the
// version rule itself).
package fix

import "time"

func work() error { return nil }

func simple() error {
	t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path`
	<-t.C
	return work()
}

func declared() {
	var timer = time.NewTimer(time.Second) // want `timer from time.NewTimer is not stopped on every path`
	timer.Reset(time.Minute)
}

func inCase(kind int) {
	switch kind {
	case 1:
		t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path`
		<-t.C
	}
}

// In a loop a defer would run once per call, not per iteration: no fix.
func inLoop() {
	for i := 0; i < 2; i++ {
		t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path`
		<-t.C
	}
}

// In an if statement's init there is no statement list to insert into: no fix.
func inIfInit() {
	if t := time.NewTicker(time.Second); t != nil { // want `t from time.NewTicker is not stopped on every path`
		<-t.C
	}
}
