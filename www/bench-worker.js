// `tppo bench` off the page's main thread: the page stays responsive while it runs.
import init, { bench } from "../pkg/tppo.js";

onmessage = async (e) => {
  const { backend, batch, prompt, newTokens, reps, only } = e.data;
  try {
    await init();
    postMessage({ ok: true, value: await bench(backend, batch, prompt, newTokens, reps, only ?? "") });
  } catch (err) {
    postMessage({ ok: false, error: String(err?.message ?? err) });
  }
};
