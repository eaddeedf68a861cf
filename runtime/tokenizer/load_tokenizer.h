#pragma once
// Finds and opens the tokenizer of a model.

#include <filesystem>
#include <memory>
#include <optional>

#include "runtime/tokenizer/tokenizer.h"

namespace genrt {

// The tokenizer file genrt would use for `model`: tokenizer.json in a model directory,
// else tokenizer.bin inside it or beside a llama2.c checkpoint. nullopt when none exists.
std::optional<std::filesystem::path> find_tokenizer(const std::filesystem::path& model);

// Opens a tokenizer.json (or a directory holding one) or a llama2.c tokenizer.bin, and
// checks it against the model's vocabulary: a tokenizer with ids the model does not have
// is an error.
std::unique_ptr<Tokenizer> open_tokenizer(const std::filesystem::path& path, int64_t model_vocab_size);

}  // namespace genrt
