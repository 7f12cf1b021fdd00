package webtest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"sync"
)

// recorder is the HTTP proxy Chromium is started with: every request of
// every context of the browser (the document, its workers, a service
// worker) goes through it, loopback ones included (--proxy-bypass-list=
// <-loopback>), so that it sees what DevTools' per-target network events
// miss (a worker's importScripts). It forwards requests to loopback hosts
// (the test's servers) and answers everything else 502 without touching
// the network: a page that reaches out fails the test, and never reaches
// anything.
type recorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	// urls are the requested URLs in order; a CONNECT (https) is
	// recorded as https://HOST.
	urls []string
}

func newRecorder() *recorder {
	rec := &recorder{}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.Out.URL = pr.In.URL; pr.Out.Host = pr.In.Host },
		FlushInterval: -1, // long polls and streams pass at once
	}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			rec.add("https://" + r.Host)
			http.Error(w, "webtest: no https to other hosts", http.StatusBadGateway)
			return
		}
		if r.URL.Host == "" { // not a proxy request
			http.Error(w, "webtest: a proxy", http.StatusBadRequest)
			return
		}
		rec.add(r.URL.String())
		if !loopback(r.URL.Hostname()) {
			http.Error(w, "webtest: the test network reaches loopback only", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	return rec
}

func (r *recorder) add(u string) {
	r.mu.Lock()
	r.urls = append(r.urls, u)
	r.mu.Unlock()
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.urls...)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
