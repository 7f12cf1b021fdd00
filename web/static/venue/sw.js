// The venue scanner's service worker: it keeps the page and everything it
// runs (scripts, stylesheet, the QR decoder, the offline verifier) so that
// the scanner opens and checks codes with no network. Each file is asked
// from the network first (the server answers 304 when unchanged) and
// taken from the cache only when the network fails. API requests are
// never cached: they pass through untouched.

const CACHE = "ssi-venue-v1";
const FILES = [
  "/venue/", "/venue/venue.js", "/assets/ssi.css", "/assets/api.js", "/assets/qrscan.js",
  "/assets/qrworker.js", "/assets/verdict.js", "/vendor/jsqr/jsQR.js", "/vendor/go-wasm/wasm_exec.js",
];
const OPTIONAL = ["/venue/venue.wasm"]; // absent until built (make venue-wasm)

self.addEventListener("install", (ev) => {
  ev.waitUntil((async () => {
    const c = await caches.open(CACHE);
    await c.addAll(FILES);
    for (const f of OPTIONAL) await c.add(f).catch(() => {});
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (ev) => {
  ev.waitUntil((async () => {
    for (const k of await caches.keys()) if (k !== CACHE) await caches.delete(k);
    await self.clients.claim();
  })());
});

function cacheable(url) {
  return url.origin === self.location.origin &&
    (url.pathname.startsWith("/venue/") || url.pathname.startsWith("/assets/") || url.pathname.startsWith("/vendor/"));
}

self.addEventListener("fetch", (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || !cacheable(url)) return;
  ev.respondWith((async () => {
    const c = await caches.open(CACHE);
    const key = url.pathname === "/venue/index.html" ? "/venue/" : url.pathname;
    try {
      const resp = await fetch(ev.request);
      if (resp.ok) await c.put(key, resp.clone());
      return resp;
    } catch (e) {
      const hit = await c.match(key);
      if (hit) return hit;
      throw e;
    }
  })());
});
