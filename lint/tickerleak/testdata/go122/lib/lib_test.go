package lib

import (
	"testing"
	"time"
)

// Tests are exempt from the time.Tick rule.
func TestWait(t *testing.T) {
	<-time.Tick(time.Millisecond)
}
