#include <gtest/gtest.h>

#include "runtime/core/dtype.h"

TEST(DType, Placeholder) { EXPECT_EQ(genrt::dtype_size(genrt::DType::bf16), 2u); }
