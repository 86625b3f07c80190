// Package bench compares govern's governed unary chain with the same work
// built from go-grpc-middleware v2 interceptors and from go-zero's breaker,
// metrics and timeout interceptors (BenchmarkUnaryChain, sequential and
// parallel), govern's breaker with sony/gobreaker v2 and go-zero's
// (BenchmarkBreaker), and govern's method tracer with otelgrpc's stats
// handler (BenchmarkTracing).
// It is a separate module so that the main module's go.mod does not carry
// the competitors as dependencies. Run from this directory:
//
//	go test -run '^$' -bench . -count 6 -benchtime 200ms | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest new.txt
package bench
