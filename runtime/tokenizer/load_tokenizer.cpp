#include "runtime/tokenizer/load_tokenizer.h"

#include "runtime/core/error.h"
#include "runtime/tokenizer/hf_tokenizer.h"
#include "runtime/tokenizer/llama2c_tokenizer.h"

namespace genrt {

std::optional<std::filesystem::path> find_tokenizer(const std::filesystem::path& model) {
  const bool is_dir = std::filesystem::is_directory(model);
  const auto dir = is_dir ? model : model.parent_path().empty() ? std::filesystem::path(".") : model.parent_path();
  if (is_dir && std::filesystem::is_regular_file(dir / "tokenizer.json")) return dir / "tokenizer.json";
  if (std::filesystem::is_regular_file(dir / "tokenizer.bin")) return dir / "tokenizer.bin";
  return std::nullopt;
}

std::unique_ptr<Tokenizer> open_tokenizer(const std::filesystem::path& path, int64_t model_vocab_size) {
  std::unique_ptr<Tokenizer> tokenizer;
  if (std::filesystem::is_directory(path) || path.extension() == ".json") {
    tokenizer = std::make_unique<HfTokenizer>(HfTokenizer::open(path));
  } else {
    tokenizer = std::make_unique<Llama2cTokenizer>(Llama2cTokenizer::open(path, model_vocab_size));
  }
  GENRT_CHECK(tokenizer->vocab_size() <= model_vocab_size,
              "{}: the tokenizer has ids up to {}, beyond the model's vocabulary of {}", path.string(),
              tokenizer->vocab_size() - 1, model_vocab_size);
  return tokenizer;
}

}  // namespace genrt
