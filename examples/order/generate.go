package main

// The generated code under gen/ is committed; regenerate it after editing
// proto/order/v1/order.proto with `go generate ./examples/order`.
//go:generate bash gen.sh
