// genrt-plot: genrt bench results as a PNG of each suite's throughput curves. A program of
// its own so that the serving binary, genrt, links neither cairo nor X11; `genrt bench
// report --plot` runs it from beside genrt.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "bench/harness/report.h"
#include "bench/plot/plot.h"

int main(int argc, char** argv) {
  CLI::App app{"genrt-plot: draw the throughput curves of genrt bench results (one panel per suite) into a PNG"};
  std::string results, png;
  app.add_option("results", results, "results.jsonl, as genrt bench --json writes it")->required();
  app.add_option("-o,--out", png, "The PNG to write")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    genrt::bench::write_plot(genrt::bench::read_results(results), png);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "genrt-plot: error: %s\n", e.what());
    return 1;
  }
  std::printf("wrote %s\n", png.c_str());
  return 0;
}
