// Writing and mapping stream files. The reader trusts nothing it maps: every
// offset and count is bounds-checked before use, and the ops are re-hashed
// against the digest the writer stored.
#include "bench/stream/stream_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "bench/base/harness_mappings.h"
#include "bench/stream/stream_digest.h"

namespace allocmark {
namespace {

constexpr std::uint64_t kAlign = 4096;

// Fixed part of the file; then `threads` StreamCounts and `threads`
// ThreadArray.
struct FileHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t threads;
  std::uint64_t spec_hash;
  std::uint64_t ops_per_thread;
  std::uint64_t seed;
  std::uint32_t slots_per_thread;
  std::uint32_t mailboxes;
  std::uint32_t lag;
  std::uint32_t ring_depth;
  std::uint32_t hand_offs;
  std::uint32_t reserved;
  std::uint64_t digest;
  std::uint64_t chunks;
  std::uint64_t chunk_table_offset;
  std::uint64_t file_bytes;
};

struct ThreadArray {
  std::uint64_t offset;  // bytes from the start of the file
  std::uint64_t count;   // ops
};

std::uint64_t AlignUp(std::uint64_t x) {
  return (x + kAlign - 1) / kAlign * kAlign;
}

std::uint64_t HeaderBytes(std::uint32_t threads) {
  return sizeof(FileHeader) +
         std::uint64_t{threads} * (sizeof(StreamCounts) + sizeof(ThreadArray));
}

[[noreturn]] void Fail(const std::string& path, const std::string& why) {
  throw SpecError(path + ": " + why);
}

std::string Errno() { return std::strerror(errno); }

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void WriteAll(int fd, const void* data, std::size_t bytes, std::uint64_t at,
              const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = pwrite(fd, p, bytes, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail(path, "cannot write: " + Errno());
    p += n;
    at += static_cast<std::uint64_t>(n);
    bytes -= static_cast<std::size_t>(n);
  }
}

}  // namespace

std::uint64_t HashSpecFile(const std::string& path) {
  Fd f(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) Fail(path, "cannot read: " + Errno());
  std::uint64_t h = 0xcbf29ce484222325ULL;
  char buf[1 << 14];
  while (true) {
    const ssize_t n = read(f.fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Fail(path, "cannot read: " + Errno());
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 0x100000001b3ULL;
    }
  }
  return h;
}

