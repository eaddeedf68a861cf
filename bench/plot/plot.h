#pragma once
// genrt bench results as a PNG of throughput curves, drawn with cairo: genrt-plot's work,
// kept out of the serving binary genrt.

#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

namespace genrt::bench {

// One panel per suite with x values: throughput against x (log scale) for genrt's ops and
// their peers.
void write_plot(const std::vector<nlohmann::json>& lines, const std::filesystem::path& png);

}  // namespace genrt::bench
