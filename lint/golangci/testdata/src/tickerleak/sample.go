// Package tickerleak has a finding of the analyzer of the same name.
package tickerleak

import "time"

func Wait() {
	t := time.NewTicker(time.Second) // want `t from time.NewTicker is not stopped on every path`
	<-t.C
}
