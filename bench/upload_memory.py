"""Peak memory while storing a 25 MB upload (RELIABILITY P9: peak memory ÷ file size ≤ 0.1).

Usage: ``.venv/bin/python bench/upload_memory.py [--mb 25]``

Runs the app in-process on a temporary SQLite database and storage directory and measures, per
case, the growth of the process's resident memory above the level just before the upload
(sampled every 2 ms from /proc/self/statm), and separately the peak of Python allocations
(tracemalloc) in a second run of the same case. Cases:

* ``store_upload`` on a PDF and on a CSV of the given size (the CSV is checked as UTF-8 over the
  whole file, so it exercises the streaming text check too);
* the whole HTTP path: a real WSGI server thread (stdlib wsgiref) receives a streamed multipart POST, Werkzeug
  parses it (spooling the file to disk), the view calls ``store_upload`` and commits;
* a naive ``read()`` of the whole file plus one copy, to show the measurement sees buffering.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import io
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class RssSampler:
    def __init__(self, interval: float = 0.002):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def __enter__(self):
        self.base = self.peak = rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def growth(self) -> int:
        return self.peak - self.base


def measure(name: str, size: int, fn: Callable[[], object]) -> dict:
    gc.collect()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with RssSampler() as sampler:
        started = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - started
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    gc.collect()
    tracemalloc.start()
    fn()
    _current, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row = {"case": name, "size": size, "rss_growth": sampler.growth,
           "maxrss_growth": maxrss_after - maxrss_before, "traced_peak": traced_peak,
           "seconds": elapsed}
    print(f"{name:<34} {size / MB:6.1f} MB  RSS +{sampler.growth / MB:6.2f} MB  "
          f"(ratio {sampler.growth / size:5.3f})  Python peak {traced_peak / MB:6.2f} MB "
          f"(ratio {traced_peak / size:5.3f})  ru_maxrss +{(maxrss_after - maxrss_before) / MB:5.2f}"
          f" MB  {elapsed:5.2f} s")
    return row


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


def write_file(path: Path, size: int, kind: str) -> None:
    with open(path, "wb") as out:
        if kind == "pdf":
            out.write(b"%PDF-1.7\n")
            left = size - 9
            while left > 0:
                block = os.urandom(min(MB, left))
                out.write(block)
                left -= len(block)
        else:
            row = b"12345,Acme Calibration Ltd,GB,ISO/IEC 17025,2026-01-31,active\n"
            out.write(b"id,name,country,standard,expires,status\n")
            left = size - 40
            while left >= len(row):
                n = min(left // len(row), MB // len(row))
                out.write(row * n)
                left -= n * len(row)
            out.write(b"9" * left if left else b"")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=25)
    args = parser.parse_args()
    size = int(args.mb * MB)

    work = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    from flask import Blueprint, request
    from werkzeug.datastructures import FileStorage

    from accreditor import create_app
    from accreditor.cabs.models import Cab
    from accreditor.core.db import commit
    from accreditor.core.tenancy import tenant_scope
    from accreditor.documents.services import store_upload
    from accreditor.extensions import db
    from accreditor.tenants.services import create_tenant

    app = create_app({"ENV": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'b.db'}",
                      "REDIS_URL": None, "STORAGE_DIR": str(work / "files"),
                      "UPLOAD_MAX_BYTES": max(size, 25 * MB),
                      "MAX_CONTENT_LENGTH": max(size, 25 * MB) + MB, "LOG_LEVEL": "ERROR"})
    bp = Blueprint("bench", __name__)

    @bp.post("/bench-upload/<int:tenant_id>/<int:cab_id>")
    def bench_upload(tenant_id: int, cab_id: int):
        with tenant_scope(tenant_id):
            doc = store_upload(request.files["file"], owner_type="application", owner_id=1,
                               cab_id=cab_id)
            commit()
            return {"id": doc.id, "size": doc.size}, 201

    app.register_blueprint(bp)
    with app.app_context():
        db.create_all()
        tenant = create_tenant(slug="bench", name="Bench AB", country="GB")
        commit()
        with tenant_scope(tenant):
            cab = Cab(legal_name="Bench Ltd", country="GB")
            db.session.add(cab)
            commit()
        tenant_id, cab_id = tenant.id, cab.id

    pdf, csv_ = work / "big.pdf", work / "big.csv"
    write_file(pdf, size, "pdf")
    write_file(csv_, size, "csv")

    def via_service(path: Path, name: str) -> Callable[[], object]:
        def run():
            with app.app_context(), tenant_scope(tenant_id), open(path, "rb") as f:
                doc = store_upload(FileStorage(f, filename=name), owner_type="application",
                                   owner_id=1, cab_id=cab_id)
                commit()
                assert doc.size == size
        return run

    # The HTTP case: a multipart body on disk, streamed to a real server thread.
    boundary = "----benchboundary7d1f"
    body = work / "body.bin"
    with open(body, "wb") as out, open(pdf, "rb") as f:
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                  f"filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n".encode())
        while block := f.read(MB):
            out.write(block)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    # wsgiref (stdlib), not Werkzeug's development server: after each response that server
    # drains the socket with rfile.read(10_000_000), a 10 MB buffer of its own that production
    # servers (gunicorn) do not allocate and that would hide what the app uses.
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def via_http():
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=120)
        with open(body, "rb") as f:
            conn.request("POST", f"/bench-upload/{tenant_id}/{cab_id}", body=f, headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(body.stat().st_size)})
        resp = conn.getresponse()
        payload = resp.read()
        assert resp.status == 201, (resp.status, payload[:500])
        conn.close()

    def naive_read():
        with open(pdf, "rb") as f:
            data = f.read()
        io.BytesIO(data).getbuffer()

    print(f"Uploading {size / MB:.1f} MB; target: RSS growth < 50 MB, ratio ≤ 0.1 "
          f"(≤ {0.1 * size / MB:.1f} MB)\n")
    rows = [
        measure("store_upload (PDF)", size, via_service(pdf, "big.pdf")),
        measure("store_upload (CSV, UTF-8 check)", size, via_service(csv_, "big.csv")),
        measure("HTTP multipart → view → service", size, via_http),
        measure("reference: read() + BytesIO copy", size, naive_read),
    ]
    server.shutdown()
    shutil.rmtree(work, ignore_errors=True)
    ok = all(r["rss_growth"] <= 0.1 * size and r["traced_peak"] <= 0.1 * size
             for r in rows[:3])
    print("\nPASS" if ok else "\nFAIL", "(the naive read is a reference, not checked)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
