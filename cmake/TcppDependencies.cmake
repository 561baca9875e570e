# Third-party dependencies, all from Debian packages (scripts/setup.sh installs them).
include_guard(GLOBAL)

find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
# Parquet page codecs (with ZSTD above).
pkg_check_modules(SNAPPY REQUIRED IMPORTED_TARGET snappy)
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(BROTLIDEC REQUIRED IMPORTED_TARGET libbrotlidec)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
# Compressed data files (.gz, .bz2, .xz, .zst, .lz4 read as datasets extracts them), with ZLIB, ZSTD and LZ4 above.
# Debian's libbz2-dev has no pkg-config file: CMake's FindBZip2.
pkg_check_modules(LZMA REQUIRED IMPORTED_TARGET liblzma)
find_package(BZip2 REQUIRED)
# Dataset cards' YAML (README.md front matter: `configs`), read as PyYAML's safe_load does (it uses libyaml too).
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)

if(TCPP_WITH_TORCH)
  # LibTorch 1.13 (Debian libtorch-dev) or 2.x (a PyTorch wheel via CMAKE_PREFIX_PATH). Found once, here.
  # TCPP_TORCH_ROOT takes a LibTorch folder (include/, lib/) without its TorchConfig.cmake instead: a CUDA
  # LibTorch's config insists on the CUDA toolkit (nvcc and a host compiler nvcc accepts), which a machine with
  # only the PyTorch wheel may not have, although nothing here is compiled by nvcc.
  set(TCPP_TORCH_ROOT "" CACHE PATH "LibTorch folder (include/, lib/) to use without find_package(Torch)")
  set(TCPP_TORCH_CXX11_ABI "1" CACHE STRING "_GLIBCXX_USE_CXX11_ABI of the LibTorch in TCPP_TORCH_ROOT")
  set(TCPP_CUDA_INCLUDE_DIRS "" CACHE STRING
      "CUDA runtime headers for c10d's NCCL header when TCPP_TORCH_ROOT is a CUDA LibTorch")
  if(TCPP_TORCH_ROOT)
    include(TcppTorchFromRoot)
    tcpp_torch_from_root("${TCPP_TORCH_ROOT}")
  else()
    find_package(Torch REQUIRED)
  endif()
  # LibTorch 2.14 and later refuse C++17 ("C++20 or later compatible compiler is required to use PyTorch",
  # pytorch#178150); 1.13 to 2.13 build as C++17. Every target is created after this point.
  if(Torch_VERSION VERSION_GREATER_EQUAL 2.14 AND CMAKE_CXX_STANDARD LESS 20)
    message(STATUS "LibTorch ${Torch_VERSION} needs C++20: building trainer.cpp as C++20")
    set(CMAKE_CXX_STANDARD 20)
  endif()
  add_library(tcpp_torch INTERFACE)
  target_link_libraries(tcpp_torch INTERFACE ${TORCH_LIBRARIES})
  target_include_directories(tcpp_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  # Torch's flags (e.g. -D_GLIBCXX_USE_CXX11_ABI) must reach every TU that includes its headers.
  separate_arguments(_tcpp_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(tcpp_torch INTERFACE ${_tcpp_torch_flags})
endif()

# One precompiled header for the LibTorch-heavy translation units, reused by every torch target.
function(tcpp_use_torch_pch target)
  if(NOT TARGET tcpp_torch_pch)
    add_library(tcpp_torch_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cpp)
    target_link_libraries(tcpp_torch_pch PUBLIC tcpp_torch)
    tcpp_target_defaults(tcpp_torch_pch)
    target_precompile_headers(tcpp_torch_pch PUBLIC <torch/torch.h>)
  endif()
  target_precompile_headers(${target} REUSE_FROM tcpp_torch_pch)
endfunction()
