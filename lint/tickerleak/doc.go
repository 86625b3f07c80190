// Package tickerleak defines an Analyzer that reports tickers and timers
// that are never stopped and goroutines that loop on a ticker forever.
//
// # Analyzer tickerleak
//
// tickerleak: report unstopped tickers and endless ticker loops
//
// A *time.Ticker keeps firing until Stop is called, and a goroutine that
// loops on its channel with no way out lives as long as the process: the
// seed service leaked one such goroutine per request. The analyzer reports
// three things.
//
// Unstopped tickers and timers, where they leak. Before Go 1.23 a ticker
// or timer that is never stopped is never collected; from Go 1.23 on the
// runtime collects it once nothing refers to it, stopped or not, so this
// check, like the time.Tick check below, applies only where the file's Go
// version is below 1.23 or GODEBUG asynctimerchan=1 restores the old
// timers (see "Go version" below); the message names which. There, the
// result of time.NewTicker or time.NewTimer, held in a local variable that
// does not escape the function, must be stopped on every path to a
// return. The check is
// control-flow aware in the manner of x/tools' lostcancel: it searches the
// function's control-flow graph for a path from the call to a return that
// passes neither t.Stop() (a defer t.Stop() covers every later path) nor,
// for a timer, a receive from t.C (a timer that fired is released). The
// variable escapes, and is not checked, when it is returned, stored in a
// field, map, slice or global, passed to a function, assigned to another
// variable, reassigned, or referenced from a function literal. A ticker
// whose result is discarded, or used only as time.NewTicker(d).C, can
// never be stopped and is always reported. main.main is exempt: returning
// from it ends the process. Where the call is a := or var statement in a
// statement list outside any loop, the diagnostic carries the suggested
// fix "defer t.Stop()" on the next line.
//
// Endless ticker loops in goroutines, at every Go version: a goroutine
// that loops on a ticker keeps both alive, which no collector can undo
// (the field guide's leak: a ticker in a struct, consumed by a goroutine
// that never exits). A for loop without a condition, or
// a range over a ticker channel, that receives from a ticker or timer
// channel (t.C, time.Tick(d), or a variable holding either) and has no
// exit (no return, no break or goto out of the loop, no call that never
// returns such as panic or os.Exit) is reported when it runs in a
// goroutine: a function literal started with go, or a function or method
// of the same package started with go. A select with a ctx.Done() or quit
// channel case counts only if that case leaves the loop. Goroutines
// started from main-like functions (main.main, init, TestMain), which
// live as long as the process by design, are exempt. A function that
// never returns but is called synchronously is not reported: blocking
// forever is its contract.
//
// time.Tick in a function that returns. Before Go 1.23 the ticker behind
// time.Tick is never stopped nor garbage collected, so calling it in a
// function that returns leaks one ticker per call.
//
// Go version. The first and third checks apply only where the file's Go
// version (types.Info.FileVersions, else
// types.Package.GoVersion, which come from the go directive of go.mod)
// is below 1.23, or where GODEBUG asynctimerchan=1 restores the old timer
// implementation through a //go:debug directive in the package or a
// godebug line or block in go.mod (an explicit asynctimerchan=0 turns the
// check off). An unknown version (no go.mod) counts as the current
// toolchain's. From Go 1.23 on, unreferenced tickers and timers are
// collected and only the goroutine form above is reported. time.Tick calls
// in _test.go files, in main.main and init, at package level and in
// functions that never return are exempt.
package tickerleak
