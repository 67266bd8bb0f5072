# Build-time code generation from schemas/: the permission vocabulary as a C++ header (so the pure
# policy code needs no JSON parser) and every schema file as an embedded string.

set(DFMCP_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR})

function(dfmcp_generate_permissions schema output)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DSCHEMA=${schema} -DOUTPUT=${output}
            -P ${DFMCP_CMAKE_DIR}/gen_permissions.cmake
    DEPENDS ${schema} ${DFMCP_CMAKE_DIR}/gen_permissions.cmake
    COMMENT "Generating the permission vocabulary from ${schema}"
    VERBATIM)
endfunction()

function(dfmcp_embed_files output base_dir)
  set(files ${ARGN})
  list(JOIN files "|" joined)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DBASE=${base_dir} "-DFILES=${joined}"
            -P ${DFMCP_CMAKE_DIR}/gen_embed.cmake
    DEPENDS ${files} ${DFMCP_CMAKE_DIR}/gen_embed.cmake
    COMMENT "Embedding schemas"
    VERBATIM)
endfunction()
