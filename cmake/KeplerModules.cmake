# The layout: one folder = one module = one static library `kepler_<folder>`, with its own
# include root and only the dependencies this table allows (docs/architecture.md explains the
# table; test/layout/check_layout.py reads it too and checks every #include against it).
# A module may use the modules it lists and, through them, what those list.

set(KEPLER_MODULES base config sensors bpf k8s attribution metrics http actors)
set(KEPLER_MODULE_DEPS_base "")
set(KEPLER_MODULE_DEPS_config base)
set(KEPLER_MODULE_DEPS_sensors base config)
set(KEPLER_MODULE_DEPS_bpf base config sensors)
set(KEPLER_MODULE_DEPS_k8s base config)
set(KEPLER_MODULE_DEPS_attribution base sensors bpf k8s)
set(KEPLER_MODULE_DEPS_metrics base config attribution)
set(KEPLER_MODULE_DEPS_http base)
set(KEPLER_MODULE_DEPS_actors base config sensors bpf k8s attribution metrics http)

# Makes <build>/include/<folder>/<folder> a link to the source folder and adds
# <build>/include/<folder> to the target's include path: `#include "<folder>/x.hpp"` works for
# the target and whatever links it, and nothing else of the tree comes with it.
function(kepler_include_root target scope folder)
  set(root ${PROJECT_BINARY_DIR}/include/${folder})
  file(MAKE_DIRECTORY ${root})
  if(NOT EXISTS ${root}/${folder})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${folder} ${root}/${folder} SYMBOLIC)
  endif()
  target_include_directories(${target} ${scope} ${root})
endfunction()

# kepler_module(<folder> [SOURCES <files…>] DEPENDS <modules…>
#               [PUBLIC_LIBS <targets…>] [PRIVATE_LIBS <targets…>])
# Called from <folder>/CMakeLists.txt; DEPENDS may only name modules of the folder's row above.
# With its own include root (above), an include of a module that the table does not allow
# fails to compile. No SOURCES: a header-only module.
function(kepler_module name)
  cmake_parse_arguments(arg "" "" "SOURCES;DEPENDS;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  if(NOT name IN_LIST KEPLER_MODULES)
    message(FATAL_ERROR "${name}: not a module of cmake/KeplerModules.cmake")
  endif()
  set(allowed ${KEPLER_MODULE_DEPS_${name}})
  foreach(dependency IN LISTS arg_DEPENDS)
    if(NOT dependency IN_LIST allowed)
      message(FATAL_ERROR "${name} may not depend on ${dependency} (cmake/KeplerModules.cmake)")
    endif()
  endforeach()
  if(arg_SOURCES)
    add_library(kepler_${name} STATIC ${arg_SOURCES})
    set(scope PUBLIC)
  else()
    add_library(kepler_${name} INTERFACE)  # headers only
    set(scope INTERFACE)
  endif()
  kepler_include_root(kepler_${name} ${scope} ${name})
  foreach(dependency IN LISTS arg_DEPENDS)
    target_link_libraries(kepler_${name} ${scope} kepler_${dependency})
  endforeach()
  target_link_libraries(kepler_${name} ${scope} ${arg_PUBLIC_LIBS})
  if(arg_PRIVATE_LIBS)
    target_link_libraries(kepler_${name} PRIVATE ${arg_PRIVATE_LIBS})
  endif()
endfunction()
