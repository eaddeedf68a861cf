// Base64 (runtime/core/base64.h): every length's padding round-trips, RFC 4648's test
// vectors, and text that is not base64 is an error naming where.

#include <gtest/gtest.h>

#include <string>

#include "runtime/core/base64.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

TEST(Base64, Rfc4648VectorsAndRoundTrips) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},          {"f", "Zg=="},        {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},   {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded, "test"), plain);
  }
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= bytes.size(); n += 37) EXPECT_EQ(base64_decode(base64_encode(bytes.substr(0, n)), "test"), bytes.substr(0, n));
}

TEST(Base64, TextThatIsNotBase64IsAnError) {
  EXPECT_ERROR(base64_decode("Zm9", "blob"), "blob: base64 of 3 characters (not a multiple of 4)");
  EXPECT_ERROR(base64_decode("Zm 9", "blob"), "blob: ' ' at 2 is not base64");
  EXPECT_ERROR(base64_decode("Z===", "blob"), "blob: '=' at 1 is not base64");
  EXPECT_ERROR(base64_decode("Zg==Zm9v", "blob"), "blob: '=' at 2 is not base64");
}

}  // namespace
}  // namespace genrt
