// Harness memory that never comes from the allocator under test: arrays
// backed by anonymous mmap, registered in HarnessMappings so RSS splits.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "bench/base/harness_mappings.h"

namespace allocmark {

template <class T>
class MappedArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  MappedArray() = default;
  explicit MappedArray(std::size_t count) : count_(count) {
    if (count == 0) return;
    void* p = mmap(nullptr, Bytes(), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<T*>(p);  // zero-filled by the kernel
    // Never huge: AnonHugePages then counts only pages outside the harness,
    // and the harness's resident size does not jump by 2 MiB steps.
    madvise(p, Bytes(), MADV_NOHUGEPAGE);
    HarnessMappings::Add(p, Bytes());
  }
  MappedArray(MappedArray&& other) noexcept { Swap(other); }
  MappedArray& operator=(MappedArray&& other) noexcept {
    MappedArray(std::move(other)).Swap(*this);
    return *this;
  }
  MappedArray(const MappedArray&) = delete;
  MappedArray& operator=(const MappedArray&) = delete;
  ~MappedArray() {
    if (data_ == nullptr) return;
    HarnessMappings::Remove(data_);
    munmap(data_, Bytes());
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return count_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }

 private:
  std::size_t Bytes() const { return count_ * sizeof(T); }
  void Swap(MappedArray& other) {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
  }
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace allocmark
