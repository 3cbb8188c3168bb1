// Which build of the library a worker loads (the lab's worker and the bench's):
//
// - pkg/      the WebGPU backend, with the CPU backend one thread wide (no atomics);
// - pkg/cpu/  the CPU backend only, multi-threaded: built with atomics (nightly Rust,
//             scripts/tools.sh), it runs the pieces of the PPO iteration on a pool of
//             Web Workers (wasm-bindgen-rayon). Its memory is a SharedArrayBuffer, which
//             the browser allows only on a cross-origin-isolated page (scripts/serve.py
//             sends COOP/COEP).
//
// The CPU backend (asked for, or no WebGPU in the browser) gets pkg/cpu/ where the page
// is cross-origin isolated, and pkg/'s one-thread CPU backend where it is not.
export function pickBuild(backend) {
  const gpu = backend !== "cpu" && !!self.navigator.gpu;
  const dir = gpu || !self.crossOriginIsolated ? "../pkg/" : "../pkg/cpu/";
  // What the library is told: the user's choice, or why it runs on the CPU.
  const asked = gpu || backend === "cpu" ? backend : "no-webgpu";
  return { dir, gpu, asked, build: gpu ? "webgpu" : dir === "../pkg/cpu/" ? "cpu" : "webgpu build, CPU backend" };
}

// Start the thread pool of a threaded build (`n` Web Workers, default one per core); a
// build without threads has no `initThreadPool`. Returns how many threads the CPU work
// runs on.
export async function startThreads(lib, n) {
  if (!lib.initThreadPool) return 1;
  await lib.initThreadPool(Math.max(1, n || (self.navigator.hardwareConcurrency ?? 2)));
  return lib.threads();
}
