#include "cma_svg.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <sstream>

namespace dmaheap {
namespace {

constexpr int kWidth = 960;  // the document
constexpr int kBarX = 40;    // where bars start
constexpr int kBarW = 880;   // one area's bar
constexpr int kBarH = 36;

// Owners get colours in the order they first appear: distinct hues, readable text on white.
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2",
                                "#edc948", "#9c755f", "#ff9da7", "#5b8e7d", "#8cd17d"};

std::string Escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // Control bytes are not allowed in XML; invalid UTF-8 is shown as '?'.
        out += (c < 0x20 || c >= 0x80) ? '?' : static_cast<char>(c);
    }
  }
  return out;
}

std::string Pages(uint64_t pages) {
  char buf[64];
  const uint64_t bytes = pages * 4096;
  if (bytes >= (uint64_t{1} << 20) && bytes % (uint64_t{1} << 20) == 0) {
    std::snprintf(buf, sizeof(buf), "%" PRIu64 " pages (%" PRIu64 " MiB)", pages, bytes >> 20);
  } else {
    std::snprintf(buf, sizeof(buf), "%" PRIu64 " pages (%" PRIu64 " KiB)", pages, bytes >> 10);
  }
  return buf;
}

std::string Text(int x, int y, const std::string& s, const char* extra = "") {
  char head[96];
  std::snprintf(head, sizeof(head), "<text x=\"%d\" y=\"%d\"%s>", x, y, extra);
  return head + Escape(s) + "</text>\n";
}

std::string Rect(double x, double y, double w, double h, const char* fill,
                 const std::string& tip = "", const char* extra = "") {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"%s", x, y,
                std::max(w, 1.0), h, fill, extra);
  std::string out = buf;
  if (tip.empty()) return out + "/>\n";
  return out + "><title>" + Escape(tip) + "</title></rect>\n";
}

// One picture from `y`; returns the height it took.
int DrawPicture(const CmaPicture& p, int y, std::map<std::string, const char*>& colours,
                std::string& out) {
  const double scale = static_cast<double>(kBarW) / static_cast<double>(p.area.count);
  uint64_t used = 0;
  for (const CmaPlacement& l : p.live) used += l.count;
  out += Text(kBarX, y + 16, p.title, " font-weight=\"bold\"");
  char line[256];
  std::snprintf(line, sizeof(line), "base pfn 0x%" PRIx64 ", %s; used %s, largest free chunk %s",
                p.area.base_pfn, Pages(p.area.count).c_str(), Pages(used).c_str(),
                Pages(p.maxchunk_pages).c_str());
  out += Text(kBarX, y + 34, line, " font-size=\"12\"");
  const int bar_y = y + 44;
  out += Rect(kBarX, bar_y, kBarW, kBarH, "#eeeeee", "free");
  // Free holes: outlined, so a reader sees where they are even when thin.
  std::vector<CmaPlacement> live = p.live;
  std::sort(live.begin(), live.end(),
            [](const CmaPlacement& a, const CmaPlacement& b) { return a.pfn < b.pfn; });
  for (const CmaPlacement& l : live) {
    const std::string owner = l.task + "-" + std::to_string(l.pid);
    auto [it, fresh] = colours.emplace(owner, nullptr);
    if (fresh) it->second = kPalette[(colours.size() - 1) % std::size(kPalette)];
    std::snprintf(line, sizeof(line), "%s: pfn 0x%" PRIx64 ", %s (trace line %zu)", owner.c_str(),
                  l.pfn, Pages(l.count).c_str(), l.line);
    out += Rect(kBarX + static_cast<double>(l.pfn - p.area.base_pfn) * scale, bar_y,
                static_cast<double>(l.count) * scale, kBarH, it->second, line,
                " stroke=\"#ffffff\" stroke-width=\"1\"");  // buffers side by side stay apart
  }
  std::snprintf(line, sizeof(line),
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                "stroke=\"#333\"/>\n",
                kBarX, bar_y, kBarW, kBarH);
  out += line;
  std::snprintf(line, sizeof(line), "pfn 0x%" PRIx64, p.area.base_pfn);
  out += Text(kBarX, bar_y + kBarH + 14, line, " font-size=\"11\"");
  std::snprintf(line, sizeof(line), "0x%" PRIx64, p.area.base_pfn + p.area.count);
  out += Text(kBarX + kBarW, bar_y + kBarH + 14, line, " font-size=\"11\" text-anchor=\"end\"");
  int height = 44 + kBarH + 22;
  if (p.failure != nullptr) {
    // The request beside the largest hole, on the bar's scale (at least a pixel each).
    const int fy = y + height;
    const double req_w = static_cast<double>(p.failure->count) * scale;
    const double hole_w = static_cast<double>(p.failure->maxchunk_pages) * scale;
    out += Rect(kBarX + 150, fy, req_w, 16, "#d62728");
    out += Text(kBarX, fy + 13, "failing request", " font-size=\"12\"");
    std::snprintf(line, sizeof(line), "%s, align %u (trace line %zu, %s-%d)",
                  Pages(p.failure->count).c_str(), p.failure->align, p.failure->line,
                  p.failure->task.c_str(), static_cast<int>(p.failure->pid));
    out += Text(kBarX + 160 + static_cast<int>(std::min(req_w, 500.0)), fy + 13, line,
                " font-size=\"12\"");
    out += Rect(kBarX + 150, fy + 22, hole_w, 16, "#2ca02c");
    out += Text(kBarX, fy + 35, "largest hole", " font-size=\"12\"");
    out += Text(kBarX + 160 + static_cast<int>(std::min(hole_w, 500.0)), fy + 35,
                Pages(p.failure->maxchunk_pages), " font-size=\"12\"");
    height += 46;
  }
  return height + 12;
}

