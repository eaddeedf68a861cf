// libFuzzer target: llama2.c checkpoints. Either a model config comes out that validates,
// or genrt::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/io/llama2c_checkpoint.h"
#include "runtime/models/llama/llama_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto file = genrt::MappedFile::from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.bin");
    const genrt::Llama2cCheckpoint ckpt = genrt::Llama2cCheckpoint::parse(file);
    genrt::llama_config_from_llama2c(ckpt.header()).validate("fuzz.bin");
    const genrt::Tensor& last = ckpt.weights().rms_final_weight;  // touch the end of the data
    (void)last.data<float>()[last.numel() - 1];
  } catch (const genrt::Error&) {
  }
  return 0;
}
