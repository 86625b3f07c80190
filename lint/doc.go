// Package lint gathers govern's go/analysis analyzers so that every
// driver (the govern-lint binary in both its go vet and standalone modes,
// and the golangci-lint plugin) runs exactly the same set.
//
// The analyzers exist because of two incidents the seed service paid for:
// routes that leaked through http.DefaultServeMux (package
// defaultservemux) and goroutines that looped on tickers forever (package
// tickerleak). See docs/lint.md for what each reports and how to run it.
package lint
