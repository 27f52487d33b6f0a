# The adapter registry: one row per allocator. Workers, conformance tests,
# micro suites, VM guest workers and the run-time catalogue are all made from
# this table (allocmark_registry.h). Adding an allocator = its header + a row.
#
# allocmark_adapter(<name> <Type in allocators/<header>> <header>
#   [FIND pkg:<VAR>=<pkg-config module> | cmake:<package>[:<component>...]]
#   [LIBS <link targets>...]        libraries its worker links
#   [GUEST <static archives>...]    archives for the VM guest worker; "libc"
#                                   when it needs none
#   [DEBIAN <package>]              what provides FIND, named when missing
#   DESCRIPTION <one line>)

allocmark_adapter(system SystemAllocator system.h GUEST libc
  DESCRIPTION "glibc malloc/free/realloc (the baseline)")
allocmark_adapter(jemalloc JemallocAllocator jemalloc.h
  FIND pkg:JEMALLOC=jemalloc LIBS PkgConfig::JEMALLOC DEBIAN libjemalloc-dev
  GUEST libjemalloc_pic.a libm.a
  DESCRIPTION "Debian libjemalloc: mallocx/sdallocx/rallocx")
allocmark_adapter(mimalloc MimallocAllocator mimalloc.h
  FIND cmake:mimalloc LIBS mimalloc DEBIAN libmimalloc-dev
  DESCRIPTION "Debian libmimalloc: mi_malloc/mi_free_size/mi_realloc")
allocmark_adapter(tbb TbbAllocator tbb.h
  FIND cmake:TBB:tbbmalloc LIBS TBB::tbbmalloc DEBIAN libtbb-dev
  DESCRIPTION "oneTBB scalable_malloc API (malloc stays glibc)")
allocmark_adapter(tbb-proxy TbbProxyAllocator tbb.h
  FIND cmake:TBB:tbbmalloc:tbbmalloc_proxy
  LIBS TBB::tbbmalloc TBB::tbbmalloc_proxy DEBIAN libtbb-dev
  DESCRIPTION "oneTBB libtbbmalloc_proxy as the process malloc")
allocmark_adapter(tcmalloc TcmallocAllocator tcmalloc.h
  FIND pkg:TCMALLOC=libtcmalloc_minimal LIBS PkgConfig::TCMALLOC
  DEBIAN libgoogle-perftools-dev GUEST libtcmalloc_minimal.a
  DESCRIPTION "gperftools tcmalloc_minimal: tc_malloc/tc_free")
allocmark_adapter(lookaside LookasideAllocator lookaside.h GUEST libc
  DESCRIPTION "lookaside lists over glibc, per-thread lists in front (Windows kernel style)")
allocmark_adapter(lookaside-shared LookasideSharedAllocator lookaside.h GUEST libc
  DESCRIPTION "lookaside lists over glibc, shared lists only")
allocmark_adapter(null NullAllocator null.h GUEST libc
  DESCRIPTION "bump allocator that never frees: the harness's own cost")
# Add a new allocator here.
