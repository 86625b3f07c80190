// Package governv1 is the Go form of govern/v1/govern.proto: the Policy
// message and the (govern.v1.file), (govern.v1.service) and
// (govern.v1.method) extensions (number 50613) that carry a team's
// governance policy in its .proto files.
//
// protoc-gen-govern links it so that the options in a CodeGeneratorRequest
// decode into typed messages; runtime code never needs it, because the
// plugin turns the options into runtime/policy tables. govern.pb.go is
// generated (go generate, gen.go) and a test fails when it is stale.
package governv1