// Used and maxchunk (pages) after each event; failures marked.
int DrawTimeline(const std::vector<CmaSample>& samples, const std::vector<CmaReplayFailure>& fails,
                 uint64_t area_pages, int y, std::string& out) {
  const int h = 180, x0 = kBarX, w = kBarW;
  out += Text(x0, y + 16, "used and largest free chunk over the trace (by event)",
              " font-weight=\"bold\"");
  const int top = y + 28;
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" "
                "stroke=\"#999\"/>\n",
                x0, top, w, h);
  out += buf;
  auto px = [&](size_t i) {
    return x0 + (samples.size() <= 1
                     ? 0.0
                     : static_cast<double>(i) * w / static_cast<double>(samples.size() - 1));
  };
  auto py = [&](uint64_t pages) {
    return top + h - static_cast<double>(pages) * h / static_cast<double>(area_pages);
  };
  for (int series = 0; series < 2; ++series) {
    std::string points;
    for (size_t i = 0; i < samples.size(); ++i) {
      const uint64_t v = series == 0 ? samples[i].used_pages : samples[i].maxchunk_pages;
      std::snprintf(buf, sizeof(buf), "%.1f,%.1f ", px(i), py(v));
      points += buf;
    }
    out += "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" +
           std::string(series == 0 ? "#4e79a7" : "#f28e2b") + "\" points=\"" + points + "\"/>\n";
  }
  // A failure sits between the samples around its line.
  for (const CmaReplayFailure& f : fails) {
    size_t i = 0;
    while (i < samples.size() && samples[i].line < f.line) ++i;
    std::snprintf(buf, sizeof(buf),
                  "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d62728\" "
                  "stroke-dasharray=\"3,2\"><title>line %zu: %s failed</title></line>\n",
                  px(i), top, px(i), top + h, f.line, Pages(f.count).c_str());
    out += buf;
  }
  out += Text(x0 + w - 300, top + h + 16, "- used", " font-size=\"12\" fill=\"#4e79a7\"");
  out += Text(x0 + w - 230, top + h + 16, "- largest free chunk",
              " font-size=\"12\" fill=\"#f28e2b\"");
  out += Text(x0 + w - 90, top + h + 16, ": failure", " font-size=\"12\" fill=\"#d62728\"");
  out += Text(x0, top + h + 16, "0 to " + Pages(area_pages) + " (top)", " font-size=\"12\"");
  return 28 + h + 30;
}

}  // namespace

std::string CmaSvg(const std::string& heading, const std::vector<CmaPicture>& pictures,
                   const std::vector<CmaSample>& timeline,
                   const std::vector<CmaReplayFailure>& failures) {
  std::string body;
  std::map<std::string, const char*> colours;
  int y = 44;
  for (const CmaPicture& p : pictures) y += DrawPicture(p, y, colours, body);
  if (!timeline.empty() && !pictures.empty()) {
    y += DrawTimeline(timeline, failures, pictures.front().area.count, y, body);
  }
  // The legend: every owner drawn, in order of appearance.
  if (!colours.empty()) {
    body += Text(kBarX, y + 14, "owners", " font-weight=\"bold\"");
    y += 22;
    int x = kBarX;
    std::vector<std::pair<std::string, const char*>> order(colours.begin(), colours.end());
    for (const auto& [owner, colour] : order) {
      const int w = 24 + static_cast<int>(owner.size()) * 7;
      if (x + w > kBarX + kBarW) {
        x = kBarX;
        y += 20;
      }
      body += Rect(x, y, 12, 12, colour);
      body += Text(x + 16, y + 11, owner, " font-size=\"12\"");
      x += w + 12;
    }
    y += 24;
  }
  char head[256];
  std::snprintf(head, sizeof(head),
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"14\">\n",
                kWidth, y + 10, kWidth, y + 10);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + std::string(head) +
         Rect(0, 0, kWidth, y + 10, "#ffffff") +
         Text(kBarX, 26, heading, " font-size=\"18\" font-weight=\"bold\"") + body + "</svg>\n";
}

std::vector<CmaPicture> CmaPicturesFromView(const std::string& view) {
  std::vector<CmaPicture> pictures;
  std::istringstream in(view);
  for (std::string line; std::getline(in, line);) {
    const size_t slash = line.find('/'), colon = line.find(": ", slash);
    if (slash == std::string::npos || colon == std::string::npos) continue;
    const std::string name = line.substr(0, slash), key = line.substr(slash + 1, colon - slash - 1);
    const std::string value = line.substr(colon + 2);
    if (pictures.empty() || pictures.back().area.name != name) {
      pictures.push_back({});
      pictures.back().area.name = name;
      pictures.back().title = name;
    }
    CmaPicture& p = pictures.back();
    if (key == "base_pfn") p.area.base_pfn = std::strtoull(value.c_str(), nullptr, 10);
    if (key == "count") p.area.count = std::strtoull(value.c_str(), nullptr, 10);
    if (key == "order_per_bit") p.area.order_per_bit = std::atoi(value.c_str());
    if (key == "maxchunk") p.maxchunk_pages = std::strtoull(value.c_str(), nullptr, 10);
    if (key == "range") {  // PFN COUNT PID COMM
      std::istringstream fields(value);
      CmaPlacement r;
      std::string pfn;
      fields >> pfn >> r.count >> r.pid;
      std::getline(fields >> std::ws, r.task);
      r.pfn = std::strtoull(pfn.c_str(), nullptr, 16);
      p.live.push_back(std::move(r));
    }
  }
  // An area the view gave no size is not drawn.
  std::erase_if(pictures, [](const CmaPicture& p) { return p.area.count == 0; });
  return pictures;
}

}  // namespace dmaheap
