# Compiling eBPF programs into libbpf skeletons.
#
#   kepler_bpf_vmlinux_h(<out_dir>)      vmlinux.h into <out_dir>, at configure time
#   bpf_skeleton(<name> SOURCE <x.bpf.c> HEADERS <x.h>...)
#       → ${CMAKE_CURRENT_BINARY_DIR}/<name>.skel.h (struct <name>_bpf) and target <name>_skel_gen

find_program(KEPLER_BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(KEPLER_BPF_STRIP NAMES llvm-strip llvm-strip-14 REQUIRED)
find_program(KEPLER_BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

set(KEPLER_BPF_VMLINUX_H "" CACHE FILEPATH
    "A vmlinux.h to compile against; empty = the one kept in bpf/vmlinux/<arch>/")
option(KEPLER_BPF_VMLINUX_FROM_HOST "Generate vmlinux.h from this host's BTF instead" OFF)
set(KEPLER_BPF_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "The BTF that vmlinux.h is generated from")

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(KEPLER_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(KEPLER_BPF_ARCH arm64)
else()
  message(FATAL_ERROR "eBPF: no __TARGET_ARCH for processor ${CMAKE_SYSTEM_PROCESSOR}")
endif()

# The kernel types the probes compile against: by default the vmlinux.h kept in the repository
# for this architecture (bpf/vmlinux/README.md), so a build never depends on the build machine's
# kernel; CO-RE relocates every field access on the target kernel at load time. Copied at
# configure time, not by a custom command, whose OUTPUT only targets of its own directory would
# see. Rewritten only when it changes, so a re-configure does not rebuild the probes.
function(kepler_bpf_vmlinux_h out_dir)
  file(MAKE_DIRECTORY ${out_dir})
  set(pinned ${KEPLER_BPF_VMLINUX_H})
  if(NOT pinned AND NOT KEPLER_BPF_VMLINUX_FROM_HOST)
    set(pinned ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/vmlinux/${KEPLER_BPF_ARCH}/vmlinux.h)
    if(NOT EXISTS ${pinned})
      message(FATAL_ERROR "eBPF: no vmlinux.h kept for ${KEPLER_BPF_ARCH} (bpf/vmlinux/README.md says how "
              "to make one); configure with -DKEPLER_BPF_VMLINUX_FROM_HOST=ON to generate it from this "
              "host's BTF, or -DKEPLER_BPF_VMLINUX_H=<file>")
    endif()
  endif()
  if(pinned)
    if(NOT EXISTS ${pinned})
      message(FATAL_ERROR "eBPF: KEPLER_BPF_VMLINUX_H=${pinned} does not exist")
    endif()
    file(COPY_FILE ${pinned} ${out_dir}/vmlinux.h ONLY_IF_DIFFERENT)
    return()
  endif()
  if(NOT EXISTS ${KEPLER_BPF_BTF})
    message(FATAL_ERROR "eBPF: no BTF at ${KEPLER_BPF_BTF} to generate vmlinux.h from. Build on a "
            "kernel with CONFIG_DEBUG_INFO_BTF=y, or leave KEPLER_BPF_VMLINUX_FROM_HOST off.")
  endif()
  execute_process(COMMAND ${KEPLER_BPFTOOL} btf dump file ${KEPLER_BPF_BTF} format c
                  OUTPUT_FILE ${out_dir}/vmlinux.h.new RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "eBPF: `bpftool btf dump file ${KEPLER_BPF_BTF} format c` failed: ${err}")
  endif()
  file(COPY_FILE ${out_dir}/vmlinux.h.new ${out_dir}/vmlinux.h ONLY_IF_DIFFERENT)
  file(REMOVE ${out_dir}/vmlinux.h.new)
endfunction()

function(bpf_skeleton name)
  cmake_parse_arguments(arg "" "SOURCE;VMLINUX_DIR" "HEADERS" ${ARGN})
  get_filename_component(source ${arg_SOURCE} ABSOLUTE)
  get_filename_component(source_dir ${source} DIRECTORY)
  set(object ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(skeleton ${CMAKE_CURRENT_BINARY_DIR}/${name}.skel.h)
  set(headers)
  foreach(header ${arg_HEADERS})
    get_filename_component(header ${header} ABSOLUTE)
    list(APPEND headers ${header})
  endforeach()
  # -g carries the BTF and the CO-RE relocations; -O2 is what the verifier accepts in practice.
  add_custom_command(
    OUTPUT ${object}
    COMMAND ${KEPLER_BPF_CLANG} -g -O2 -Wall -target bpf -D__TARGET_ARCH_${KEPLER_BPF_ARCH}
            -I${arg_VMLINUX_DIR} -I${source_dir} -c ${source} -o ${object}
    COMMAND ${KEPLER_BPF_STRIP} -g ${object}
    DEPENDS ${source} ${headers} ${arg_VMLINUX_DIR}/vmlinux.h
    COMMENT "eBPF: compiling ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skeleton}
    COMMAND ${KEPLER_BPFTOOL} gen skeleton ${object} name ${name}_bpf > ${skeleton}
    DEPENDS ${object}
    COMMENT "eBPF: generating ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skeleton})
endfunction()
