// `tppo bench` off the page's main thread: the page stays responsive while it runs.
// The CPU backend runs the build the lab would (www/builds.js): pkg/cpu/, on its pool
// of threads, where the page is cross-origin isolated.
//
// Every WebGPU compute dispatch is counted (the wrapped `dispatchWorkgroups`), so that
// each row can say how many one repetition issues.
import { pickBuild, startThreads } from "./builds.js";

let dispatches = 0;
if (self.GPUComputePassEncoder) {
  for (const name of ["dispatchWorkgroups", "dispatchWorkgroupsIndirect"]) {
    const original = GPUComputePassEncoder.prototype[name];
    GPUComputePassEncoder.prototype[name] = function (...args) {
      dispatches += 1;
      return original.apply(this, args);
    };
  }
}

onmessage = async (e) => {
  const { backend, batch, prompt, newTokens, reps, only, threads } = e.data;
  try {
    const { dir, gpu, asked } = pickBuild(backend);
    const lib = await import(dir + "tppo.js");
    await lib.default();
    await startThreads(lib, threads); // `&threads=N` in bench.html's URL: a pool of N (default: one per core)
    postMessage({ ok: true, value: await lib.bench(asked, batch, prompt, newTokens, reps, only ?? "", gpu ? () => dispatches : undefined) });
  } catch (err) {
    postMessage({ ok: false, error: String(err?.message ?? err) });
  }
};
