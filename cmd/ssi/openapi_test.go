package main

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi"
	"github.com/ssi-project/ssi/web"
)

// TestOpenAPIMatchesRouter holds openapi.yaml to the router: the document
// is valid OpenAPI 3.1, every route the router serves is documented, and
// every documented operation has a route.
func TestOpenAPIMatchesRouter(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(ssi.OpenAPI)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()), "openapi.yaml must be valid")

	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}

	// The pages (web.Mounts, and web.Redirects such as /admin → /admin/) are
	// HTML for people, not API routes: openapi.yaml leaves them out, and
	// so does this comparison, by exactly those patterns. Anything else
	// under their prefixes (the /admin/v1 API) is held to the document.
	pages := map[string]bool{}
	for _, m := range web.Mounts {
		pages[m+"*"] = true
	}
	for _, r := range web.Redirects {
		pages[r] = true
	}
	a := newTestApp(t, sqliteStore(t))
	routed := map[string]bool{}
	err = chi.Walk(a.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if pages[route] {
			return nil
		}
		route = strings.TrimSuffix(route, "/*")
		if route != "/" {
			route = strings.TrimSuffix(route, "/")
		}
		routed[method+" "+route] = true
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, routed)

	var undocumented, unrouted []string
	for r := range routed {
		if !documented[r] {
			undocumented = append(undocumented, r)
		}
	}
	for d := range documented {
		if !routed[d] {
			unrouted = append(unrouted, d)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unrouted)
	assert.Empty(t, undocumented, "routes missing from openapi.yaml")
	assert.Empty(t, unrouted, "documented operations with no route")
}
