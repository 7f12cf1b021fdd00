// A page that reads a QR code through the camera path the venue scanner
// uses (/assets/qrscan.js): getUserMedia, then BarcodeDetector or jsQR in
// a worker. The test reads #result and its data-decoder.
import { startCamera } from "/assets/qrscan.js";

const result = document.getElementById("result");
startCamera(document.getElementById("video"), (text, decoder) => {
  result.dataset.decoder = decoder;
  result.textContent = text;
}).catch((err) => {
  document.getElementById("error").textContent = "camera: " + err.name + ": " + err.message;
});
