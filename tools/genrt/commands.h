#pragma once
// The `genrt` subcommands. Each registers itself on the app and returns the function
// that runs it once the command line has parsed.

#include <CLI/CLI.hpp>

#include <functional>

namespace genrt::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<void()> run;
};

Command add_bench_command(CLI::App& app);
Command add_chat_command(CLI::App& app);
Command add_diffuse_command(CLI::App& app);
Command add_embed_command(CLI::App& app);
Command add_fill_mask_command(CLI::App& app);
Command add_generate_command(CLI::App& app);
Command add_info_command(CLI::App& app);
Command add_init_model_command(CLI::App& app);
Command add_serve_command(CLI::App& app);
Command add_tokenize_command(CLI::App& app);
Command add_txt2img_command(CLI::App& app);

}  // namespace genrt::cli
