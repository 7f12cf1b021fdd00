//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// main outside the browser only says how this command is built.
func main() {
	fmt.Fprintln(os.Stderr, "venue-wasm runs in the venue scanner's page: build it with make venue-wasm (GOOS=js GOARCH=wasm)")
	os.Exit(2)
}
