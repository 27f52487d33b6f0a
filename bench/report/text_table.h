// Aligned plain-text tables that fit a terminal width: multi-line headers,
// and column blocks that repeat the key columns when a table is too wide.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace allocmark {

enum class Align { kLeft, kRight };

/// A table of text cells. Columns carry header lines (bottom-aligned, so a
/// unit can sit under a name); rows are added whole.
class TextTable {
 public:
  /// The first `key_columns` columns are repeated in every block when the
  /// table has to be split to fit a width.
  explicit TextTable(std::size_t key_columns = 1) : keys_(key_columns) {}

  void AddColumn(std::vector<std::string> header, Align align);
  /// Cells past the last column are ignored; missing ones are blank.
  void AddRow(std::vector<std::string> cells);
  std::size_t rows() const { return rows_.size(); }
  /// Aligned text, each line at most `max_width` wide unless a single
  /// column is wider; blocks of columns are separated by a blank line.
  std::string Render(std::size_t max_width) const;

 private:
  struct Column {
    std::vector<std::string> header;
    Align align;
  };
  std::size_t Width(std::size_t col) const;
  std::string RenderBlock(const std::vector<std::size_t>& cols) const;

  std::size_t keys_;
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

/// `text` folded at spaces into lines of at most `width` characters, the
/// first starting with `first`, the others with `indent`.
std::string Wrap(const std::string& text, std::size_t width,
                 const std::string& first, const std::string& indent);

}  // namespace allocmark
