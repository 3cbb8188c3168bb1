# Shared by serve.sh and test.sh: install the lab's build tools from source, once.
# Never downloads prebuilt binaries: wasm-pack and wasm-bindgen-cli are built by cargo,
# wasm-bindgen-cli at exactly the version in Cargo.lock, and wasm-opt is off (Cargo.toml).
export PATH="$HOME/.cargo/bin:$PATH"

need_wasm_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
  fi
  if ! command -v wasm-pack >/dev/null; then
    cargo install wasm-pack --locked
  fi
  local want have
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
  have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }')
  if [ "$have" != "$want" ]; then
    # Not --locked: one of its locked dependencies was yanked from crates.io.
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

# The browser build: the library for wasm32 (no CLI features), then its JS bindings
# into pkg/. wasm-bindgen is called directly (rather than through `wasm-pack build`)
# to drop the 4 MB name section; wasm-opt is not used (Debian's crashed in Chromium).
build_pkg() {
  cargo build --release --target wasm32-unknown-unknown --lib --no-default-features
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir pkg "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/tppo.wasm"
}
