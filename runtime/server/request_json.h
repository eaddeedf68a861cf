#pragma once
// A request body's JSON. Ordered: a JSON schema's properties keep the order the client
// wrote them in, which structured output writes them in.

#include <nlohmann/json_fwd.hpp>

namespace genrt {

using RequestJson = nlohmann::ordered_json;

}  // namespace genrt
