"""Tool calls through `genrt serve`, checked by peers: the official `openai` client sends
tools and tool_choice, and the `jsonschema` package validates every call's arguments
against its function's parameters. The model has random weights, so a required or named
call is the grammar's work alone: each must come back as message.tool_calls (or as
streamed delta.tool_calls, which the client's stream accumulates) and validate. A whole
round trip (the call and its result sent back) is rendered and answered. Exits 77
(skipped) without the packages.

Usage: python tests/e2e/tool_calls_test.py GENRT_BINARY
"""

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from serve_process import GenrtServer, init_model  # noqa: E402

try:
    import jsonschema
    import openai
except ImportError as e:
    print(f"SKIPPED: {e.name} is not installed (pip install openai jsonschema)")
    sys.exit(77)

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "The current weather in a city",
        "parameters": {"type": "object", "additionalProperties": False, "required": ["city", "unit"],
                       "properties": {"city": {"type": "string", "maxLength": 12},
                                      "unit": {"enum": ["celsius", "fahrenheit"]},
                                      "days": {"type": "array", "items": {"type": "integer"}, "maxItems": 3}}}}},
    {"type": "function", "function": {
        "name": "book_table", "description": "Books a table",
        "parameters": {"type": "object", "required": ["guests", "vegan"],
                       "properties": {"guests": {"type": "integer"}, "vegan": {"type": "boolean"},
                                      "note": {"anyOf": [{"type": "string", "maxLength": 8}, {"type": "null"}]}}}}},
]
PARAMETERS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
MESSAGES = [{"role": "user", "content": "Is it raining in Lyon?"}]


def check_calls(calls, only=None):
    assert calls, "no tool call"
    for call in calls:
        assert call.type == "function" and call.id, call
        assert only is None or call.function.name == only, call
        jsonschema.validate(json.loads(call.function.arguments), PARAMETERS[call.function.name])


def main():
    genrt = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "tiny"
        init_model(genrt, model, seed=3)
        # Tool prompts are long and the tiny vocabulary spends a token on almost every byte.
        config = json.loads((model / "config.json").read_text())
        config["max_position_embeddings"] = 4096
        (model / "config.json").write_text(json.dumps(config))
        for template in ("chatml", "llama3.1", "mistral-v3"):
            with GenrtServer(genrt, model, "--chat-template", template) as server:
                client = openai.OpenAI(base_url=server.url + "/v1", api_key="none")
                for seed in range(3):
                    r = client.chat.completions.create(model="tiny", messages=MESSAGES, tools=TOOLS,
                                                       tool_choice="required", max_tokens=150, seed=seed, n=2)
                    for choice in r.choices:
                        assert choice.finish_reason == "tool_calls", choice
                        check_calls(choice.message.tool_calls)
                named = client.chat.completions.create(
                    model="tiny", messages=MESSAGES, tools=TOOLS, max_tokens=150, seed=7,
                    tool_choice={"type": "function", "function": {"name": "book_table"}})
                check_calls(named.choices[0].message.tool_calls, only="book_table")

                # Streamed: the client's accumulated deltas are the calls.
                calls, finish = {}, None
                for chunk in client.chat.completions.create(model="tiny", messages=MESSAGES, tools=TOOLS,
                                                            tool_choice="required", max_tokens=150, seed=11,
                                                            stream=True):
                    for delta_call in chunk.choices[0].delta.tool_calls or []:
                        calls[delta_call.index] = delta_call
                    finish = chunk.choices[0].finish_reason or finish
                assert finish == "tool_calls", finish
                check_calls([calls[i] for i in sorted(calls)])

                # The round trip: the call and its result go back, and the model answers.
                call = named.choices[0].message.tool_calls[0]
                answer = client.chat.completions.create(
                    model="tiny", tools=TOOLS, max_tokens=8, seed=1,
                    messages=MESSAGES + [named.choices[0].message.model_dump(exclude_none=True),
                                         {"role": "tool", "tool_call_id": call.id, "content": "Booked."}])
                assert answer.choices[0].message.content is not None or answer.choices[0].message.tool_calls, answer
                print(f"{template}: required, named, streamed and round-trip calls valid")

        # A template without tools refuses them, naming the field.
        with GenrtServer(genrt, model, "--chat-template", "gemma") as server:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="none")
            try:
                client.chat.completions.create(model="tiny", messages=MESSAGES, tools=TOOLS)
                raise AssertionError("tools were accepted by a template without them")
            except openai.BadRequestError as e:
                assert e.body["param"] == "tools" and "defines no tools" in str(e), e
    print("tool calls: all checks passed")


if __name__ == "__main__":
    main()
