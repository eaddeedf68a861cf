#pragma once
// Small helpers shared by the test suites.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/error.h"
#include "runtime/core/tensor.h"
#include "runtime/models/causal_lm.h"

// Expects `statement` to throw genrt::Error whose message contains `substring`.
#define EXPECT_ERROR(statement, substring)                                      \
  EXPECT_THAT([&] { statement; }, ::testing::ThrowsMessage<::genrt::Error>(     \
                                      ::testing::HasSubstr(substring)))

namespace genrt::test {

// A fresh directory under the system temp dir, removed when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <class T>
void append_pod(std::string& bytes, const T& value) {
  bytes.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// tests/data of the source tree, or $GENRT_TEST_DATA (a relocated build: the GPU bundle).
inline std::filesystem::path data_dir() {
  const char* override_dir = std::getenv("GENRT_TEST_DATA");
  return override_dir != nullptr && *override_dir != '\0' ? override_dir : GENRT_TEST_DATA;
}
// ../shared beside the checkout, or $GENRT_SHARED_DIR (tools/gpu-check.sh carries a copy).
inline std::filesystem::path shared_dir() {
  const char* override_dir = std::getenv("GENRT_SHARED_DIR");
  return override_dir != nullptr ? override_dir : GENRT_SHARED_DIR;
}

// Runs `tokens` through the model in one prefill (a KV cache of its own, on the model's
// device) and returns every position's logits, [tokens, vocab] on the host.
// An encoder-decoder's forward of decoder token `step` of `decoder` after the encoder input
// `input`, in `blocks`, as the engine runs it: step 0 reads the prompt (the input and
// decoder[0]) whole, each later step one decoder token.
ForwardBatch encoder_decoder_step(const std::vector<int32_t>& input, const std::vector<int32_t>& decoder, size_t step,
                                  const BlockTable& blocks);

Tensor prefill_logits(const CausalLM& model, const std::vector<int32_t>& tokens);

// Largest |a - b| over two equal-length float ranges; NaN anywhere gives NaN, which
// fails every `<= tol` check (the comparison is false).
float max_abs_diff(const float* a, const float* b, size_t n);

// ||got - want|| / ||want|| over all elements; NaN anywhere gives infinity.
double relative_l2(const float* got, const float* want, size_t n);
// The cosine of the angle between two vectors of one length (NaN when either is zero).
double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace genrt::test
