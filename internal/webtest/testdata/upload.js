// The fallback of a device without a camera: a QR image file, decoded by
// /assets/qrscan.js (decodeImage). #result gets the text, or "none".
import { decodeImage } from "/assets/qrscan.js";

document.getElementById("file").addEventListener("change", async (ev) => {
  const f = ev.target.files[0];
  const text = f ? await decodeImage(f) : null;
  document.getElementById("result").textContent = text === null ? "none" : text;
});
