package governv1

// govern.pb.go is generated; uptodate_test.go fails when it is stale.
//go:generate bash ../../gen.sh
