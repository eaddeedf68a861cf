#pragma once
// Files carried inside the program, written into a generated source at build time by
// cmake/embed_files.cmake, so that nothing is read from disk (or the network) at run time.

#include <span>
#include <string_view>

namespace genrt {

struct EmbeddedFile {
  std::string_view name;   // the file's name, without its folder
  std::string_view bytes;  // its contents
};

// The web playground's files (runtime/server/webui/*; webui.h serves them).
std::span<const EmbeddedFile> webui_files();

}  // namespace genrt
