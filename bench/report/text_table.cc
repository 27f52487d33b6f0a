// Aligned plain-text tables (see text_table.h). Widths count bytes: every
// cell the reporters write is ASCII.
#include "bench/report/text_table.h"

#include <algorithm>

namespace allocmark {

namespace {
constexpr std::size_t kGap = 2;  // spaces between columns
}  // namespace

void TextTable::AddColumn(std::vector<std::string> header, Align align) {
  columns_.push_back({std::move(header), align});
}

void TextTable::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::size_t TextTable::Width(std::size_t col) const {
  std::size_t w = 0;
  for (const std::string& h : columns_[col].header) w = std::max(w, h.size());
  for (const auto& r : rows_) w = std::max(w, r[col].size());
  return w;
}

std::string TextTable::RenderBlock(const std::vector<std::size_t>& cols) const {
  std::vector<std::size_t> width;
  std::size_t header_lines = 0;
  for (std::size_t c : cols) {
    width.push_back(Width(c));
    header_lines = std::max(header_lines, columns_[c].header.size());
  }
  auto line = [&](auto cell_of) {
    std::string out;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      const std::string s = cell_of(cols[i]);
      const std::string pad(width[i] - s.size(), ' ');
      const bool left = columns_[cols[i]].align == Align::kLeft;
      if (i > 0) out += std::string(kGap, ' ');
      out += left ? s + pad : pad + s;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out;
  for (std::size_t l = 0; l < header_lines; ++l) {
    out += line([&](std::size_t c) {
      const auto& h = columns_[c].header;
      const std::size_t skip = header_lines - h.size();  // bottom-aligned
      return l < skip ? std::string() : h[l - skip];
    });
  }
  for (const auto& r : rows_) out += line([&](std::size_t c) { return r[c]; });
  return out;
}

std::string TextTable::Render(std::size_t max_width) const {
  const std::size_t keys = std::min(keys_, columns_.size());
  std::vector<std::size_t> key_cols;
  std::size_t key_width = 0;
  for (std::size_t c = 0; c < keys; ++c) {
    key_cols.push_back(c);
    key_width += Width(c) + (c ? kGap : 0);
  }
  std::string out;
  std::vector<std::size_t> block = key_cols;
  std::size_t used = key_width;
  for (std::size_t c = keys; c < columns_.size(); ++c) {
    const std::size_t w = Width(c) + (block.empty() ? 0 : kGap);
    if (used + w > max_width && block.size() > key_cols.size()) {
      out += (out.empty() ? "" : "\n") + RenderBlock(block);
      block = key_cols;
      used = key_width;
    }
    block.push_back(c);
    used += Width(c) + (block.size() > 1 ? kGap : 0);
  }
  if (block.size() > key_cols.size() || out.empty())
    out += (out.empty() ? "" : "\n") + RenderBlock(block);
  return out;
}

std::string Wrap(const std::string& text, std::size_t width,
                 const std::string& first, const std::string& indent) {
  std::string out, line = first;
  bool empty = true;  // no word on `line` yet
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (!empty && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = indent;
      empty = true;
    }
    line += (empty ? "" : " ") + word;
    empty = false;
  }
  if (!empty) out += line + "\n";
  return out;
}

}  // namespace allocmark
