package testpb

//go:generate bash gen.sh
