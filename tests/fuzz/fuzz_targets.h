#pragma once
// The fuzz targets: what one input goes through. Shared by the libFuzzer programs
// (fuzz_main.cpp, -DGENRT_FUZZ=ON) and the unit test that replays the committed findings
// (tests/fuzz/regressions/<target>/). Each returns normally for an input genrt handles,
// rejected inputs included (genrt::Error is caught inside); a bug aborts or crashes.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace genrt::fuzz {

void safetensors(const uint8_t* data, size_t size);     // fuzz_safetensors.cpp
void llama2c(const uint8_t* data, size_t size);         // fuzz_llama2c.cpp
void config_json(const uint8_t* data, size_t size);     // fuzz_config_json.cpp
void tokenizer_json(const uint8_t* data, size_t size);  // fuzz_tokenizer_json.cpp
void tokenize(const uint8_t* data, size_t size);        // fuzz_tokenize.cpp
void http_body(const uint8_t* data, size_t size);       // fuzz_http_body.cpp
void http_request(const uint8_t* data, size_t size);    // fuzz_http_request.cpp

struct Target {
  std::string_view name;  // the libFuzzer program's, and its regressions folder's: fuzz_safetensors
  void (*run)(const uint8_t* data, size_t size);
};

// nullptr when no target has that name.
const Target* find_target(std::string_view name);

}  // namespace genrt::fuzz
