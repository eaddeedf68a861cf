"""Structured output through `genrt serve`, checked by peers: the official `openai` client
sends response_format (its pydantic path included) and the `jsonschema` package validates
every answer. The model has random weights, so only the grammar stands between its
preferences and a valid document: each output must parse and validate, whatever the seed,
however tight max_tokens. Exits 77 (skipped) without the packages.

Usage: python tests/e2e/structured_output_test.py GENRT_BINARY
"""

import concurrent.futures
import json
import sys
import tempfile
from pathlib import Path
from typing import Literal, Optional

sys.path.insert(0, str(Path(__file__).parent))
from serve_process import GenrtServer, init_model  # noqa: E402

try:
    import jsonschema
    import openai
    import pydantic
except ImportError as e:
    print(f"SKIPPED: {e.name} is not installed (pip install openai jsonschema)")
    sys.exit(77)

# One schema of each supported kind.
SCHEMAS = {
    "person": {"type": "object", "additionalProperties": False, "required": ["name", "age", "admin", "score", "note"],
               "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "admin": {"type": "boolean"},
                              "score": {"type": "number"}, "note": {"type": "null"}}},
    "optional_fields": {"type": "object", "required": ["id"],
                        "properties": {"tag": {"type": "string"}, "id": {"type": "integer"},
                                       "extra": {"type": "array", "items": {"type": "integer"}}}},
    "enum_const": {"type": "object", "required": ["color", "version", "mixed"],
                   "properties": {"color": {"enum": ["red", "green", "blue"]}, "version": {"const": 2},
                                  "mixed": {"enum": [1, "one", None, True, {"k": [1]}]}}},
    "bounded_array": {"type": "array", "minItems": 2, "maxItems": 4,
                      "items": {"type": "string", "minLength": 1, "maxLength": 3}},
    "any_of": {"type": "object", "required": ["value"],
               "properties": {"value": {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]},
                              "either": {"type": ["boolean", "array"]}}},
    "nested_defs": {"$defs": {"Point": {"type": "object", "required": ["x", "y"],
                                        "properties": {"x": {"type": "number"}, "y": {"type": "number"}}}},
                    "type": "object", "required": ["points", "origin"],
                    "properties": {"points": {"type": "array", "items": {"$ref": "#/$defs/Point"}, "maxItems": 3},
                                   "origin": {"$ref": "#/$defs/Point"}}},
    "recursive": {"$defs": {"Tree": {"type": "object", "required": ["v", "kids"],
                                     "properties": {"v": {"type": "integer"},
                                                    "kids": {"type": "array", "maxItems": 2,
                                                             "items": {"$ref": "#/$defs/Tree"}}}}},
                  "$ref": "#/$defs/Tree"},
    "map": {"type": "object", "additionalProperties": {"type": "boolean"}},
    "anything": {},
}


class Address(pydantic.BaseModel):
    street: str
    zip: Optional[int]


class Customer(pydantic.BaseModel):
    name: str
    tier: Literal["free", "pro"]
    addresses: list[Address]


def chat(client, schema, seed, max_tokens, **extra):
    return client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "Reply in JSON."}], max_tokens=max_tokens,
        temperature=1.0, seed=seed, n=2,
        response_format={"type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": True}},
        **extra)


def check_schema(client, name, schema, seed):
    # Generous and tight budgets: a tight one makes the grammar close the document early.
    # (64 tokens hold the shortest document of each schema here, at one byte a token.)
    for max_tokens in (200, 64):
        for choice in chat(client, schema, seed, max_tokens).choices:
            doc = json.loads(choice.message.content)
            jsonschema.validate(doc, schema)
            assert choice.finish_reason in ("stop", "length"), choice.finish_reason
    return name


def main():
    genrt = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "tiny"
        init_model(genrt, model, seed=5)
        with GenrtServer(genrt, model) as server:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="none")

            # Every kind of schema, several requests at once (the masks batch with each other).
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                jobs = [pool.submit(check_schema, client, name, schema, seed)
                        for seed, (name, schema) in enumerate(SCHEMAS.items())]
                for job in jobs:
                    print("valid:", job.result())

            # json_object mode, streamed: the deltas make one object.
            pieces = []
            for chunk in client.chat.completions.create(
                    model="tiny", messages=[{"role": "user", "content": "JSON please"}], max_tokens=64, seed=1,
                    response_format={"type": "json_object"}, stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
            assert isinstance(json.loads("".join(pieces)), dict), pieces

            # The client's pydantic path: a strict schema with $defs, anyOf for Optional, enums.
            parsed = client.chat.completions.parse(
                model="tiny", messages=[{"role": "user", "content": "A customer"}], response_format=Customer,
                max_tokens=160, seed=3)
            customer = parsed.choices[0].message.parsed
            assert isinstance(customer, Customer) and customer.tier in ("free", "pro"), parsed

            # What genrt cannot enforce is refused, naming the keyword and where it is.
            try:
                chat(client, {"type": "object", "properties": {"age": {"type": "integer", "minimum": 0}}}, 0, 8)
                raise AssertionError("an unsupported keyword was accepted")
            except openai.BadRequestError as e:
                assert "#/properties/age: 'minimum' is not supported" in str(e), e
                assert e.body["param"] == "response_format", e.body
            try:
                client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}],
                                               response_format={"type": "yaml"})
                raise AssertionError("an unknown response format was accepted")
            except openai.BadRequestError as e:
                assert "not one of text, json_object, json_schema" in str(e), e
    print("structured output: all checks passed")


if __name__ == "__main__":
    main()
