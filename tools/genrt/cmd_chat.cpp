// genrt chat: an interactive conversation through the model's chat template.

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/stream_decoder.h"
#include "tools/genrt/commands.h"
#include "tools/genrt/common.h"

namespace genrt::cli {

namespace {

struct ChatOptions {
  std::string model;
  std::string tokenizer;
  std::string system;
  std::string chat_template;
  SamplingOptions sampling;
  DeviceFlags device;
};

void run_chat(const ChatOptions& o) {
  const LoadedModel loaded = load_model(o.model, o.tokenizer, o.device);
  const auto* tokenizer = dynamic_cast<const HfTokenizer*>(loaded.tokenizer.get());
  GENRT_CHECK(tokenizer != nullptr, "chat needs the model's tokenizer.json (chat formats rely on its special tokens)");
  const auto choice = model_chat_template(*tokenizer, o.chat_template);
  if (const auto* problem = std::get_if<std::string>(&choice)) fail("{}", *problem);
  const ChatTemplate& chat = std::get<ChatTemplate>(choice);
  spdlog::info("chat format {}; type a message and press enter, /exit or end of input to quit",
               chat_format_name(chat.format));

  std::vector<int32_t> stop;
  for (const std::string& end_of_turn : chat.ends_of_turn()) {
    if (const auto end = tokenizer->token_id(end_of_turn)) stop.push_back(*end);
  }
  if (tokenizer->eos_id()) stop.push_back(*tokenizer->eos_id());

  std::vector<ChatMessage> messages;
  if (!o.system.empty()) messages.push_back({"system", o.system});
  const bool interactive = ::isatty(STDIN_FILENO);
  for (std::string line;;) {
    if (interactive) std::fputs("> ", stdout), std::fflush(stdout);
    if (!std::getline(std::cin, line) || line == "/exit") break;
    if (line.empty()) continue;
    messages.push_back({"user", line});
    GenerationRequest request{.prompt = tokenizer->encode(chat.render(messages, true), /*add_special=*/false),
                              .max_new_tokens = o.sampling.max_tokens,
                              .sampling = resolve_sampling(o.sampling),
                              .stop_token_ids = stop};
    // Each turn re-reads the whole conversation (no cross-turn cache reuse yet).
    const int64_t block_size = 16;
    KvCache cache = loaded.model->make_kv_cache(kv_blocks_needed({&request, 1}, block_size), block_size);
    Generator generator(*loaded.model, cache);
    StreamDecoder stream(*tokenizer, loaded.model->spec().text_context(request.prompt));
    std::string reply;
    GenerationStats stats;
    const auto results = generator.generate(
        {&request, 1},
        [&](size_t, int32_t token) {
          const std::string piece = stream.push(token);
          reply += piece;
          std::fputs(piece.c_str(), stdout);
          std::fflush(stdout);
          return true;
        },
        &stats);
    const std::string tail = stream.finish();
    reply += tail;
    std::printf("%s\n", tail.c_str());
    print_stats(stats, results[0].finish_reason, loaded, o.device.device);
    messages.push_back({"assistant", reply});
  }
}

}  // namespace

Command add_chat_command(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* cmd = app.add_subcommand("chat", "Chat with a model interactively, through its chat template");
  cmd->add_option("--model", o->model, "Hugging Face model directory (with tokenizer.json)")->required();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json, or a directory holding one (default: the model's)")
      ->check(CLI::ExistingPath);
  cmd->add_option("--system", o->system, "System message that starts the conversation");
  cmd->add_option("--chat-template", o->chat_template,
                  fmt::format("Chat format to use instead of the model's template: {}", fmt::join(chat_format_names(), ", ")));
  add_sampling_options(cmd, o->sampling);
  add_device_options(cmd, o->device);
  add_cuda_graph_option(cmd, o->device);
  return {cmd, [o] { run_chat(*o); }};
}

}  // namespace genrt::cli
