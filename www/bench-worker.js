// `tppo bench` off the page's main thread: the page stays responsive while it runs.
// The CPU backend runs the page's CPU-only build (pkg/cpu/), as the lab does.
//
// Every WebGPU compute dispatch is counted (the wrapped `dispatchWorkgroups`), so that
// each row can say how many one repetition issues.
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
  const { backend, batch, prompt, newTokens, reps, only } = e.data;
  try {
    const cpuBuild = backend === "cpu" || !self.navigator.gpu;
    const lib = await import(cpuBuild ? "../pkg/cpu/tppo.js" : "../pkg/tppo.js");
    await lib.default();
    const asked = cpuBuild && backend !== "cpu" ? "no-webgpu" : backend;
    postMessage({ ok: true, value: await lib.bench(asked, batch, prompt, newTokens, reps, only ?? "", cpuBuild ? undefined : () => dispatches) });
  } catch (err) {
    postMessage({ ok: false, error: String(err?.message ?? err) });
  }
};
