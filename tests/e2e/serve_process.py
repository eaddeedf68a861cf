"""Starts `genrt serve` as a child process on a free port and waits until it is healthy.
Shared by the OpenAI-client test and the load benchmark."""

import re
import subprocess
import time
import urllib.error
import urllib.request


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
