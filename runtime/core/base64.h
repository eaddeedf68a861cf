#pragma once
// Base64 (RFC 4648, the standard alphabet, with padding): embeddings and images in API
// responses, and binary blobs inside JSON files (a tokenizer's precompiled charsmap).

#include <string>
#include <string_view>

namespace genrt {

std::string base64_encode(std::string_view bytes);
// Throws genrt::Error naming `what` for a character outside the alphabet or a length that
// is not a multiple of 4; whitespace is not skipped.
std::string base64_decode(std::string_view text, std::string_view what);

}  // namespace genrt
