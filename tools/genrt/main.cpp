// genrt: run foundation models from the command line.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "runtime/core/logging.h"
#include "tools/genrt/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"genrt: a C++20/CUDA runtime for foundation models.\n"
               "Run `genrt <command> --help` for the options of a command."};
  app.set_version_flag("--version", std::string("genrt ") + GENRT_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options such as --log-level may follow the command
  std::string log_level = "info";
  app.add_option("--log-level", log_level,
                 "Logging on stderr: trace, debug, info, warn, error, critical or off")
      ->capture_default_str();

  const genrt::cli::Command commands[] = {
      genrt::cli::add_generate_command(app),
      genrt::cli::add_chat_command(app),
      genrt::cli::add_diffuse_command(app),
      genrt::cli::add_txt2img_command(app),
      genrt::cli::add_embed_command(app),
      genrt::cli::add_fill_mask_command(app),
      genrt::cli::add_serve_command(app),
      genrt::cli::add_tokenize_command(app),
      genrt::cli::add_info_command(app),
      genrt::cli::add_init_model_command(app),
      genrt::cli::add_bench_command(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    genrt::set_log_level(log_level);
    for (const auto& command : commands) {
      if (command.app->parsed()) command.run();
    }
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
