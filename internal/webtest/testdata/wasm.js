// Compiles the smallest WebAssembly module (the header alone): the page's
// CSP decides whether WebAssembly may compile.
const p = document.getElementById("p");
WebAssembly.instantiate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])).then(
  () => { p.textContent = "compiled"; },
  (e) => { p.textContent = "refused: " + e.name; });
