"""Start and stop the gunicorn the HTTP benchmarks measure (127.0.0.1 only)."""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start(*, port, workers, env, log, timeout=60):
    """gunicorn with config/gunicorn.py, returned once /readyz answers 200."""
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--config", "config/gunicorn.py",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "config.wsgi"],
        cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {proc.returncode}")
        # The proxy header keeps production settings from redirecting the probe to HTTPS.
        request = urllib.request.Request(f"http://127.0.0.1:{port}/readyz",
                                         headers={"X-Forwarded-Proto": "https"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    stop(proc)
    raise RuntimeError(f"gunicorn was not ready within {timeout} s")


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
