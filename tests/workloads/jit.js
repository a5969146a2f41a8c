// node --perf-basic-prof jit.js [SECONDS]: a named hot JS function.
// hotJsFunction holds a long loop, so V8 compiles it on its own (on-stack
// replacement) and it stays a frame of its own in /tmp/perf-PID.map. The
// caller runs once per call from a timer, so it never gets hot enough to be
// optimized and inline hotJsFunction away.
'use strict';
const seconds = Number(process.argv[2] || 0);
const end = Date.now() + seconds * 1000;
let sink = 0;

function hotJsFunction(n) {
  let x = sink;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
  }
  sink = x;
  return x;
}

function tick() {
  hotJsFunction(2000000);
  if (seconds > 0 && Date.now() >= end) return;
  setImmediate(tick);
}
tick();
