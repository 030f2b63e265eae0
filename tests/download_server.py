#!/usr/bin/env python3
"""A small HTTP server on 127.0.0.1 for the `simclr download` tests, misbehaving on request.

    download_server.py ROOT PORT_FILE LOG_FILE

serves the files under ROOT at /<mode>/<path> and writes the port it listens on to PORT_FILE;
every request is logged to LOG_FILE as "<mode> <path> range=<Range header or ->". Modes:
  ok       the file, honouring "Range: bytes=N-" with 206 and Content-Range
  norange  the whole file with 200 whatever the Range header says
  cut      announces the whole length, sends half of what was asked, closes the connection
  stall    announces the whole length, sends a quarter, then sends nothing for 60 s
  silent   accepts the connection and never answers
  wrong    the file with one byte changed in the middle
  redirect 302 to /ok/<path>
Unknown files: 404.
"""
import http.server
import os
import re
import sys
import time

ROOT, PORT_FILE, LOG_FILE = sys.argv[1], sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_GET(self):
        parts = self.path.lstrip("/").split("/", 1)
        mode, name = (parts[0], parts[1]) if len(parts) == 2 else ("", "")
        with open(LOG_FILE, "a") as log:
            log.write(f"{mode} {name} range={self.headers.get('Range', '-')}\n")
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", f"/ok/{name}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "silent":
            time.sleep(60)
            return
        path = os.path.realpath(os.path.join(ROOT, name))
        if not path.startswith(os.path.realpath(ROOT) + os.sep) or not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as f:
            data = bytearray(f.read())
        if mode == "wrong":
            data[len(data) // 2] ^= 0xFF
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and mode != "norange":
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = bytes(data[start:])
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if mode == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "stall":
            self.wfile.write(body[: len(body) // 4])
            self.wfile.flush()
            time.sleep(60)
            return
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
