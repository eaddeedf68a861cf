#include "bench/harness/report.h"

#include <fstream>
#include <map>

#include <fmt/format.h>

#include "runtime/core/error.h"

namespace genrt::bench {

namespace {

// What identifies a case across runs.
std::string case_key(const nlohmann::json& l) {
  return fmt::format("{}|{}|{}|{}", l.value("suite", ""), l.value("case", ""), l.value("dtype", ""),
                     l.value("device_name", ""));
}

std::string number(const nlohmann::json& v, const char* format = "{:.3g}") {
  return v.is_number() ? fmt::format(fmt::runtime(format), v.get<double>()) : "–";
}

std::string check_cell(const nlohmann::json& l) {
  if (!l.contains("check")) return "–";
  const nlohmann::json& c = l["check"];
  if (c.contains("skipped")) return "skipped";
  return fmt::format("{} ({:.1e})", c.value("ok", false) ? "ok" : "**FAILED**", c.value("max_rel_err", 0.0));
}

}  // namespace

std::vector<nlohmann::json> read_results(const std::filesystem::path& path) {
  std::ifstream in(path);
  GENRT_CHECK(in.good(), "cannot read {}", path.string());
  std::vector<nlohmann::json> lines;
  std::string text;
  for (int n = 1; std::getline(in, text); ++n) {
    if (text.empty()) continue;
    nlohmann::json line = nlohmann::json::parse(text, nullptr, false);
    GENRT_CHECK(!line.is_discarded() && line.is_object() && line.contains("suite") && line.contains("case"),
                "{}:{}: not a genrt bench result line", path.string(), n);
    lines.push_back(std::move(line));
  }
  GENRT_CHECK(!lines.empty(), "{}: no result lines", path.string());
  return lines;
}

std::string markdown_report(const std::vector<nlohmann::json>& lines, const std::vector<nlohmann::json>* baseline) {
  std::map<std::string, const nlohmann::json*> before;
  if (baseline != nullptr) {
    for (const nlohmann::json& l : *baseline) before[case_key(l)] = &l;
  }
  const nlohmann::json& first = lines.front();
  std::string out = fmt::format("# genrt bench: {} ({}), commit {}\n", first.value("device_name", "?"),
                                first.value("device", "?"), first.value("commit", "?"));
  if (baseline != nullptr) {
    out += fmt::format("\nBaseline: commit {} on {}. Change: time after / before - 1 (negative is faster).\n",
                       baseline->front().value("commit", "?"), baseline->front().value("device_name", "?"));
  }
  std::string suite;
  for (const nlohmann::json& l : lines) {
    if (l.value("suite", "") != suite) {
      suite = l.value("suite", "");
      out += fmt::format("\n## {}\n\n", suite);
      out += baseline != nullptr
                 ? "| case | dtype | before ms | after ms | change | throughput | of peak |\n|---|---|---|---|---|---|---|\n"
                 : "| case | dtype | median ms (p10–p90) | throughput | of peak | peer | vs peer | check |\n"
                   "|---|---|---|---|---|---|---|---|\n";
    }
    const std::string throughput = fmt::format("{} {}", number(l.value("value", nlohmann::json())),
                                               l.value("metric", ""));
    const std::string of_peak = l.contains("fraction_of_peak") && l["fraction_of_peak"].is_number()
                                    ? fmt::format("{:.1f}%", 100 * l["fraction_of_peak"].get<double>())
                                    : "–";
    if (baseline != nullptr) {
      const auto it = before.find(case_key(l));
      const nlohmann::json none;
      const nlohmann::json& old_ms = it != before.end() ? it->second->value("median_ms", none) : none;
      const std::string change =
          old_ms.is_number() && l["median_ms"].is_number()
              ? fmt::format("{:+.1f}%", 100 * (l["median_ms"].get<double>() / old_ms.get<double>() - 1))
              : "new";
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", l.value("case", ""), l.value("dtype", ""),
                         number(old_ms, "{:.4g}"), number(l.value("median_ms", nlohmann::json()), "{:.4g}"), change,
                         throughput, of_peak);
      continue;
    }
    // Loop suites report a median of steps without percentiles.
    std::string timing = number(l.value("median_ms", nlohmann::json()), "{:.4g}");
    if (l.contains("p10_ms") && l.contains("p90_ms")) {
      timing += fmt::format(" ({}–{})", number(l["p10_ms"], "{:.4g}"), number(l["p90_ms"], "{:.4g}"));
    }
    const std::string peer = l.contains("peer") && l["peer"].is_string() ? l["peer"].get<std::string>() : "–";
    const std::string vs_peer = l.contains("ratio_vs_peer") && l["ratio_vs_peer"].is_number()
                                    ? fmt::format("{:.2f}x", l["ratio_vs_peer"].get<double>())
                                    : "–";
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", l.value("case", ""), l.value("dtype", ""),
                       timing, throughput, of_peak, peer, vs_peer, check_cell(l));
  }
  out += "\nvs peer: the peer's median time / genrt's (above 1x genrt is faster). of peak: throughput / the "
         "measured copy bandwidth (GB/s) or GEMM rate (TFLOP/s); for e2e-decode, tokens/s / the bandwidth "
         "roofline.\n";
  return out;
}

}  // namespace genrt::bench