void WriteStreamFile(const WorkloadSpec& spec, const StreamKey& key,
                     const std::string& path) {
  StreamGenerator gen(spec, key.threads, key.ops_per_thread, key.seed);
  const std::uint32_t n = key.threads;
  // Each thread's ops go to an unlinked scratch file first: the final layout
  // needs every thread's total before the first array can be placed.
  std::vector<std::unique_ptr<Fd>> scratch;
  const std::string dir = path.substr(0, path.find_last_of('/') + 1);
  for (std::uint32_t t = 0; t < n; ++t) {
    scratch.push_back(
        std::make_unique<Fd>(open(dir.empty() ? "." : dir.c_str(),
                                  O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)));
    if (scratch.back()->fd < 0)
      Fail(path, "cannot create a scratch file: " + Errno());
  }
  std::vector<std::vector<Op>> buffers(n, std::vector<Op>(kStreamFileChunkOps));
  std::vector<std::span<Op>> spans(buffers.begin(), buffers.end());
  std::vector<std::size_t> filled(n);
  std::vector<std::uint64_t> totals(n, 0);
  std::vector<std::uint64_t> ends(totals);  // chunk 0 starts at 0
  bool more = true;
  while (more) {
    more = gen.NextChunk(spans, filled);
    for (std::uint32_t t = 0; t < n; ++t) {
      WriteAll(scratch[t]->fd, buffers[t].data(), filled[t] * sizeof(Op),
               totals[t] * sizeof(Op), path);
      totals[t] += filled[t];
    }
    ends.insert(ends.end(), totals.begin(), totals.end());
  }

  FileHeader h{};
  std::memcpy(h.magic, kStreamFileMagic, sizeof(h.magic));
  h.version = kStreamFileVersion;
  h.threads = n;
  h.spec_hash = key.spec_hash;
  h.ops_per_thread = key.ops_per_thread;
  h.seed = key.seed;
  const StreamPlan& plan = gen.plan();
  h.slots_per_thread = plan.slots_per_thread;
  h.mailboxes = plan.mailboxes;
  h.lag = plan.lag;
  h.ring_depth = plan.ring_depth;
  h.hand_offs = plan.mailboxes > 0;
  h.digest = gen.Digest();
  h.chunks = ends.size() / n - 1;
  std::vector<ThreadArray> arrays(n);
  std::uint64_t at = AlignUp(HeaderBytes(n));
  for (std::uint32_t t = 0; t < n; ++t) {
    arrays[t] = {at, totals[t]};
    at = AlignUp(at + totals[t] * sizeof(Op));
  }
  h.chunk_table_offset = at;
  h.file_bytes = at + ends.size() * sizeof(std::uint64_t);

  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  Fd out(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (out.fd < 0) Fail(tmp, "cannot create: " + Errno());
  try {
    WriteAll(out.fd, &h, sizeof(h), 0, tmp);
    std::vector<StreamCounts> counts;
    for (std::uint32_t t = 0; t < n; ++t) counts.push_back(gen.counts(t));
    WriteAll(out.fd, counts.data(), n * sizeof(StreamCounts), sizeof(h), tmp);
    WriteAll(out.fd, arrays.data(), n * sizeof(ThreadArray),
             sizeof(h) + n * sizeof(StreamCounts), tmp);
    std::vector<char> buf(1 << 20);
    for (std::uint32_t t = 0; t < n; ++t) {
      const std::uint64_t bytes = totals[t] * sizeof(Op);
      for (std::uint64_t done = 0; done < bytes;) {
        const ssize_t r =
            pread(scratch[t]->fd, buf.data(),
                  std::min<std::uint64_t>(buf.size(), bytes - done),
                  static_cast<off_t>(done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) Fail(path, "cannot read back a scratch file: " + Errno());
        WriteAll(out.fd, buf.data(), static_cast<std::size_t>(r),
                 arrays[t].offset + done, tmp);
        done += static_cast<std::uint64_t>(r);
      }
    }
    WriteAll(out.fd, ends.data(), ends.size() * sizeof(std::uint64_t),
             h.chunk_table_offset, tmp);
    if (rename(tmp.c_str(), path.c_str()) != 0)
      Fail(path, "cannot rename into place: " + Errno());
  } catch (...) {
    unlink(tmp.c_str());
    throw;
  }
}

StreamFile::StreamFile(const std::string& path, const StreamKey& expected)
    : path_(path) {
  Fd f(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) Fail(path, "cannot open stream file: " + Errno());
  struct stat st;
  if (fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
    Fail(path, "not a regular file");
  bytes_ = static_cast<std::size_t>(st.st_size);
  if (bytes_ < sizeof(FileHeader)) Fail(path, "truncated stream file");
  // MAP_POPULATE: every page faults in here, before the replay's memory
  // baseline, not inside a timed segment.
  base_ = mmap(nullptr, bytes_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, f.fd, 0);
  if (base_ == MAP_FAILED) {
    base_ = nullptr;
    Fail(path, "cannot map: " + Errno());
  }
  HarnessMappings::Add(base_, bytes_);
  try {
    const auto* bytes = static_cast<const char*>(base_);
    FileHeader h;
    std::memcpy(&h, bytes, sizeof(h));
    if (std::memcmp(h.magic, kStreamFileMagic, sizeof(h.magic)) != 0)
      Fail(path, "not an allocmark stream file");
    if (h.version != kStreamFileVersion)
      Fail(path, "stream file version " + std::to_string(h.version) +
                     ", this build reads " +
                     std::to_string(kStreamFileVersion));
    if (h.threads == 0 || h.threads > kMaxThreads)
      Fail(path, "bad thread count");
    if (h.file_bytes != bytes_ || HeaderBytes(h.threads) > bytes_)
      Fail(path, "truncated stream file");
    const StreamKey key{h.spec_hash, h.threads, h.ops_per_thread, h.seed};
    if (!(key == expected))
      Fail(path,
           "stream file was generated for another workload, thread "
           "count, op count or seed");
    plan_ = {h.threads, h.slots_per_thread, h.mailboxes, h.ops_per_thread,
             h.lag,     h.ring_depth};
    digest_ = h.digest;
    counts_.resize(h.threads);
    std::memcpy(counts_.data(), bytes + sizeof(h),
                h.threads * sizeof(StreamCounts));
    std::vector<ThreadArray> arrays(h.threads);
    std::memcpy(arrays.data(),
                bytes + sizeof(h) + h.threads * sizeof(StreamCounts),
                h.threads * sizeof(ThreadArray));
    if (h.chunks == 0 ||
        h.chunks > bytes_ / sizeof(std::uint64_t) / h.threads ||
        h.chunk_table_offset > bytes_ ||
        (bytes_ - h.chunk_table_offset) / sizeof(std::uint64_t) / h.threads <
            h.chunks + 1 ||
        h.chunk_table_offset % alignof(std::uint64_t) != 0)
      Fail(path, "chunk table outside the file");
    chunks_ = h.chunks;
    ends_ =
        reinterpret_cast<const std::uint64_t*>(bytes + h.chunk_table_offset);
    std::vector<std::uint64_t> per_thread;
    for (std::uint32_t t = 0; t < h.threads; ++t) {
      const ThreadArray& a = arrays[t];
      if (a.offset % alignof(Op) != 0 || a.offset > bytes_ ||
          a.count > (bytes_ - a.offset) / sizeof(Op))
        Fail(path, "op array outside the file");
      if (ChunkStart(0, t) != 0 || ChunkStart(chunks_, t) != a.count)
        Fail(path, "chunk table does not cover the ops");
      for (std::size_t k = 0; k < chunks_; ++k) {
        if (ChunkStart(k + 1, t) < ChunkStart(k, t))
          Fail(path, "chunk table runs backwards");
      }
      ops_.push_back(reinterpret_cast<const Op*>(bytes + a.offset));
      StreamDigest d;
      d.Add(std::span<const Op>(ops_.back(), a.count));
      per_thread.push_back(d.value());
    }
    if (h.hand_offs) per_thread.push_back(StreamDigest::LagElement(h.lag));
    if (StreamDigest::Combine(per_thread) != digest_)
      Fail(path, "ops do not match the stream digest");
  } catch (...) {
    HarnessMappings::Remove(base_);
    munmap(base_, bytes_);
    throw;
  }
}

StreamFile::~StreamFile() {
  HarnessMappings::Remove(base_);
  munmap(base_, bytes_);
}

StreamCounts StreamFile::TotalCounts() const {
  StreamCounts total;
  for (const StreamCounts& c : counts_) total.Add(c);
  return total;
}

std::span<const Op> StreamFile::Ops(std::uint32_t t, std::size_t first,
                                    std::size_t last) const {
  const std::uint64_t begin = ChunkStart(first, t);
  return {ops_[t] + begin, ChunkStart(last, t) - begin};
}

}  // namespace allocmark
