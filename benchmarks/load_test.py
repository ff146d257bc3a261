"""Load test of `graphrec serve` on loopback: latency percentiles, throughput, errors, server peak RSS.

    .venv/bin/python benchmarks/load_test.py [--model DIR] [--requests 500] [--concurrency 8] [--slow-clients 12]
        [--modes unbatched-torch,batched]

Starts the server as a subprocess on 127.0.0.1 (a free port), waits for /healthz, sends ``--requests``
POST /recommend uploads from ``--concurrency`` client threads (stopping early at ``--max-seconds``),
reads the server's peak RSS (VmHWM, Linux) and stops it. With ``--slow-clients N`` it first opens N
connections that send half a request and wait (the probe of issue 16), and reports when the server
closed them (its header timeout, 10 s by default), waiting up to 15 s after the load for that. The result is printed as one JSON line (the
last line of output) and appended to benchmarks/results/load_test.jsonl. Never leaves loopback.

``--modes`` runs the same load against several server set-ups one after the other, in the same run,
and reports each with its ratios to the first (the reference): ``unbatched-torch`` is the service
as it was before issue 15 (each request alone, EfficientNet-Lite0 in torch: ``--batch-size 1`` and
``GRAPHREC_FEATURIZER_BACKEND=torch``), ``unbatched`` the same with the default backend, ``batched``
the default service (micro-batching, ONNX Runtime on a CPU). One mode alone gives the old output.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from _results import save_result

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "load_test.jsonl"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def payloads(count: int, seed: int) -> list[tuple[str, bytes, str]]:
    """The shipped sample photos plus generated photo-like JPEGs (smooth gradients + noise), in memory."""
    from PIL import Image

    out: list[tuple[str, bytes, str]] = []
    for path in sorted((ROOT / "data" / "samples").glob("*.jpg")):
        out.append((path.name, path.read_bytes(), "image/jpeg"))
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    while len(out) < count:
        a, b, c = rng.uniform(0, 255, size=(3, 3))
        image = (a[None, None] + (b - a)[None, None] * (yy / 480)[..., None] + (c - a)[None, None] * (xx / 640)[..., None])
        image += rng.normal(0, 12, size=image.shape)
        buffer = io.BytesIO()
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB").save(buffer, "JPEG", quality=85)
        out.append((f"generated-{len(out)}.jpg", buffer.getvalue(), "image/jpeg"))
    return out[:count]


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def open_slow_clients(port: int, count: int, done: threading.Event) -> tuple[list[socket.socket], list[float | None]]:
    """``count`` connections that send half a request line and wait; a thread each notes when the server
    closes it (before ``done`` is set: after that, the close is our own)."""
    sockets: list[socket.socket] = []
    closed_after: list[float | None] = [None] * count

    def watch(i: int, sock: socket.socket, opened: float) -> None:
        try:
            while sock.recv(4096):
                pass
        except OSError:  # a reset, or our own close at the end
            pass
        if not done.is_set():
            closed_after[i] = round(time.monotonic() - opened, 2)

    for i in range(count):
        sock = socket.create_connection((HOST, port), timeout=None)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: load-test\r\nX-Slow: ")
        sockets.append(sock)
        threading.Thread(target=watch, args=(i, sock, time.monotonic()), daemon=True).start()
    return sockets, closed_after


def wait_healthy(base: str, proc: subprocess.Popen, timeout: float) -> dict:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode} before it was ready")
        try:
            response = httpx.get(base + "/healthz", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server was not ready within {timeout:.0f} s")


MODES: dict[str, tuple[list[str], dict[str, str]]] = {
    "unbatched-torch": (["--batch-size", "1"], {"GRAPHREC_FEATURIZER_BACKEND": "torch"}),
    "unbatched": (["--batch-size", "1"], {}),
    "batched": ([], {}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="model directory (default: $GRAPHREC_MODEL or the demo model)")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop sending after this long")
    parser.add_argument("--k", type=int, help="songs per request (default: the model's)")
    parser.add_argument("--images", type=int, default=16, help="distinct images to cycle through")
    parser.add_argument("--startup-timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slow-clients", type=int, default=0, help="connections that send half a request and wait (0..32)")
    parser.add_argument("--modes", default="batched", help=f"comma-separated server set-ups, the first the reference: {', '.join(MODES)}")
    parser.add_argument("--no-save", action="store_true", help=f"do not append to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        parser.error(f"--modes takes names from {', '.join(MODES)}, got {args.modes!r}")
    if not 1 <= args.requests <= 100_000 or not 1 <= args.concurrency <= 64 or not 0 <= args.slow_clients <= 32:
        parser.error("--requests must be in 1..100000, --concurrency in 1..64 and --slow-clients in 0..32")

    if args.model is None:
        from graphrec.api import default_model_path

        args.model = default_model_path()
    results = {}
    for mode in modes:
        result = run_once(args, *MODES[mode])
        if result is None:
            return 1
        result["mode"] = mode
        results[mode] = result
        print(json.dumps(result, ensure_ascii=False), file=sys.stderr, flush=True)
    if len(modes) == 1:
        result = results[modes[0]]
    else:
        reference = results[modes[0]]
        result = {
            "benchmark": "load_test_modes",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "reference": modes[0],
            "note": "one run, modes one after the other on the same machine (2 cores, shared with other work)",
            "modes": results,
            "ratios": {
                mode: {
                    "requests_per_s_vs_reference": round(r["requests_per_s"] / reference["requests_per_s"], 2),
                    "p99_over_p50": round(r["latency_ms"]["p99"] / r["latency_ms"]["p50"], 2),
                    "errors": r["errors"],
                }
                for mode, r in results.items()
            },
        }
    save_result(RESULTS, result, save=not args.no_save)
    return 0 if all(r["errors"] == 0 and r["requests"] == args.requests for r in results.values()) else 1


def run_once(args: argparse.Namespace, server_args: list[str], env: dict[str, str]) -> dict | None:
    """One server with ``server_args`` and ``env``, one load; the result, or None when the server did not start."""
    import httpx

    port = free_port()
    base = f"http://{HOST}:{port}"
    cmd = [
        sys.executable, "-m", "graphrec.cli", "--no-progress", "serve",
        "--model", str(args.model), "--host", HOST, "--port", str(port), *server_args,
    ]
    server_log = open(os.devnull, "wb")
    proc = subprocess.Popen(cmd, stdout=server_log, stderr=subprocess.PIPE, env={**os.environ, "GRAPHREC_NO_PROGRESS": "1", **env})
    stderr_tail: list[bytes] = []
    drain = threading.Thread(target=lambda: stderr_tail.extend(proc.stderr or []), daemon=True)
    drain.start()
    try:
        try:
            health = wait_healthy(base, proc, args.startup_timeout)
        except RuntimeError as exc:
            sys.stderr.write(b"".join(stderr_tail[-30:]).decode(errors="replace"))
            print(f"load_test: {exc}", file=sys.stderr)
            return None
        rss_idle = peak_rss_mb(proc.pid)
        images = payloads(args.images, args.seed)
        slow_done = threading.Event()
        slow_sockets, slow_closed_after = open_slow_clients(port, args.slow_clients, slow_done)
        latencies = np.zeros(args.requests, dtype=np.float64)
        statuses = np.zeros(args.requests, dtype=np.int32)  # 0 = not sent (time limit) or transport error
        counter = iter(range(args.requests))
        lock = threading.Lock()
        deadline = time.monotonic() + args.max_seconds

        def worker() -> None:
            client = httpx.Client(base_url=base, timeout=60)
            try:
                while time.monotonic() < deadline:
                    with lock:
                        i = next(counter, None)
                    if i is None:
                        return
                    name, data, ctype = images[i % len(images)]
                    start = time.perf_counter()
                    try:
                        response = client.post("/recommend", files={"file": (name, data, ctype)}, params={} if args.k is None else {"k": args.k})
                        body = response.json() if response.status_code == 200 else {}
                        wanted = min(args.k or health["model"]["default_k"], health["model"]["songs"])
                        # a full list, or none with the message that the photo gave no evidence (the generated
                        # gradients show nothing songs sing of): anything else is a wrong answer (599)
                        ok = response.status_code == 200 and (
                            len(body["songs"]) == wanted or (not body["songs"] and bool(body.get("message")))
                        )
                        statuses[i] = response.status_code if ok or response.status_code != 200 else 599
                    except httpx.HTTPError:
                        statuses[i] = -1
                    latencies[i] = time.perf_counter() - start
            finally:
                client.close()

        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            for future in [pool.submit(worker) for _ in range(args.concurrency)]:
                future.result()
        seconds = time.perf_counter() - started
        rss_peak = peak_rss_mb(proc.pid)
        wait_until = time.monotonic() + (15.0 if args.slow_clients else 0.0)  # the server's header timeout is 10 s
        while time.monotonic() < wait_until and None in slow_closed_after:
            time.sleep(0.1)
        slow_done.set()
        for sock in slow_sockets:
            sock.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server_log.close()

    sent = statuses != 0
    ok = statuses == 200
    lat_ms = latencies[sent] * 1000
    codes: dict[str, int] = {}
    for code in statuses[sent & ~ok]:
        codes[str(int(code))] = codes.get(str(int(code)), 0) + 1

    def pct(q: float) -> float | None:
        return round(float(np.percentile(lat_ms, q)), 2) if len(lat_ms) else None

    result = {
        "benchmark": "load_test",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": str(args.model),
        "featurizer": health["featurizer"]["name"],
        "songs": health["model"]["songs"],
        "images_in_model": health["model"]["images"],
        "requests": int(sent.sum()),
        "requested": args.requests,
        "concurrency": args.concurrency,
        "k": args.k,
        "ok": int(ok.sum()),
        "errors": int((sent & ~ok).sum()),
        "error_statuses": codes,
        "seconds": round(seconds, 3),
        "requests_per_s": round(int(sent.sum()) / seconds, 2) if seconds > 0 else None,
        "latency_ms": {"p50": pct(50), "p95": pct(95), "p99": pct(99), "mean": round(float(lat_ms.mean()), 2) if len(lat_ms) else None, "max": round(float(lat_ms.max()), 2) if len(lat_ms) else None},
        "slow_clients": args.slow_clients,
        "slow_clients_closed_by_server": sum(t is not None for t in slow_closed_after),
        "slow_clients_closed_after_s_max": max((t for t in slow_closed_after if t is not None), default=None),
        "server_rss_mb_after_start": rss_idle,
        "server_peak_rss_mb": rss_peak,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    result["server_env"] = env
    result["server_args"] = server_args
    return result


if __name__ == "__main__":
    sys.exit(main())
