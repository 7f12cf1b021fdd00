// The QR decoding worker of the pages: jsQR (vendored, web/static/vendor/jsqr)
// on frames the page posts, off the page's main thread. Message in:
// {id, width, height, data: Uint8ClampedArray (RGBA)}; out: {id, text|null}.
importScripts("/vendor/jsqr/jsQR.js");

onmessage = (ev) => {
  const { id, width, height, data } = ev.data;
  let text = null;
  try {
    const r = jsQR(data, width, height, { inversionAttempts: "attemptBoth" });
    if (r) text = r.data;
  } catch {
    text = null;
  }
  postMessage({ id, text });
};
