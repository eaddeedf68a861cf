#pragma once
// The public API's LoadOptions as the runtime's DeviceOptions, checked: a device this
// machine lacks, an fp32 GPU model or a memory fraction outside (0, 1] is an api::Error.

#include "genrt/genrt.hpp"
#include "runtime/models/causal_lm.h"

namespace genrt::api {

genrt::DeviceOptions to_device_options(const LoadOptions& options);

}  // namespace genrt::api
