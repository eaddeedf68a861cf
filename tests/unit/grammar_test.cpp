// The grammar layer of constrained decoding: GBNF, the byte-level recognizer, JSON Schema
// to GBNF, and token masks over a real vocabulary.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "runtime/core/error.h"
#include "runtime/core/utf8.h"
#include "runtime/grammar/gbnf.h"
#include "runtime/grammar/grammar_states.h"
#include "runtime/grammar/json_schema_grammar.h"
#include "runtime/grammar/token_grammar.h"
#include "runtime/grammar/utf8_ranges.h"
#include "runtime/tokenizer/load_tokenizer.h"
#include "tests/test_util.h"

namespace genrt::grammar {
namespace {

using json = nlohmann::ordered_json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::shared_ptr<const Grammar> gbnf(std::string_view text) { return std::make_shared<const Grammar>(parse_gbnf(text)); }

bool matches(GrammarStates& states, std::string_view text) {
  const StateId s = states.advance(states.start(), text);
  return s != kDeadState && states.accepts(s);
}

bool is_prefix(GrammarStates& states, std::string_view text) { return states.advance(states.start(), text) != kDeadState; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- UTF-8 ranges ----

bool sequence_matches(const ByteRangeSequence& s, std::string_view bytes) {
  if (s.size() != bytes.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    if (b < s[i].lo || b > s[i].hi) return false;
  }
  return true;
}

// Exact: every code point of the range has its encoding matched by one sequence, and the
// sequences match no more byte strings than the range has code points (encodings are
// distinct, so no string outside the range is matched).
TEST(Utf8Ranges, SequencesSpellExactlyTheRangesEncodings) {
  const std::pair<char32_t, char32_t> ranges[] = {{0x80, 0x7FF},   {0x41, 0x10FFFF}, {0x7F, 0x80},    {0x800, 0xFFFF},
                                                  {0xD7FF, 0xE000}, {0x1234, 0x5678}, {0x10000, 0x10FFFF},
                                                  {0xFFFF, 0x10000}, {0x3A9, 0x3A9}};
  for (const auto& [lo, hi] : ranges) {
    const std::vector<ByteRangeSequence> sequences = utf8_byte_ranges(lo, hi);
    uint64_t matched = 0;
    for (const ByteRangeSequence& s : sequences) {
      uint64_t product = 1;
      for (const ByteRange& r : s) product *= static_cast<uint64_t>(r.hi - r.lo + 1);
      matched += product;
    }
    uint64_t code_points = 0;
    for (char32_t c = lo; c <= hi; ++c) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      ++code_points;
      if (c % 97 != 0 && c != lo && c != hi) continue;  // a sample of the encodings
      std::string bytes;
      append_utf8(bytes, c);
      const auto n = std::count_if(sequences.begin(), sequences.end(),
                                   [&](const ByteRangeSequence& s) { return sequence_matches(s, bytes); });
      ASSERT_EQ(n, 1) << "U+" << std::hex << static_cast<uint32_t>(c);
    }
    EXPECT_EQ(matched, code_points) << std::hex << static_cast<uint32_t>(lo) << ".." << static_cast<uint32_t>(hi);
  }
}

// ---- GBNF and the recognizer ----

TEST(Gbnf, LiteralsClassesGroupsAndRepetitions) {
  GrammarStates g(gbnf(R"(
    root ::= greeting ", " name ("!" | "?"){1,2}   # a comment
    greeting ::= "hello" | "hi"
    name ::= [A-Z] [a-z]*
  )"));
  EXPECT_TRUE(matches(g, "hello, Ada!"));
  EXPECT_TRUE(matches(g, "hi, B?!"));
  EXPECT_FALSE(matches(g, "hi, B"));       // the repetition's minimum
  EXPECT_FALSE(matches(g, "hi, B!!!"));    // and its maximum
  EXPECT_FALSE(matches(g, "hi, ada!"));
  EXPECT_TRUE(is_prefix(g, "hel"));
  EXPECT_FALSE(is_prefix(g, "help"));
}

TEST(Gbnf, ClassesMatchCharactersAsUtf8) {
  GrammarStates g(gbnf(R"(root ::= [^"\\a-z]+ "é" . [\u00e0-\u00ff\U0001F600])"));
  EXPECT_TRUE(matches(g, "ÀB€é😀é"));
  EXPECT_TRUE(matches(g, "Zéaé"));
  EXPECT_FALSE(matches(g, "Z\"éaé"));
  EXPECT_FALSE(matches(g, "abéaé"));
  GrammarStates quote(gbnf(R"(root ::= [^"\\]+)"));
  EXPECT_TRUE(matches(quote, "日本語 text"));
  EXPECT_FALSE(is_prefix(quote, "x\""));
  EXPECT_FALSE(is_prefix(quote, "\xC3\x28"));  // invalid UTF-8: a lead byte without its continuation
  EXPECT_FALSE(is_prefix(quote, "\xED\xA0\x80"));  // a surrogate, which UTF-8 never encodes
  GrammarStates any(gbnf("root ::= .{3}"));
  EXPECT_TRUE(matches(any, "a€😀"));
  EXPECT_FALSE(matches(any, "ab"));
}

TEST(Gbnf, RepetitionsKeepTheStatesFew) {
  GrammarStates g(gbnf(R"(root ::= "[" ("a" | "b")* "]")"));
  const std::string text = "[" + std::string(10000, 'a') + "]";
  EXPECT_TRUE(matches(g, text));
  // Right recursion as tail calls: the same state after every letter.
  EXPECT_LT(g.state_count(), 8u);
}

TEST(Gbnf, MinimumBytesToAccept) {
  GrammarStates g(gbnf(R"(root ::= "{" item ("," item)* "}"
                          item ::= "abc" | "d")"));
  EXPECT_EQ(g.min_bytes_to_accept(g.start()), 3);  // "{d}"
  EXPECT_EQ(g.min_bytes_to_accept(g.advance(g.start(), "{a")), 3);  // "bc}"
  EXPECT_EQ(g.min_bytes_to_accept(g.advance(g.start(), "{d")), 1);
  EXPECT_EQ(g.min_bytes_to_accept(g.advance(g.start(), "{d}")), 0);
  EXPECT_FALSE(g.can_continue(g.advance(g.start(), "{d}")));
}

TEST(Gbnf, ErrorsNameTheLineAndTheRule) {
  const auto parse = [](std::string_view text) { return error_of([&] { parse_gbnf(text); }); };
  EXPECT_EQ(parse("root ::= item"), "grammar: rule 'item' is used but never defined");
  EXPECT_EQ(parse("item ::= \"x\""), "grammar: the start rule 'root' is not defined");
  EXPECT_EQ(parse("root ::= \"x\"\nroot ::= \"y\""), "grammar: line 2, column 10: rule 'root' is defined twice");
  EXPECT_EQ(parse("root ::= \"abc"), "grammar: line 1, column 14: unterminated literal");
  EXPECT_EQ(parse("root ::= [a-"), "grammar: line 1, column 13: unterminated character class");
  EXPECT_EQ(parse("root ::= \"\\q\""), "grammar: line 1, column 12: unknown escape '\\q'");
  EXPECT_EQ(parse("root = \"x\""), "grammar: line 1, column 6: expected '::=' after the rule name 'root'");
  EXPECT_EQ(parse("root ::= \"x\"{3,1}"), "grammar: line 1, column 17: repetition {3,1} has its maximum below its minimum");
  EXPECT_EQ(parse("root ::= \"x\"{99999}"), "grammar: line 1, column 19: repetition count 99999 is over 4096");
  EXPECT_EQ(parse("root ::= [z-a]"), "grammar: line 1, column 14: character range U+7A-U+61 is backwards");
  EXPECT_EQ(parse("root ::= ( \"x\""), "grammar: line 1, column 15: expected ')' to close a group");
  EXPECT_EQ(parse("root ::= " + std::string(100, '(')), "grammar: line 1, column 74: parentheses nest deeper than 64");
  EXPECT_THAT(parse("root ::= list\nlist ::= list \",\" \"x\" | \"x\""), HasSubstr("rule 'list' is left-recursive"));
  EXPECT_THAT(parse("root ::= \"a\"? root \"b\" | \"c\""), HasSubstr("rule 'root' is left-recursive"));
  EXPECT_EQ(parse("root ::= \"a\" root"),
            "grammar: rule 'root' matches no finite text (each of its alternatives refers back to it)");
  std::string huge = "root ::=";
  for (int i = 0; i < 200; ++i) huge += " \"ab\"{4096}";  // 200 * 4096 * 2 symbols
  EXPECT_EQ(parse(huge), "grammar: over 1048576 symbols once its repetitions are spelled out");
}

// ---- JSON Schema ----

struct SchemaCase {
  json schema;
  std::vector<std::string> valid;
  std::vector<std::string> invalid;
};

TEST(JsonSchemaGrammar, AcceptsExactlyTheDocumentsOfTheSchema) {
  const SchemaCase cases[] = {
      {json::parse(R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},
                      "required":["name","age"],"additionalProperties":false})"),
       {R"({"name":"Ada","age":36})", R"( { "name" : "A\"\u00e9" , "age" : -0 })", "{\n  \"name\": \"x\",\n  \"age\": 7\n}"},
       {R"({"age":36,"name":"Ada"})", R"({"name":"Ada"})", R"({"name":"Ada","age":3.5})", R"({"name":"Ada","age":36,"x":1})",
        R"({"name":"Ada","age":036})", R"({"name":"A
","age":1})"}},
      {json::parse(R"({"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"null"},"c":{"type":"number"}},
                      "required":["b"]})"),
       {R"({"b":null})", R"({"a":true,"b":null})", R"({"b":null,"c":1.5e-3})", R"({"a":false,"b":null,"c":-2})"},
       {R"({})", R"({"a":true})", R"({"b":null,"a":true})", R"({"a":true,,"b":null})", R"({"b":null,})"}},
      {json::parse(R"({"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"integer"}}})"),
       {R"({})", R"({"x":1})", R"({"y":2})", R"({"x":1,"y":2})"},
       {R"({"y":2,"x":1})", R"({,"y":2})", R"({"x":1,})"}},
      {json::parse(R"({"type":"array","items":{"enum":["red","green",3,null]},"minItems":1,"maxItems":3})"),
       {R"(["red"])", R"([3, null, "green"])"},
       {R"([])", R"(["blue"])", R"(["red","red","red","red"])"}},
      {json::parse(R"({"type":"array","items":{"type":"string","minLength":2,"maxLength":3}})"),
       {R"([])", R"(["ab","\u00e9\n\t"])", R"(["日本"])"},
       {R"(["a"])", R"(["abcd"])"}},
      {json::parse(R"({"anyOf":[{"type":"string"},{"type":"array","items":{"$ref":"#"}}]})"),
       {R"("x")", R"([["a",[]],"b"])"},
       {R"(1)", R"([1])"}},
      {json::parse(R"({"$defs":{"Node":{"type":"object","properties":{"v":{"type":"integer"},
                      "next":{"anyOf":[{"$ref":"#/$defs/Node"},{"type":"null"}]}},"required":["v","next"]}},
                      "$ref":"#/$defs/Node"})"),
       {R"({"v":1,"next":{"v":2,"next":null}})"},
       {R"({"v":1})", R"({"v":1,"next":{"v":2}})"}},
      {json::parse(R"({"type":["string","null"],"title":"maybe text"})"), {R"("s")", "null"}, {"1", "{}"}},
      {json::parse(R"({"const":{"k":[1,"two"]}})"), {R"({"k":[1,"two"]})"}, {R"({"k":[1]})", R"({"k": [1,"two"]})"}},
      {json::parse(R"({"type":"object","additionalProperties":{"type":"integer"}})"),
       {R"({})", R"({"any key":1,"other":-2})"},
       {R"({"k":"v"})"}},
      {json::parse(R"({})"), {R"({"free":[1,{"form":null}]})", "12", R"("s")"}, {"nul", "{"}},
  };
  for (const SchemaCase& c : cases) {
    GrammarStates g(gbnf(json_schema_gbnf(c.schema)));
    for (const std::string& text : c.valid) EXPECT_TRUE(matches(g, text)) << c.schema.dump() << " should accept " << text;
    for (const std::string& text : c.invalid) EXPECT_FALSE(matches(g, text)) << c.schema.dump() << " should refuse " << text;
  }
}

