// The page: loads the wasm module, reports the backend, and runs the judge.
// Every piece of data is rendered with textContent, never as HTML.
import init, { detect_backend, Judge } from "../pkg/tppo.js";

const $ = (id) => document.getElementById(id);

async function bytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function main() {
  await init();
  const info = await detect_backend();
  $("badge").textContent = info.backend === "cpu"
    ? `CPU fallback: ${info.fallback_reason ?? "no GPU backend built"}`
    : `${info.backend}: ${info.name}`;
  $("badge").dataset.backend = info.backend;
  $("status").textContent = "loading the judge (word vectors, training histories)…";
  const [vectors, vocab, train, labeler, users] = await Promise.all([
    bytes("data/glove-6b-50d.safetensors"),
    fetch("data/glove-6b-50d-vocab.txt").then((r) => r.text()),
    bytes("data/train.jsonl.gz"),
    fetch("data/labeler.json").then((r) => r.text()),
    bytes("data/eval.jsonl"),
  ]);
  const judge = new Judge(vectors, vocab, train, labeler, users);
  $("status").textContent = `judge ready: ${judge.len()} evaluation users`;
  $("user").max = judge.len() - 1;
  const show = () => {
    const u = judge.user(Number($("user").value) || 0);
    $("history").textContent = u.history.map((e) => `${e.kind.padEnd(6)} ${e.text}`).join("\n");
    if (!$("response").dataset.touched) $("response").value = u.targets.join("; ");
    const j = judge.judge(Number($("user").value) || 0, $("response").value);
    $("words").replaceChildren(...j.words.map((w) => {
      const s = document.createElement("span");
      s.className = `c${w.class}`;
      s.textContent = `${w.text} ${w.class}`;
      s.title = w.evidence;
      return s;
    }));
    $("verdict").textContent = `sentence label ${j.sentence} (${Math.round(100 * j.relevant_fraction)}% of content words relevant)`;
  };
  $("response").addEventListener("input", () => { $("response").dataset.touched = "1"; });
  $("user").addEventListener("change", () => { delete $("response").dataset.touched; show(); });
  $("run").addEventListener("click", show);
  show();
  document.body.dataset.ready = "1";
}

main().catch((e) => {
  $("badge").textContent = "error";
  $("status").textContent = String(e?.message ?? e);
  document.body.dataset.ready = "error";
});
