// A page that reads a QR code through the camera path the venue scanner
// uses (/assets/qrscan.js): getUserMedia, then BarcodeDetector or jsQR in
// a worker. The test reads #result, its data-decoder, and data-ms: the
// time from the camera's first frame to the decoded text.
import { startCamera } from "/assets/qrscan.js";

const result = document.getElementById("result");
const video = document.getElementById("video");
let first = 0;
video.addEventListener("playing", () => { first = performance.now(); }, { once: true });
startCamera(video, (text, decoder) => {
  result.dataset.ms = String(performance.now() - first);
  result.dataset.decoder = decoder;
  result.textContent = text;
}).catch((err) => {
  document.getElementById("error").textContent = "camera: " + err.name + ": " + err.message;
});
