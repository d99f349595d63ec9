// Package bindings holds the Go bindings of paynode's contracts, generated
// by abigen --v2 from the forge build of contracts/src. Do not edit the
// generated files; change the Solidity and run `go generate ./contracts/...`.
package bindings

//go:generate go run ../internal/genbindings -root .. -out .
