# Installation beyond the binary and schemas (the man page, the example client configs, the
# README) and CPack's Debian package. Include it after the datafast-mcp target is defined:
#   include(cmake/packaging.cmake)
# `cmake --install BUILD` then installs everything; `cpack -G DEB` (in BUILD) builds the .deb,
# which scripts/check-deb installs and runs in a clean Debian 12 chroot.

include(GNUInstallDirs)

option(DFMCP_MANPAGE "Generate the datafast-mcp(1) man page from --help (runs the built binary)" ON)

# dfmcp_add_manpage(<target>): builds man/datafast-mcp.1 from `<target> --help` (and each
# subcommand's --help) with cmake/gen_manpage.cmake after <target> is built, as part of `all`,
# and installs it to share/man/man1. The FILES section names CMAKE_INSTALL_PREFIX's paths.
function(dfmcp_add_manpage target)
  set(out ${CMAKE_BINARY_DIR}/man/datafast-mcp.1)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DBINARY=$<TARGET_FILE:${target}> -DOUTPUT=${out}
            -DPREFIX=${CMAKE_INSTALL_PREFIX} -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/gen_manpage.cmake
    DEPENDS ${target} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/gen_manpage.cmake
    COMMENT "Generating the man page datafast-mcp.1 from --help"
    VERBATIM)
  add_custom_target(dfmcp_manpage ALL DEPENDS ${out})
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endfunction()

if(DFMCP_MANPAGE AND TARGET datafast-mcp AND NOT CMAKE_CROSSCOMPILING)
  dfmcp_add_manpage(datafast-mcp)
endif()

install(DIRECTORY ${CMAKE_SOURCE_DIR}/agent-configs/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/datafast-mcp/agent-configs)
# Debian policy: the license as the copyright file.
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/datafast-mcp)
install(FILES ${CMAKE_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/datafast-mcp RENAME copyright)

# ---- CPack: one .deb ------------------------------------------------------------------------

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "datafast-mcp")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "datafast-mcp maintainers")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "MCP server that lets AI agents mint DataFast account tokens under a ceiling")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES TRUE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # datafast-mcp_<version>-<release>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
# A placeholder address until the project has a public one (see packaging/README.md).
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "datafast-mcp maintainers <maintainers@datafast-mcp.invalid>")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Debian's extended description: continuation lines start with a space, "." is a blank line.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "${CPACK_PACKAGE_DESCRIPTION_SUMMARY}
 datafast-mcp is a Model Context Protocol server, over stdio or Streamable HTTP,
 with four tools to list, create and revoke DataFast account tokens (dft_...).
 Every token it mints or revokes must lie within a configured ceiling of
 permissions and websites; a request beyond it is refused before it reaches
 DataFast.
 .
 The package ships the server, its configuration JSON Schemas, a man page, and
 ready configurations for MCP clients (Claude, Cursor, VS Code, Windsurf,
 Codex, Gemini CLI, Zed, Continue) in /usr/share/datafast-mcp/agent-configs.")
# ca-certificates: the system store the server checks DataFast's certificate against.
if(NOT DEFINED CPACK_DEBIAN_PACKAGE_SHLIBDEPS)
  find_program(DFMCP_DPKG_SHLIBDEPS dpkg-shlibdeps)
  if(DFMCP_DPKG_SHLIBDEPS)
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  endif()
endif()
if(CPACK_DEBIAN_PACKAGE_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "ca-certificates") # dpkg-shlibdeps adds the libraries
else()
  # What dpkg-shlibdeps computed on Debian 12 for the libraries `ldd datafast-mcp` lists (their
  # packages, found with dpkg -S: libc6, libcpp-httplib0.11, libfmt9, libgcc-s1, libspdlog1.10,
  # which provides libspdlog1.10-fmt9, libssl3, libstdc++6), for hosts without dpkg-dev.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "ca-certificates, libc6 (>= 2.34), libcpp-httplib0.11 (>= 0.11.4+ds), libfmt9 (>= 9.1.0+ds1), libgcc-s1 (>= 3.0), libspdlog1.10-fmt9, libssl3 (>= 3.0.0), libstdc++6 (>= 12)")
endif()

include(CPack)