TEST(JsonSchemaGrammar, JsonObjectMode) {
  GrammarStates g(gbnf(json_object_gbnf()));
  EXPECT_TRUE(matches(g, R"({"a": [1, 2.5e3, true, null, {"b": "\u263A"}]})"));
  EXPECT_FALSE(matches(g, "[1]"));
  EXPECT_FALSE(matches(g, R"({"a": 01})"));
  EXPECT_FALSE(matches(g, R"({"a": "\x"})"));
  EXPECT_FALSE(matches(g, R"({'a': 1})"));
}

TEST(JsonSchemaGrammar, UnsupportedKeywordsAreNamedWithTheirPlace) {
  const auto compile = [](std::string_view schema) { return error_of([&] { json_schema_gbnf(json::parse(schema)); }); };
  EXPECT_THAT(compile(R"({"type":"object","properties":{"age":{"type":"integer","minimum":0}}})"),
              StartsWith("JSON schema at #/properties/age: 'minimum' is not supported (supported: type, properties,"));
  EXPECT_THAT(compile(R"({"type":"string","pattern":"^a"})"), StartsWith("JSON schema at #: 'pattern' is not supported"));
  EXPECT_THAT(compile(R"({"oneOf":[{"type":"string"}]})"), StartsWith("JSON schema at #: 'oneOf' is not supported"));
  EXPECT_EQ(compile(R"({"type":"date"})"),
            "JSON schema at #: 'type' \"date\" is not one of object, array, string, number, integer, boolean, null");
  EXPECT_EQ(compile(R"({"type":"array","items":[{"type":"string"}]})"),
            "JSON schema at #: 'items' as a list (a tuple) is not supported");
  EXPECT_EQ(compile(R"({"$ref":"https://example.com/s.json"})"),
            "JSON schema at #: '$ref' https://example.com/s.json is not supported: only '#', '#/$defs/NAME' and "
            "'#/definitions/NAME'");
  EXPECT_EQ(compile(R"({"$ref":"#/$defs/Missing"})"), "JSON schema at #: '$ref' #/$defs/Missing names no definition");
  EXPECT_EQ(compile(R"({"type":"array","maxItems":100000})"), "JSON schema at #: 'maxItems' of 100000 is over 4096");
  EXPECT_EQ(compile(R"({"type":"array","minItems":3,"maxItems":2})"), "JSON schema at #: 'maxItems' 2 is below 'minItems' 3");
  EXPECT_EQ(compile(R"({"anyOf":[{"type":"string"}],"type":"string"})"),
            "JSON schema at #: 'type' beside 'anyOf' is not supported: put it inside each alternative");
  EXPECT_EQ(compile("false"), "JSON schema at #: the schema false accepts no value");
  EXPECT_EQ(compile(R"({"type":"object","properties":{"a":{}},"required":["b"],"additionalProperties":false})"),
            "JSON schema at #: required property 'b' is not in 'properties', and additionalProperties is false");
  std::string deep = "{}";
  for (int i = 0; i < 70; ++i) deep = R"({"type":"array","items":)" + deep + "}";
  EXPECT_THAT(compile(deep), HasSubstr("nests deeper than 64 schemas"));
}

// ---- Token masks ----

// A vocabulary and a schema its tokens can spell (the SentencePiece test vocabulary has
// no '{'), with budgets from the shortest document up.
struct MaskCase {
  const char* tokenizer;
  const char* schema;
  std::vector<int64_t> budgets;
};

void PrintTo(const MaskCase& c, std::ostream* os) { *os << c.tokenizer; }

class TokenMasks : public ::testing::TestWithParam<MaskCase> {
 protected:
  void SetUp() override {
    tokenizer_ = open_tokenizer(test::data_dir() / "tokenizers" / GetParam().tokenizer / "tokenizer.json", 640);
    vocabulary_ = std::make_shared<const TokenVocabulary>(*tokenizer_, tokenizer_->vocab_size());
  }
  std::unique_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<const TokenVocabulary> vocabulary_;
};

bool bit(std::span<const uint32_t> mask, int32_t t) { return (mask[static_cast<size_t>(t) / 32] >> (t % 32)) & 1; }

// The vocabulary walk against each token fed on its own, along random walks through a
// schema's documents, with budgets tight and loose; and every walk ends in a complete
// document that parses, since the budget is part of the mask.
TEST_P(TokenMasks, MatchEveryTokenFedAloneAndFinishWithinTheBudget) {
  const auto grammar = gbnf(json_schema_gbnf(json::parse(GetParam().schema)));
  auto token_grammar = std::make_shared<TokenGrammar>(grammar, vocabulary_);
  int32_t eos = 0;  // a token that spells nothing stands for the model's end token
  while (!vocabulary_->bytes(eos).empty()) ++eos;
  std::mt19937 rng(7);
  for (const int64_t budget : GetParam().budgets) {
    for (int walk = 0; walk < 4; ++walk) {
      GrammarMatcher matcher(token_grammar, {eos});
      GrammarStates reference(grammar);
      StateId state = reference.start();
      std::string text;
      for (int64_t left = budget; left > 0 && !matcher.finished(); --left) {
        const std::span<const uint32_t> mask = matcher.allowed_tokens(left);
        std::vector<int32_t> allowed;
        for (int32_t t = 0; t < vocabulary_->size(); ++t) {
          const std::string& bytes = vocabulary_->bytes(t);
          bool expected = false;
          if (t == eos) {
            expected = reference.accepts(state);
          } else if (!bytes.empty()) {
            const StateId next = reference.advance(state, bytes);
            expected = next != kDeadState && reference.min_bytes_to_accept(next) <= left - 1;
          }
          ASSERT_EQ(bit(mask, t), expected) << "token " << t << " '" << bytes << "' after '" << text << "'";
          if (expected) allowed.push_back(t);
        }
        const int32_t t = allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)];
        if (t == eos) break;
        matcher.accept(t);
        text += vocabulary_->bytes(t);
        state = reference.advance(state, vocabulary_->bytes(t));
      }
      EXPECT_TRUE(matcher.complete()) << text;
      EXPECT_NO_THROW({ const json doc = json::parse(text); }) << text;
    }
  }
}

TEST_P(TokenMasks, RefusesATokenOutsideTheGrammar) {
  auto token_grammar = std::make_shared<TokenGrammar>(gbnf(R"(root ::= "[]")"), vocabulary_);
  GrammarMatcher matcher(token_grammar, {});
  const std::vector<int32_t> wrong = tokenizer_->encode("x", false);
  EXPECT_EQ(error_of([&] { matcher.accept(wrong.back()); }),
            "grammar: token " + std::to_string(wrong.back()) + " does not continue the text the grammar allows");
}

INSTANTIATE_TEST_SUITE_P(
    Vocabularies, TokenMasks,
    ::testing::Values(MaskCase{"bytelevel",
                               R"({"type":"object","properties":{"name":{"type":"string"},
                                   "tags":{"type":"array","items":{"enum":["a","bc"]}},"n":{"type":"number"}},
                                   "required":["name","tags","n"]})",
                               {27, 40, 200}},  // {"name":"","tags":[],"n":0}
                      MaskCase{"sentencepiece",
                               R"({"type":"array","items":{"anyOf":[{"type":"string","maxLength":5},{"type":"integer"}]},
                                   "minItems":2})",
                               {5, 16, 100}}),  // [0,0]
    [](const auto& info) { return std::string(info.param.tokenizer); });

}  // namespace
}  // namespace genrt::grammar
