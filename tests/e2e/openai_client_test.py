"""genrt serve checked by a peer: the official `openai` Python client (PyPI) talks to it
over HTTP. Exits 77 (reported as skipped by CTest) when the package is not installed.

Usage: python tests/e2e/openai_client_test.py GENRT_BINARY
"""

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from serve_process import GenrtServer, init_model  # noqa: E402

try:
    import openai
except ImportError:
    print("SKIPPED: the openai package is not installed (pip install openai)")
    sys.exit(77)


def main():
    genrt = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "tiny"
        init_model(genrt, model, seed=3)
        # No --served-model-name: the model is served under its directory's name.
        with GenrtServer(genrt, str(model) + "/", "--api-key", "test-key") as server:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="test-key")

            models = client.models.list()
            assert [m.id for m in models.data] == ["tiny"], models

            done = client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=12, temperature=0,
                                              extra_body={"ignore_eos": True})
            assert done.usage.completion_tokens == 12, done.usage
            assert done.choices[0].finish_reason == "length"
            streamed = "".join(c.choices[0].text for c in client.completions.create(
                model="tiny", prompt="Once upon a time", max_tokens=12, temperature=0, stream=True,
                extra_body={"ignore_eos": True}) if c.choices)
            assert streamed == done.choices[0].text, (streamed, done.choices[0].text)

            chat = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi!"}],
                                                  max_tokens=8, temperature=0, logprobs=True, top_logprobs=2,
                                                  extra_body={"ignore_eos": True})
            assert chat.choices[0].message.role == "assistant"
            assert len(chat.choices[0].logprobs.content) == 8
            pieces = []
            for chunk in client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi!"}],
                                                        max_tokens=8, temperature=0, stream=True,
                                                        stream_options={"include_usage": True},
                                                        extra_body={"ignore_eos": True}):
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                if chunk.usage:
                    assert chunk.usage.completion_tokens == 8
            assert "".join(pieces) == chat.choices[0].message.content

            # The same conversation again finds its prompt's full blocks in the prefix cache.
            usages = [client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi!" * 20}],
                                                     max_tokens=1).usage for _ in range(2)]
            assert usages[1].prompt_tokens_details.cached_tokens >= 16, usages

            # The sampling fields, as the client sends them.
            biased = client.completions.create(model="tiny", prompt=["Once upon a time", "The robot"], max_tokens=3,
                                               temperature=0, logit_bias={"7": 100}, presence_penalty=0.5,
                                               frequency_penalty=0.5, echo=True, extra_body={"ignore_eos": True})
            assert len(biased.choices) == 2 and biased.choices[0].text.startswith("Once upon a time"), biased
            assert biased.usage.completion_tokens == 6, biased.usage

            try:
                client.completions.create(model="tiny", prompt=[5] * 512, max_tokens=1)
                raise AssertionError("a prompt of the whole context was accepted")
            except openai.BadRequestError as e:
                assert "context" in str(e), e
            try:
                openai.OpenAI(base_url=server.url + "/v1", api_key="wrong").models.list()
                raise AssertionError("a wrong key was accepted")
            except openai.AuthenticationError:
                pass
    print("openai client: all checks passed")


if __name__ == "__main__":
    main()
