package main

import (
	"bytes"
	"testing"
	"time"
)

// TestFailoverStaysLocalFailsOverAndComesBack runs a short failover
// experiment: calls are served locally before the brownout, by the far
// region during it (once the probes notice), and locally again after it.
func TestFailoverStaysLocalFailsOverAndComesBack(t *testing.T) {
	cfg := FailoverConfig{Duration: 3 * time.Second, BrownoutAt: time.Second, BrownoutFor: time.Second,
		Rate: 50, FarRTT: 20 * time.Millisecond, ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 80 * time.Millisecond,
		ProbeThreshold: 2} // one slow probe on a loaded host must not move calls
	r, err := RunFailover(t.Context(), cfg)
	if err != nil {
		t.Skip(err) // no loopback aliases on this machine
	}
	if r.Calls < 20 {
		t.Fatalf("only %d calls ran; the load loop is broken", r.Calls)
	}
	if r.Local == 0 || r.Local == r.Calls-r.Errors {
		t.Errorf("%d of %d successful calls were local; want local calls outside the brownout and far ones during it", r.Local, r.Calls-r.Errors)
	}
	if r.LocalShareOutside < 0.5 {
		t.Errorf("local share outside the brownout %.2f; want most calls local", r.LocalShareOutside)
	}
	if r.ReturnAfter == 0 && r.LocalShareOutside == 0 {
		t.Errorf("calls never came back to the local region")
	}
	var out bytes.Buffer
	PrintFailover(&out, cfg, r)
	t.Log("\n" + out.String())
}
