//go:build go1.22

// Package tickerleak has a finding of the analyzer of the same name (the
// build constraint makes the file Go 1.22, where an unstopped ticker leaks).
package tickerleak

import "time"

func Wait() {
	t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path`
	<-t.C
}
