// Package web holds the pages people use, embedded in the binary and served
// by ssi itself: plain HTML, CSS and JavaScript modules with no build step,
// and third-party browser code checked in under static/vendor/ at a pinned
// version with its licence (docs/pages.md lists it).
//
// Served today: the agency admin console at /admin/ and the shared assets
// at /assets/ (stylesheet, API client module) and /vendor/. The venue
// scanner (/venue/) and the citizen web wallet (/wallet/) of issue 17 wait
// for the verifier and holder APIs and are not here yet.
//
// Every page answer carries a strict Content-Security-Policy (CSP): scripts,
// styles, workers and connections from the page's own origin only, no
// inline script or style, images also from data: and blob: URLs (the offer
// QR arrives as a data: PNG), nothing from another origin. The pages talk
// only to ssi's public APIs; this package must never import a service
// package or the store, and never serve anything but the embedded files.
package web
