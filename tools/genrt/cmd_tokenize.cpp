// genrt tokenize: show how a tokenizer.json splits a text.

#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer/hf_tokenizer.h"
#include "tools/genrt/commands.h"

namespace genrt::cli {

namespace {

struct TokenizeOptions {
  std::string tokenizer;
  std::string text;
  bool json = false;
  bool no_special = false;
};

void run_tokenize(const TokenizeOptions& o) {
  const HfTokenizer tokenizer = HfTokenizer::open(o.tokenizer);
  const std::vector<int32_t> ids = tokenizer.encode(o.text, !o.no_special);
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(tokenizer.token_text(id));
  if (o.json) {
    std::printf("%s\n", nlohmann::json{{"ids", ids}, {"pieces", pieces}}.dump().c_str());
    return;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    // Pieces are JSON-quoted so that spaces, newlines and byte-level symbols stay visible.
    std::printf("%8d  %s\n", ids[i], nlohmann::json(pieces[i]).dump().c_str());
  }
  std::printf("%zu tokens\n", ids.size());
}

}  // namespace

Command add_tokenize_command(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Show the token ids and pieces a tokenizer.json gives a text");
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json, or a directory holding one (e.g. a model directory)")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--text", o->text, "Text to tokenize")->required();
  cmd->add_flag("--json", o->json, "Print {\"ids\": [...], \"pieces\": [...]}");
  cmd->add_flag("--no-special", o->no_special, "Do not add the tokenizer's special tokens (BOS, ...) around the text");
  return {cmd, [o] { run_tokenize(*o); }};
}

}  // namespace genrt::cli
