// Package govgentest compiles .proto files in process, with
// github.com/bufbuild/protocompile, into the CodeGeneratorRequest protoc
// would send to a plugin. Tests of the generator use it instead of protoc so
// they run everywhere, and so editions files can be generated even where the
// installed protoc predates editions.
//
// google/protobuf/*.proto come from protocompile's standard imports, and
// files such as google/api/annotations.proto from the descriptors that
// linked Go packages register (google.golang.org/genproto/googleapis/api/annotations):
// the repository never carries copies of them.
package govgentest
