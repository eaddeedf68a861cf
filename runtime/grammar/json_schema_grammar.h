#pragma once
// JSON Schema to GBNF: structured output's grammar.
//
// The supported subset, which covers what OpenAI's strict mode and pydantic produce:
// - type: object, array, string, number, integer, boolean, null, or a list of them;
// - object: properties (written in their order), required (a property not required may be
//   left out), additionalProperties false, true or absent (only the listed properties are
//   written), or a schema when there are no properties (a map of such values);
// - array: items, minItems, maxItems;
// - string: minLength, maxLength;
// - enum, const (any JSON values), anyOf, allOf of one schema, $ref to "#", "#/$defs/..."
//   or "#/definitions/..." (recursive schemas included), the empty schema (any value);
// - annotations, which constrain nothing: title, description, default, examples,
//   $schema, $id, $comment, deprecated, readOnly, writeOnly, $defs, definitions.
// Any other keyword is refused, naming it and where it is: a keyword that is not
// enforced would be a schema the output need not follow.
//
// Whitespace between tokens is allowed, a few characters at most (so pretty-printed
// output passes and a model cannot spend its tokens on blanks). A number's exponent has at
// most two digits, so every number is a finite double.

#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace genrt::grammar {

// The grammar of the JSON values `schema` accepts, a little whitespace before them.
// Throws genrt::Error naming the unsupported keyword or malformed value and its place
// ("#/properties/age: 'minimum' is not supported"). Ordered JSON: the properties are
// written in the order the schema lists them, as OpenAI's strict mode writes them.
std::string json_schema_gbnf(const nlohmann::ordered_json& schema);

// Several schemas in one grammar (a tool call's arguments, one schema per tool): the
// values of each schema are the rule `rule` (distinct names of letters, digits and '-'),
// which the grammar's root expression `root` uses. Throws as json_schema_gbnf, the message
// starting with the rule of the schema at fault.
struct NamedSchema {
  std::string rule;
  const nlohmann::ordered_json* schema;
};
std::string json_schemas_gbnf(std::string_view root, std::span<const NamedSchema> schemas);

// `bytes` as a GBNF string literal.
std::string gbnf_literal(std::string_view bytes);

// Any JSON object (OpenAI's "json_object" response format).
std::string json_object_gbnf();

}  // namespace genrt::grammar
