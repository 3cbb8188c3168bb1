#!/usr/bin/env python3
"""The lab's static file server on 127.0.0.1 (standard library only).

serve.py [--port N] [--dir DIR] [--quiet]

--port 0 picks a free port; the chosen URL is printed on the first line of
stdout ("serving http://127.0.0.1:PORT/"), so tests can start it and read
where it listens."""
import argparse
import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript", ".mjs": "text/javascript"}
    quiet = False

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
    with http.server.ThreadingHTTPServer(("127.0.0.1", a.port), handler) as httpd:
        print(f"serving http://127.0.0.1:{httpd.server_address[1]}/", flush=True)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            sys.exit(0)


if __name__ == "__main__":
    main()
