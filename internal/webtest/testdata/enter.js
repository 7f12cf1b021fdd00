// Times a QR code from its entering the camera frame to its decoded text.
// The fake camera shows blank frames, then the code (WriteY4MFrames). Each
// presented frame (requestVideoFrameCallback) is sampled small: the first
// one that is not white after a white one is when the code entered.
// #result gets the text, with data-ms the time from that frame's
// presentation to the decoder's answer.
import { startCamera } from "/assets/qrscan.js";

const video = document.getElementById("video");
const result = document.getElementById("result");
const sample = new OffscreenCanvas(32, 24).getContext("2d", { willReadFrequently: true });
let sawBlank = false;
let entered = 0;

// marked: the frame holds something (a blank frame is white; the code,
// sampled 20 times smaller, averages to grey).
function marked() {
  sample.drawImage(video, 0, 0, 32, 24);
  const d = sample.getImageData(0, 0, 32, 24).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] < 200) n++;
  return n > 8;
}

function onFrame(now) {
  if (!entered) {
    if (!marked()) sawBlank = true;
    else if (sawBlank) entered = now;
  }
  if (!result.textContent) video.requestVideoFrameCallback(onFrame);
}
video.requestVideoFrameCallback(onFrame);

startCamera(video, (text, decoder) => {
  // Seen before it entered (the camera opened on the code): not timed;
  // resetMs below the 1 s of blank frames lets the next entry through.
  if (!entered || result.textContent) return;
  result.dataset.ms = String(performance.now() - entered);
  result.dataset.decoder = decoder;
  result.textContent = text;
}, { resetMs: 500 }).catch((err) => {
  document.getElementById("error").textContent = "camera: " + err.name + ": " + err.message;
});
