# Compiling eBPF programs into libbpf skeletons (CAF-LIBBPF-NOTES §3.2–3.5).
#
#   kepler_bpf_vmlinux_h(<out_dir>)      vmlinux.h into <out_dir>, at configure time
#   bpf_skeleton(<name> SOURCE <x.bpf.c> HEADERS <x.h>...)
#       → ${CMAKE_CURRENT_BINARY_DIR}/<name>.skel.h (struct <name>_bpf) and target <name>_skel_gen

find_program(KEPLER_BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(KEPLER_BPF_STRIP NAMES llvm-strip llvm-strip-14 REQUIRED)
find_program(KEPLER_BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

set(KEPLER_BPF_VMLINUX_H "" CACHE FILEPATH
    "A pinned vmlinux.h to compile against; empty = generate one from this host's BTF")
set(KEPLER_BPF_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "The BTF that vmlinux.h is generated from")

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(KEPLER_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(KEPLER_BPF_ARCH arm64)
else()
  message(FATAL_ERROR "eBPF: no __TARGET_ARCH for processor ${CMAKE_SYSTEM_PROCESSOR}")
endif()

# Generated at configure time, not by a custom command: a custom command's OUTPUT is only
# visible to targets of its own directory (notes §3.5). Rewritten only when it changes, so a
# re-configure does not rebuild the probes.
function(kepler_bpf_vmlinux_h out_dir)
  file(MAKE_DIRECTORY ${out_dir})
  if(KEPLER_BPF_VMLINUX_H)
    if(NOT EXISTS ${KEPLER_BPF_VMLINUX_H})
      message(FATAL_ERROR "eBPF: KEPLER_BPF_VMLINUX_H=${KEPLER_BPF_VMLINUX_H} does not exist")
    endif()
    file(COPY_FILE ${KEPLER_BPF_VMLINUX_H} ${out_dir}/vmlinux.h ONLY_IF_DIFFERENT)
    return()
  endif()
  if(NOT EXISTS ${KEPLER_BPF_BTF})
    message(FATAL_ERROR "eBPF: no BTF at ${KEPLER_BPF_BTF} to generate vmlinux.h from. Build on a "
            "kernel with CONFIG_DEBUG_INFO_BTF=y, or pass -DKEPLER_BPF_VMLINUX_H=<pinned vmlinux.h> "
            "(bpftool btf dump file /sys/kernel/btf/vmlinux format c on a machine that has BTF).")
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
