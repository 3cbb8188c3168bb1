#!/usr/bin/env python3
"""The lab's static file server on 127.0.0.1 (standard library only).

serve.py [--port N] [--dir DIR] [--quiet]

--port 0 picks a free port; the chosen URL is printed on the first line of
stdout ("serving http://127.0.0.1:PORT/"), so tests can start it and read
where it listens.

Files that compress (the wasm module, scripts, JSON/JSONL, the tokenizer, vectors,
checkpoints) are sent gzip-compressed to a browser that accepts it
(`Content-Encoding: gzip`), compressed once per file version and kept in memory
(what the page loads is compressed before the server listens, so no visitor waits
for it): the 31 MB wasm module with WebGPU goes over the wire as about 5.4 MB, the
7.8 MB CPU-only one as about 2.0 MB.

Every response says `Cross-Origin-Opener-Policy: same-origin` and
`Cross-Origin-Embedder-Policy: require-corp`: a page so isolated may share memory
between threads (SharedArrayBuffer), which the threaded CPU build (pkg/cpu/) needs.
Everything the lab loads is on this origin, so nothing else changes."""
import argparse
import concurrent.futures
import email.utils
import functools
import gzip
import http.server
import io
import os
import re
import sys
import threading

COMPRESSIBLE = {".wasm", ".js", ".mjs", ".json", ".jsonl", ".css", ".html", ".svg", ".txt", ".tsv", ".safetensors", ".bin", ".vec"}
_cache = {}
_lock = threading.Lock()


def compressed(path):
    """gzip bytes of `path`, cached by (path, mtime, size)."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    with _lock:
        if key in _cache:
            return _cache[key]
    with open(path, "rb") as f:
        body = gzip.compress(f.read(), compresslevel=6, mtime=0)
    with _lock:
        _cache[key] = body
    return body


def page_files(root):
    """The files over 64 kB the page loads, compressed before the server listens: the built
    modules and checkpoints (pkg/, pkg/cpu/, pkg/models/), www/, and the files of data/
    that www/'s scripts name (not the command line's own data, such as val.jsonl)."""
    www = os.path.join(root, "www")
    scripts = [os.path.join(www, f) for f in sorted(os.listdir(www)) if f.endswith(".js")] if os.path.isdir(www) else []
    named = set()
    for path in scripts:
        with open(path, encoding="utf-8") as f:
            named.update(re.findall(r"\.\./data/([\w.-]+)", f.read()))
    dirs = [os.path.join(root, p) for p in ("pkg", "pkg/cpu", "pkg/models", "www")]
    files = [os.path.join(d, f) for d in dirs if os.path.isdir(d) for f in sorted(os.listdir(d))]
    files += [os.path.join(root, "data", f) for f in sorted(named)]
    return [f for f in files if os.path.isfile(f) and os.path.splitext(f)[1] in COMPRESSIBLE and os.path.getsize(f) > 64_000]


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript", ".mjs": "text/javascript"}
    quiet = False

    def send_head(self):
        path = self.translate_path(self.path)
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not accepts or os.path.splitext(path)[1] not in COMPRESSIBLE or not os.path.isfile(path):
            return super().send_head()
        try:
            body = compressed(path)
            mtime = int(os.stat(path).st_mtime)
        except OSError:
            return super().send_head()
        # A browser revalidating its cached copy gets 304 (nothing sent again).
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                if int(email.utils.parsedate_to_datetime(since).timestamp()) >= mtime:
                    self.send_response(304)
                    self.send_header("Last-Modified", self.date_time_string(mtime))
                    self.send_header("Vary", "Accept-Encoding")
                    self.end_headers()
                    return None
            except (TypeError, ValueError, IndexError, OverflowError):
                pass
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Last-Modified", self.date_time_string(mtime))
        self.end_headers()
        return io.BytesIO(body)

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, fmt, *args):
        if not self.quiet:
            super().log_message(fmt, *args)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--dir", default=".")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    Handler.quiet = a.quiet
    handler = functools.partial(Handler, directory=a.dir)
    # Compress what the page loads once, before listening (two threads: zlib releases the
    # GIL), as a build that ships pre-compressed files would: no visitor waits for it.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(compressed, page_files(a.dir)))
    with http.server.ThreadingHTTPServer(("127.0.0.1", a.port), handler) as httpd:
        print(f"serving http://127.0.0.1:{httpd.server_address[1]}/", flush=True)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            sys.exit(0)


if __name__ == "__main__":
    main()
