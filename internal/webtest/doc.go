// Package webtest drives headless Chromium through the DevTools protocol
// (chromedp) for the tests of the pages: a fresh browser per test with a
// fresh profile, every network request of the browser recorded by a proxy
// it must use (a request to another origin fails the test, and is never
// sent), Content-Security-Policy violations and
// uncaught exceptions caught, screenshots written to the test's artifact
// directory, and a fake camera fed from a Y4M file the test writes from a
// QR image (WriteY4M).
//
// Chromium is Debian's chromium package (/usr/bin/chromium; SSI_CHROMIUM
// names another binary). Without it a test skips with a message saying
// so, unless CI is set: then it fails, since .ci/run installs it.
//
// It is test support only: nothing outside tests imports it, so the ssi
// binary never links chromedp. It must never reach a host off loopback:
// the browser's proxy refuses them.
package webtest
