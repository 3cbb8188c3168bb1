import init, { initThreadPool, sum_squares } from "./pkg/wasm_threads_probe.js";
(async () => {
  try {
    await init();
    await initThreadPool(navigator.hardwareConcurrency);
    const t0 = performance.now();
    const s = sum_squares(50_000_000);
    postMessage({ isolated: self.crossOriginIsolated, threads: navigator.hardwareConcurrency, sum: s, ms: performance.now() - t0 });
  } catch (e) { postMessage({ error: String(e) }); }
})();
