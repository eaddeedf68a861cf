#pragma once
// A read-only memory map of a whole file. Tensors loaded from it are views that share
// ownership of the map, so weights are paged in on first touch and never copied when
// their dtype already matches.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace genrt {

class MappedFile {
 public:
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  // The same interface over bytes in memory (fuzzers, tests); `name` stands for the path.
  static std::shared_ptr<const MappedFile> from_bytes(std::string bytes, const std::filesystem::path& name);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view bytes() const { return {reinterpret_cast<const char*>(data_), size_}; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::string owned_;  // the bytes of from_bytes()
};

}  // namespace genrt
