# mgclr_cuda_arch_record(<archs> <sass_var> <ptx_var>)
#
# What nvcc builds for a CMAKE_CUDA_ARCHITECTURES list, as two comma-separated lists: the real architectures
# (SASS, e.g. "75,80,90,100,120") and the virtual ones (PTX, e.g. "90,120"). CMake's rules: "80" is both
# (code=[compute_80,sm_80]), "80-real" SASS only, "80-virtual" PTX only; suffixes "a" and "f" (90a, 100f)
# are kept. "all", "all-major" and "native" are expanded as CMake expands them (its *_ALL / *_ALL_MAJOR /
# *_NATIVE lists, known after enable_language(CUDA)). mgclr._C reports the result (build_info) and Python
# decides from it whether a GPU is covered; tests/test_cuda_archs.py checks it against the built binary.
# An entry this function does not understand (e.g. CMAKE_CUDA_ARCHITECTURES=OFF: nvcc's own default) gives
# "?" for both: mgclr then reports the architectures as unknown and checks nothing.
function(mgclr_cuda_arch_record archs sass_var ptx_var)
  if(archs STREQUAL "all")
    set(archs "${CMAKE_CUDA_ARCHITECTURES_ALL}")
  elseif(archs STREQUAL "all-major")
    set(archs "${CMAKE_CUDA_ARCHITECTURES_ALL_MAJOR}")
  elseif(archs STREQUAL "native")
    set(archs "${CMAKE_CUDA_ARCHITECTURES_NATIVE}")
  endif()
  set(sass "")
  set(ptx "")
  set(known TRUE)
  if(archs STREQUAL "")
    set(known FALSE)
  endif()
  foreach(arch IN LISTS archs)
    if(arch MATCHES "^([0-9]+[af]?)-real$")
      list(APPEND sass "${CMAKE_MATCH_1}")
    elseif(arch MATCHES "^([0-9]+[af]?)-virtual$")
      list(APPEND ptx "${CMAKE_MATCH_1}")
    elseif(arch MATCHES "^([0-9]+[af]?)$")
      list(APPEND sass "${CMAKE_MATCH_1}")
      list(APPEND ptx "${CMAKE_MATCH_1}")
    else()
      set(known FALSE)
    endif()
  endforeach()
  if(NOT known)
    message(WARNING "mgclr: cannot tell what nvcc builds for CUDA architectures '${archs}': mgclr will report "
                    "them as unknown and cannot say whether a GPU is covered")
    set(sass "?")
    set(ptx "?")
  endif()
  list(REMOVE_DUPLICATES sass)
  list(REMOVE_DUPLICATES ptx)
  string(REPLACE ";" "," sass "${sass}")
  string(REPLACE ";" "," ptx "${ptx}")
  set(${sass_var} "${sass}" PARENT_SCOPE)
  set(${ptx_var} "${ptx}" PARENT_SCOPE)
endfunction()

# cmake -DMGCLR_ARCHS="75-real;80" -P cmake/MgclrCudaArchs.cmake prints "sass=75,80 ptx=80" (for tests).
if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE AND DEFINED MGCLR_ARCHS)
  mgclr_cuda_arch_record("${MGCLR_ARCHS}" sass ptx)
  message(NOTICE "sass=${sass} ptx=${ptx}")
endif()
