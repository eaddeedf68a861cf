#pragma once
// `genrt bench report`: result lines as a Markdown table, optionally against a baseline
// run (the change per case). genrt-plot (bench/plot/) draws them as curves.

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

}  // namespace genrt::bench
