#pragma once
// `genrt bench report`: result lines as a Markdown table, optionally against a baseline
// run (the change per case), and as a PNG plot of each suite's curves.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace genrt::bench {

// The result lines of a .jsonl file; errors name the file and line.
std::vector<nlohmann::json> read_results(const std::filesystem::path& path);

// One table per suite: time (median, p10-p90), throughput, fraction of the measured peak,
// the fastest peer and genrt's speed relative to it, and the check. With a baseline, each
// case's time before and after and the change.
std::string markdown_report(const std::vector<nlohmann::json>& lines, const std::vector<nlohmann::json>* baseline);

// One panel per suite with x values: throughput against x (log scale) for genrt's ops and
// their peers. Errors when this build has no plotting (cairo).
void write_plot(const std::vector<nlohmann::json>& lines, const std::filesystem::path& png);

}  // namespace genrt::bench
