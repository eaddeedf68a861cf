#include "bench/plot/plot.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <cairo.h>
#include <fmt/format.h>

#include "runtime/core/error.h"

namespace genrt::bench {

namespace {

struct Point {
  double x = 0.0, y = 0.0;
};

struct Series {
  std::string label;
  bool peer = false;
  std::vector<Point> points;
};

struct Panel {
  std::string title, x_name, metric;
  std::vector<Series> series;
};

// Each suite's lines as curves: genrt's per series, and each peer's at the same work
// (its throughput: genrt's times genrt's time over the peer's).
std::vector<Panel> panels_of(const std::vector<nlohmann::json>& lines) {
  std::vector<Panel> panels;
  std::map<std::string, std::map<std::string, size_t>> index;  // suite -> label -> series
  for (const nlohmann::json& l : lines) {
    // The peak cases have no x: they are single numbers, in the table.
    if (!l.contains("x") || !l["x"].is_number() || l["x"].get<double>() <= 0 || !l.contains("value") ||
        !l["value"].is_number()) {
      continue;
    }
    const std::string suite = l.value("suite", "");
    auto panel = std::find_if(panels.begin(), panels.end(), [&](const Panel& p) { return p.title == suite; });
    if (panel == panels.end()) {
      panel = panels.insert(panels.end(), {suite, l.value("x_name", "x"), l.value("metric", ""), {}});
    }
    const auto add = [&](const std::string& label, bool peer, double y) {
      auto [it, inserted] = index[suite].try_emplace(label, panel->series.size());
      if (inserted) panel->series.push_back({label, peer, {}});
      panel->series[it->second].points.push_back({l["x"].get<double>(), y});
    };
    const std::string series = l.value("series", l.value("op", ""));
    const double value = l["value"].get<double>();
    add(series, false, value);
    if (l.contains("peers") && l.value("metric", "") != "tokens/s") {
      for (const auto& [name, peer] : l["peers"].items()) {
        if (peer.contains("median_ms") && l.contains("median_ms")) {
          // "torch SDPA flash (torch 2.5.1)" -> "torch SDPA flash": versions are in the table.
          add(series + " · " + name.substr(0, name.find(" (")), true,
              value * l["median_ms"].get<double>() / peer["median_ms"].get<double>());
        }
      }
    }
  }
  for (Panel& p : panels) {
    for (Series& s : p.series) std::sort(s.points.begin(), s.points.end(), [](Point a, Point b) { return a.x < b.x; });
  }
  return panels;
}

std::string compact(double v) {
  if (v >= 1e9) return fmt::format("{:g}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:g}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:g}k", v / 1e3);
  return fmt::format("{:g}", v);
}

constexpr int kWidth = 1000, kPanelHeight = 420;
constexpr double kLeft = 80, kRight = 300, kTop = 40, kBottom = 60;

// Tableau 10: distinguishable, and the peers' dashed lines share their series' colour.
const double kPalette[10][3] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
                                {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50},
                                {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81}};

void text(cairo_t* cr, double x, double y, const std::string& s, double size, bool centred = false) {
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_move_to(cr, centred ? x - e.width / 2 : x, y);
  cairo_show_text(cr, s.c_str());
}

void draw_panel(cairo_t* cr, const Panel& p, double top) {
  double x_min = INFINITY, x_max = 0, y_max = 0;
  for (const Series& s : p.series) {
    for (const Point& pt : s.points) {
      x_min = std::min(x_min, pt.x);
      x_max = std::max(x_max, pt.x);
      y_max = std::max(y_max, pt.y);
    }
  }
  const double lx0 = std::floor(std::log2(std::max(x_min, 1e-9))), lx1 = std::max(lx0 + 1, std::ceil(std::log2(x_max)));
  y_max = y_max > 0 ? y_max * 1.1 : 1.0;
  const double w = kWidth - kLeft - kRight, h = kPanelHeight - kTop - kBottom;
  const auto px = [&](double x) { return kLeft + (std::log2(x) - lx0) / (lx1 - lx0) * w; };
  const auto py = [&](double y) { return top + kTop + h - y / y_max * h; };

  cairo_set_source_rgb(cr, 0, 0, 0);
  text(cr, kLeft, top + kTop - 14, fmt::format("{} ({})", p.title, p.metric), 16);
  text(cr, kLeft + w / 2, top + kPanelHeight - 18, p.x_name + " (log scale)", 12, true);
  // Grid and ticks: powers of two across x (every other one when crowded), fifths of y.
  cairo_set_line_width(cr, 1);
  const int x_step = lx1 - lx0 > 12 ? 2 : 1;
  for (double e = lx0; e <= lx1; e += x_step) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, px(std::exp2(e)), py(0));
    cairo_line_to(cr, px(std::exp2(e)), py(y_max));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, px(std::exp2(e)), py(0) + 16, compact(std::exp2(e)), 11, true);
  }
  for (int i = 0; i <= 5; ++i) {
    const double y = y_max * i / 5;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, kLeft, py(y));
    cairo_line_to(cr, kLeft + w, py(y));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, 8, py(y) + 4, fmt::format("{:.3g}", y), 11);
  }
  cairo_rectangle(cr, kLeft, py(y_max), w, h);
  cairo_stroke(cr);

  // Curves, and the legend to the right.
  std::map<std::string, size_t> colour_of;
  for (size_t i = 0; i < p.series.size(); ++i) {
    const Series& s = p.series[i];
    const std::string base = s.peer ? s.label.substr(0, s.label.find(" · ")) : s.label;
    const auto [it, inserted] = colour_of.try_emplace(base, colour_of.size());
    const double* c = kPalette[it->second % 10];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 2);
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, s.peer ? 2 : 0, 0);
    for (size_t j = 0; j < s.points.size(); ++j) {
      const double x = px(s.points[j].x), y = py(s.points[j].y);
      j == 0 ? cairo_move_to(cr, x, y) : cairo_line_to(cr, x, y);
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, dash, 0, 0);
    for (const Point& pt : s.points) {
      cairo_arc(cr, px(pt.x), py(pt.y), 3, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    const double ly = top + kTop + 8 + 18.0 * static_cast<double>(i);
    cairo_set_dash(cr, dash, s.peer ? 2 : 0, 0);
    cairo_move_to(cr, kWidth - kRight + 16, ly);
    cairo_line_to(cr, kWidth - kRight + 40, ly);
    cairo_stroke(cr);
    cairo_set_dash(cr, dash, 0, 0);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, kWidth - kRight + 46, ly + 4, s.label, 11);
  }
}

}  // namespace

void write_plot(const std::vector<nlohmann::json>& lines, const std::filesystem::path& png) {
  const std::vector<Panel> panels = panels_of(lines);
  GENRT_CHECK(!panels.empty(), "no result line has an x value and a throughput to plot");
  const int height = kPanelHeight * static_cast<int>(panels.size());
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, kWidth, height);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  for (size_t i = 0; i < panels.size(); ++i) draw_panel(cr, panels[i], static_cast<double>(i) * kPanelHeight);
  const cairo_status_t status = cairo_surface_write_to_png(surface, png.c_str());
  cairo_destroy(cr);
  cairo_surface_destroy(surface);
  GENRT_CHECK(status == CAIRO_STATUS_SUCCESS, "cannot write {}: {}", png.string(), cairo_status_to_string(status));
}

}  // namespace genrt::bench
