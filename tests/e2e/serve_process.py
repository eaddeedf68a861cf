"""Starts `genrt serve` as a child process on a free port and waits until it is healthy,
and writes the random-weight models the tests serve. Shared by the Python end-to-end tests
and the load benchmark."""

import re
import subprocess
import time
import urllib.error
import urllib.request


def init_model(genrt, out, preset="tiny", seed=0):
    """`genrt init-model`: a random-weight model of `preset` in `out`, which is returned."""
    subprocess.run([genrt, "init-model", "--preset", preset, "--seed", str(seed), "--out", str(out)], check=True,
                   capture_output=True)
    return out


class GenrtServer:
    def __init__(self, genrt, model, *args):
        self.proc = subprocess.Popen([genrt, "serve", "--model", str(model), "--port", "0", *args],
                                     stderr=subprocess.PIPE, text=True)
        self.port = None
        for line in self.proc.stderr:
            found = re.search(r"listening on http://[\d.]+:(\d+)", line)
            if found:
                self.port = int(found.group(1))
                break
        if self.port is None:
            raise RuntimeError("genrt serve exited before listening")
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health") as r:
                    if r.status == 200:
                        return
            except urllib.error.HTTPError as e:  # 503 while loading
                if e.code != 503:
                    raise
            except urllib.error.URLError:
                pass
            time.sleep(0.05)
        raise RuntimeError("genrt serve did not become healthy within 60 s")

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
