// QR scanning for the pages: the camera (rear by default) or an image,
// decoded by the browser's BarcodeDetector where it exists and reads QR
// codes, else by jsQR in a Web Worker (/assets/qrworker.js). Nothing here
// is hand-written QR decoding.

let worker = null;
let nextID = 0;
const waiting = new Map();

let workerBroken = false; // the worker could not start (its script did not load)

function jsqrWorker() {
  if (!worker) {
    worker = new Worker("/assets/qrworker.js");
    worker.onmessage = (ev) => {
      const done = waiting.get(ev.data.id);
      if (done) {
        waiting.delete(ev.data.id);
        done(ev.data.text);
      }
    };
    worker.onerror = () => {
      workerBroken = true;
      worker = null;
      for (const done of waiting.values()) done(null);
      waiting.clear();
    };
  }
  return worker;
}

// decodeWithWorker decodes a frame with jsQR in the worker; where the
// worker cannot start (a page offline whose service worker does not serve
// workers' imports) and the page loaded jsQR itself (a classic script tag,
// as the venue scanner does), on the page's thread instead.
function decodeWithWorker(imageData) {
  if (workerBroken && typeof globalThis.jsQR === "function") {
    const r = globalThis.jsQR(imageData.data, imageData.width, imageData.height, { inversionAttempts: "attemptBoth" });
    return Promise.resolve(r ? r.data : null);
  }
  return new Promise((resolve) => {
    const id = ++nextID;
    waiting.set(id, resolve);
    jsqrWorker().postMessage({ id, width: imageData.width, height: imageData.height, data: imageData.data }, [imageData.data.buffer]);
  });
}

// detector returns a BarcodeDetector for QR codes, or null where the
// browser has none (Chromium on Linux, Firefox) or it cannot read QR.
async function detector() {
  if (!("BarcodeDetector" in globalThis)) return null;
  try {
    const formats = await globalThis.BarcodeDetector.getSupportedFormats();
    if (!formats.includes("qr_code")) return null;
    return new globalThis.BarcodeDetector({ formats: ["qr_code"] });
  } catch {
    return null;
  }
}

// decoderName says which decoder a page uses: "BarcodeDetector" or "jsQR".
export async function decoderName() {
  return (await detector()) ? "BarcodeDetector" : "jsQR";
}

function frameData(source, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

// decodeImage decodes the QR code of an image file (the upload fallback of
// a device without a camera); it resolves to the text, or null.
export async function decodeImage(blob) {
  const bmp = await createImageBitmap(blob);
  const det = await detector();
  if (det) {
    const codes = await det.detect(bmp);
    return codes.length ? codes[0].rawValue : null;
  }
  return decodeWithWorker(frameData(bmp, bmp.width, bmp.height));
}

// startCamera shows the camera in video and calls onCode(text, decoder)
// for each QR code it reads (the same code again only after another one
// or a pause of resetMs). It resolves to {stop(), decoder}; it rejects when
// the camera cannot be opened (no camera, permission refused), so that
// the page can offer the image upload or manual entry instead.
export async function startCamera(video, onCode, { intervalMs = 120, resetMs = 3000 } = {}) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: { facingMode: { ideal: "environment" } } });
  video.srcObject = stream;
  video.muted = true;
  video.setAttribute("playsinline", "");
  await video.play();
  const det = await detector();
  let stopped = false;
  let last = "";
  let lastAt = 0;
  const tick = async () => {
    if (stopped) return;
    try {
      if (video.readyState >= 2 && video.videoWidth > 0) {
        let text = null;
        if (det) {
          const codes = await det.detect(video);
          text = codes.length ? codes[0].rawValue : null;
        } else {
          text = await decodeWithWorker(frameData(video, video.videoWidth, video.videoHeight));
        }
        const now = performance.now();
        if (text && (text !== last || now - lastAt > resetMs)) {
          last = text;
          lastAt = now;
          onCode(text, det ? "BarcodeDetector" : "jsQR");
        } else if (text) {
          lastAt = now;
        }
      }
    } finally {
      if (!stopped) setTimeout(tick, intervalMs);
    }
  };
  setTimeout(tick, 0);
  return {
    decoder: det ? "BarcodeDetector" : "jsQR",
    stop() {
      stopped = true;
      for (const tr of stream.getTracks()) tr.stop();
      video.srcObject = null;
    },
  };
}
