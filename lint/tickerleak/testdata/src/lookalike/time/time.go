// Package time is not the standard library's: it only shares the names.
package time

type Ticker struct{ C chan int }

func (*Ticker) Stop() {}

func NewTicker(d int) *Ticker { return &Ticker{C: make(chan int)} }
func NewTimer(d int) *Ticker  { return &Ticker{C: make(chan int)} }
func Tick(d int) chan int     { return make(chan int) }
