// Start-up identity checks: which shared object `malloc` really resolves to,
// so a worker never reports numbers for an allocator it is not running.
#pragma once

#include <string>
#include <string_view>

#include "allocators/allocator.h"

namespace allocmark {

/// Path of the shared object that defines `symbol` as the process sees it
/// (dlsym(RTLD_DEFAULT) + dladdr), or "" when it is unresolved.
std::string LibraryDefining(const char* symbol);

/// Report for "malloc must come from a library whose file name contains
/// `expected`" (e.g. "libjemalloc"). `ownership_ok` and `ownership_detail`
/// are the allocator-specific check the adapter ran.
IdentityReport ExpectMallocFrom(std::string_view expected, bool ownership_ok,
                                std::string_view ownership_detail);

/// glibc's version string, e.g. "2.36".
std::string GlibcVersion();

}  // namespace allocmark
