"""The Python binding (python/genrt) over the C API, on the shared library of the build.

Usage: python tests/python/test_binding.py LIBGENRT_SO GENRT_BINARY SHARED_DIR
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ["GENRT_LIBRARY"] = sys.argv[1]
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
import genrt  # noqa: E402


def main():
    genrt_bin, shared = sys.argv[2], Path(sys.argv[3])
    assert genrt.version().count(".") == 2

    # stories260K: ids in, greedy continuation out, cancellation from the callback.
    stories = genrt.Model(shared / "models" / "stories260K.bin")
    full = stories.generate([1], max_tokens=16, temperature=0)
    assert len(full.tokens) == 16 and full.finish_reason == "length", full
    seen = []
    cut = stories.generate([1], max_tokens=16, temperature=0, on_token=lambda t, _: seen.append(t) or len(seen) >= 4)
    assert cut.tokens == full.tokens[:4] and cut.finish_reason == "cancelled", cut
    try:
        stories.generate([1], top_p=0)
        raise AssertionError("top_p=0 was accepted")
    except genrt.GenrtError as e:
        assert e.status == 1 and "top_p" in str(e), e
    stories.close()
    try:
        stories.close()  # the second free is refused by the C API, not a crash
    except genrt.GenrtError:
        pass

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([genrt_bin, "init-model", "--preset", "tiny", "--out", tmp, "--log-level", "error"], check=True,
                       capture_output=True)
        with genrt.Model(tmp) as model:
            ids = model.tokenize("Once upon a time")
            assert ids[0] == 0 and model.detokenize(ids) == "Once upon a time", ids
            out = model.generate("Hello", max_tokens=8, temperature=0, ignore_eos=True)
            assert len(out.tokens) == 8 and isinstance(out.text, str)
            # Structured output: a random model's text is a document of the schema.
            schema = {"type": "object", "properties": {"tags": {"type": "array", "items": {"enum": ["a", "b"]}}},
                      "required": ["tags"]}
            doc = json.loads(model.generate("JSON:", max_tokens=60, seed=2, json_schema=schema).text)
            assert set(doc) == {"tags"} and set(doc["tags"]) <= {"a", "b"}, doc
            assert model.generate("?", grammar='root ::= "ok"').text == "ok"
    try:
        genrt.Model("/nonexistent")
        raise AssertionError("loading a missing model succeeded")
    except genrt.GenrtError as e:
        assert e.status == 2 and "does not exist" in str(e)
    # A DiT pipeline: shapes, cancellation from the step callback, errors with messages.
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([genrt_bin, "init-model", "--arch", "dit", "--preset", "tiny", "--out", tmp, "--log-level",
                        "error"], check=True, capture_output=True)
        with genrt.DiffusionModel(tmp) as dit:
            out = dit.diffuse([207, 3], steps=2, scheduler="euler", seed=1)
            assert out.shape == [2, 4, 32, 32] and len(out.latents) == 2 * 4 * 32 * 32 and out.steps_done == 2, out.shape
            steps = []
            cut = dit.diffuse([207], steps=5, on_step=lambda step, total, t, s: steps.append(step) or step >= 2)
            assert cut.cancelled and cut.steps_done == 2 and steps == [1, 2], (cut.steps_done, steps)
            try:
                dit.diffuse([1000], steps=2)
                raise AssertionError("class 1000 was accepted")
            except genrt.GenrtError as e:
                assert e.status == 1 and "class label 1000" in str(e), e
    # A Stable Diffusion pipeline: images as RGB bytes, cancellation, errors with messages.
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([genrt_bin, "init-model", "--arch", "sd", "--preset", "tiny", "--out", tmp, "--log-level",
                        "error"], check=True, capture_output=True)
        with genrt.DiffusionModel(tmp) as sd:
            out = sd.txt2img("a red cube", steps=2, scheduler="euler-a", seed=3, n_images=2, width=32, height=16)
            assert (out.width, out.height, out.steps_done) == (32, 16, 2) and len(out.images) == 2, out
            assert all(len(image) == 32 * 16 * 3 for image in out.images) and out.images[0] != out.images[1]
            again = sd.txt2img("a red cube", steps=2, scheduler="euler-a", seed=3, n_images=2, width=32, height=16)
            assert again.images == out.images, "the same seed gave other images"
            edited = sd.txt2img("a blue cube", steps=4, seed=3, init_image=(32, 16, out.images[0]), strength=0.5)
            assert (edited.width, edited.height, edited.steps_done) == (32, 16, 2), edited
            try:
                sd.txt2img("a blue cube", init_image=(32, 16, out.images[0][:-3]))
                raise AssertionError("a short init image was accepted")
            except ValueError as e:
                assert "32x16 RGB needs 1536" in str(e), e
            try:
                sd.txt2img("a blue cube", strength=0.5)
                raise AssertionError("strength without an init image was accepted")
            except ValueError as e:
                assert "give init_image" in str(e), e
            cut = sd.txt2img("a red cube", steps=5, on_step=lambda step, total, t, s: step >= 1)
            assert cut.cancelled and cut.steps_done == 1 and cut.images == [], cut
            try:
                sd.txt2img("a red cube", width=30)
                raise AssertionError("width 30 was accepted")
            except genrt.GenrtError as e:
                assert "image size 30x64" in str(e), e
            try:
                sd.diffuse([1], steps=2)
                raise AssertionError("diffuse ran on a text-to-image pipeline")
            except genrt.GenrtError as e:
                assert "use txt2img" in str(e), e
    print("python binding: all checks passed")


if __name__ == "__main__":
    main()
