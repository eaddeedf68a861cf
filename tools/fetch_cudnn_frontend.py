"""Fetches the headers of NVIDIA's cudnn-frontend (a header-only C++ API over cuDNN's graph
API) from its PyPI wheel into third_party/cudnn_frontend/include, for the cuDNN SDPA
benchmark peer. Downloads with pip from a throwaway virtual environment; does nothing when
the headers are already there.

Usage: python3 tools/fetch_cudnn_frontend.py [--version 1.32.0] [--dest third_party/cudnn_frontend]
"""

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", default="1.32.0")
    ap.add_argument("--dest", default=str(ROOT / "third_party" / "cudnn_frontend"))
    args = ap.parse_args()
    dest = Path(args.dest)
    if (dest / "include" / "cudnn_frontend.h").exists():
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        venv, wheels = Path(tmp) / "venv", Path(tmp) / "wheels"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        # Every wheel carries the same headers; ask for a Linux x86-64 one whatever this Python is.
        subprocess.run([str(venv / "bin" / "pip"), "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "-d", str(wheels),
                        f"nvidia-cudnn-frontend=={args.version}"], check=True)
        wheel = next(wheels.glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            headers = [n for n in z.namelist() if n.startswith("include/")]
            z.extractall(dest, headers)
    (dest / "VERSION").write_text(f"nvidia-cudnn-frontend {args.version} ({wheel.name})\n")
    print(f"cudnn-frontend {args.version}: {len(headers)} headers in {dest / 'include'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
