"""A static server for the probe with cross-origin isolation (COOP/COEP), which
SharedArrayBuffer and so wasm threads need. Prints its port on the first line."""
import functools
import http.server
import os

HERE = os.path.dirname(os.path.abspath(__file__))


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm", ".js": "text/javascript"}

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def translate_path(self, path):
        # wasm-bindgen-rayon's workerHelpers.js imports '../../..' (the package folder): the module.
        if path.split("?")[0] == "/pkg/":
            path = "/pkg/wasm_threads_probe.js"
        return super().translate_path(path)

    def log_message(self, *a):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=HERE))
print(server.server_address[1], flush=True)
server.serve_forever()
