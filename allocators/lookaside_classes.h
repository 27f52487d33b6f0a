// The lookaside adapters' size classes: 28 classes up to 4 KiB, the lookup
// from a request size to its class, and what a full set of lists can hold.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace allocmark::internal {

/// Size classes: every 16 bytes up to 128, then four per power of two up to
/// 4 KiB (worst-case internal waste 25 %, as in jemalloc's small classes).
inline constexpr std::array<std::uint32_t, 28> kLookasideClassSizes = {
    16,   32,   48,   64,   80,   96,   112,  128, 160, 192,
    224,  256,  320,  384,  448,  512,  640,  768, 896, 1024,
    1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096};

inline constexpr std::size_t kLookasideNumClasses = kLookasideClassSizes.size();
inline constexpr std::size_t kLookasideMaxClassSize =
    kLookasideClassSizes.back();

/// Sum of the class sizes (26368 bytes): one block of every class. Every
/// cached block is a glibc block of exactly its class size, so n blocks per
/// class hold n * kLookasideClassBytes requested bytes; with the kernel's
/// maximum depth of 256 the shared lists hold at most 6.4 MiB (6.6 MiB with
/// glibc's chunk headers).
inline constexpr std::size_t kLookasideClassBytes = [] {
  std::size_t sum = 0;
  for (std::uint32_t size : kLookasideClassSizes) sum += size;
  return sum;
}();

/// Class index for each size rounded up to 16 bytes: one load per lookup.
inline constexpr auto kLookasideClassOf16 = [] {
  std::array<std::uint8_t, kLookasideMaxClassSize / 16 + 1> table{};
  std::size_t c = 0;
  for (std::size_t i = 0; i < table.size(); ++i) {
    while (kLookasideClassSizes[c] < i * 16) ++c;
    table[i] = static_cast<std::uint8_t>(c);
  }
  return table;
}();

}  // namespace allocmark::internal
