// Fuzz target: safetensors files (header and data). Any input must either load or
// be rejected with genrt::Error; tensors that load are read in full.
#include "tests/fuzz/fuzz_targets.h"

#include <string>

#include "runtime/io/safetensors.h"

void genrt::fuzz::safetensors(const uint8_t* data, size_t size) {
  try {
    const auto file = genrt::MappedFile::from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
    const genrt::SafetensorsFile st = genrt::SafetensorsFile::parse(file);
    for (const auto& [name, entry] : st.entries()) {
      try {
        const genrt::Tensor t = st.tensor(name);
        if (t.dtype() != genrt::DType::i32) (void)t.to_f32();
      } catch (const genrt::Error&) {
      }
    }
  } catch (const genrt::Error&) {
  }
}
