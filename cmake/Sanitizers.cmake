# Sanitizer builds (test/run_sanitized.sh) and libFuzzer targets (test/run_fuzz.sh).
#
#   -DKEPLER_SANITIZE=address,undefined   ASan + UBSan on every C/C++ target
#   -DKEPLER_SANITIZE=thread              TSan
#   -DKEPLER_FUZZ=ON                      the fuzz targets of test/fuzz (clang only; implies
#                                         address,undefined and adds coverage for libFuzzer)
#
# Only targets compiled by CMake's C/C++ compilers get the flags: the eBPF object is built by
# a custom command (clang -target bpf) and must never be instrumented.

set(KEPLER_SANITIZE "" CACHE STRING "Sanitizers for every C/C++ target: address,undefined or thread; empty: none")
option(KEPLER_FUZZ "Build the libFuzzer targets of test/fuzz (clang only)" OFF)

if(KEPLER_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KEPLER_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
  endif()
  if(NOT KEPLER_SANITIZE)
    set(KEPLER_SANITIZE address,undefined)
  endif()
  # Coverage feedback for the fuzzer in every library; the fuzz executables add the driver.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(KEPLER_SANITIZE)
  if(KEPLER_SANITIZE MATCHES "thread" AND KEPLER_SANITIZE MATCHES "address")
    message(FATAL_ERROR "KEPLER_SANITIZE: thread cannot be combined with address")
  endif()
  message(STATUS "Sanitizers: ${KEPLER_SANITIZE}")
  # Frame pointers: readable stacks at little cost. UBSan stays recoverable so that its
  # suppressions work; UBSAN_OPTIONS=halt_on_error=1 (the scripts set it) makes a finding fatal.
  add_compile_options(-fsanitize=${KEPLER_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${KEPLER_SANITIZE})
endif()
