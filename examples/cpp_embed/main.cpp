// Embedding genrt from C++ through its CMake package: find_package(genrt), then link
// genrt::genrt. Loads a model and streams a short generation.
#include <genrt/genrt.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " MODEL [PROMPT]\n";
    return 2;
  }
  try {
    const genrt::api::Model model = genrt::api::Model::load(argv[1]);
    const genrt::api::ModelInfo info = model.info();
    std::cout << "genrt " << genrt::api::version() << ": " << info.architecture << ", " << info.parameters
              << " parameters" << (info.random_weights ? " (random weights)" : "") << "\n";
    const genrt::api::GenerationResult result = model.generate(
        argc > 2 ? argv[2] : "Once upon a time", {.max_tokens = 16, .temperature = 0, .ignore_eos = true},
        [](int32_t, std::string_view text) {
          std::cout << text << std::flush;
          return true;
        });
    std::cout << "\ngenerated " << result.tokens.size() << " tokens, " << result.tokens_per_s << " tokens/s\n";
    return result.tokens.size() == 16 ? 0 : 1;
  } catch (const genrt::api::Error& e) {
    std::cerr << "genrt: " << e.what() << "\n";
    return 1;
  }
}
