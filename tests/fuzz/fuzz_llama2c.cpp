// Fuzz target: llama2.c checkpoints. Either a model config comes out that validates,
// or genrt::Error.
#include "tests/fuzz/fuzz_targets.h"

#include <string>

#include "runtime/io/llama2c_checkpoint.h"
#include "runtime/models/llama/llama_loader.h"

void genrt::fuzz::llama2c(const uint8_t* data, size_t size) {
  try {
    const auto file = genrt::MappedFile::from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.bin");
    const genrt::Llama2cCheckpoint ckpt = genrt::Llama2cCheckpoint::parse(file);
    genrt::llama_config_from_llama2c(ckpt.header()).validate("fuzz.bin");
    const genrt::Tensor& last = ckpt.weights().rms_final_weight;  // touch the end of the data
    (void)last.data<float>()[last.numel() - 1];
  } catch (const genrt::Error&) {
  }
}
