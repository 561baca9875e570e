# Helpers for trainer.cpp targets: one library per module, one test binary per module.
include_guard(GLOBAL)

set(TCPP_WARNINGS -Wall -Wextra)
if(TCPP_WERROR)
  list(APPEND TCPP_WARNINGS -Werror)
endif()

# Common compile settings for every tcpp target.
function(tcpp_target_defaults target)
  target_compile_options(${target} PRIVATE ${TCPP_WARNINGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  if(TCPP_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
    # Every program and test binary writes its UBSan reports where scripts/asan.sh looks (see the file).
    get_target_property(_type ${target} TYPE)
    if(_type STREQUAL "EXECUTABLE")
      target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src/tcpp/core/ubsan_report_hook.cpp)
      target_compile_definitions(${target} PRIVATE TCPP_UBSAN_HOOK=1)
    endif()
  endif()
endfunction()

# tcpp_add_library(<module> SOURCES a.cpp b.cpp [PUBLIC_DEPS x] [PRIVATE_DEPS y] [TORCH])
# Defines target tcpp_<module>. TORCH links LibTorch and uses the shared precompiled header.
function(tcpp_add_library module)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(target tcpp_${module})
  add_library(${target} STATIC ${ARG_SOURCES})
  tcpp_target_defaults(${target})
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  if(ARG_TORCH)
    target_link_libraries(${target} PUBLIC tcpp_torch)
    tcpp_use_torch_pch(${target})
  endif()
endfunction()

# tcpp_add_test(<module> SOURCES x_test.cpp ... [DEPS libs] [LABELS unit] [TORCH])
# One GoogleTest binary per module, registered with gtest_discover_tests.
function(tcpp_add_test module)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  set(target ${module}_test)
  add_executable(${target} ${ARG_SOURCES})
  tcpp_target_defaults(${target})
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  if(ARG_TORCH)
    target_link_libraries(${target} PRIVATE tcpp_torch)
    tcpp_use_torch_pch(${target})
  endif()
  target_compile_definitions(${target} PRIVATE
    TCPP_SOURCE_DIR="${PROJECT_SOURCE_DIR}" TCPP_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${target}
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
    PROPERTIES LABELS "${ARG_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()

# tcpp_openmp_sources(<target> <sources...>): sources that call at::parallel_for. ATen's headers make it an OpenMP
# parallel region only in files compiled with OpenMP (_OPENMP); without it every call runs whole on the calling thread.
# These are compiled with OpenMP (and so without the shared torch PCH, which is built without it) and the target links
# OpenMP: gcc's libgomp, the thread pool LibTorch itself runs on. Without OpenMP they still build, on one thread.
function(tcpp_openmp_sources target)
  find_package(OpenMP QUIET COMPONENTS CXX)
  if(NOT OpenMP_CXX_FOUND)
    message(WARNING "OpenMP not found: at::parallel_for in ${ARGN} will run on one thread")
    return()
  endif()
  separate_arguments(flags UNIX_COMMAND "${OpenMP_CXX_FLAGS}")
  set_property(SOURCE ${ARGN} APPEND PROPERTY COMPILE_OPTIONS ${flags})
  set_property(SOURCE ${ARGN} PROPERTY SKIP_PRECOMPILE_HEADERS ON)
  # The runtime only: OpenMP::OpenMP_CXX would also put the compile flag on every other source of the target.
  target_link_libraries(${target} PRIVATE ${OpenMP_CXX_LIBRARIES})
endfunction()
