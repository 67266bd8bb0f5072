#include "safety/key_store.hpp"

#include "policy/ceiling.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dfmcp::safety {

Expected<Ok, std::string> prepare_key_dir(const std::string &dir) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return unexpected("cannot use '" + dir + "': " + std::strerror(errno));
    if (::mkdir(dir.c_str(), 0700) != 0)
      return unexpected("cannot create '" + dir + "': " + std::strerror(errno));
    return Ok{};
  }
  if (!S_ISDIR(st.st_mode))
    return unexpected("'" + dir + "' is not a directory");
  if ((st.st_mode & 077) != 0)
    return unexpected("'" + dir + "' is accessible to group or others (mode " +
                      std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                      std::to_string(st.st_mode & 7) + "); keys need a directory only its owner can read (chmod 700)");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return unexpected("cannot write to '" + dir + "': " + std::strerror(errno));
  return Ok{};
}

Expected<std::string, std::string> store_key(const std::string &dir, const std::string &token_id, const Secret &key) {
  if (!policy::is_valid_id(token_id)) // the id comes from DataFast; it must not reshape the path
    return unexpected("DataFast returned an unusable token id");
  std::string path = dir + "/" + token_id + ".key";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return unexpected("cannot create '" + path + "': " + std::strerror(errno));
  std::string content = key.reveal() + "\n";
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return unexpected("cannot write '" + path + "'");
  }
  return path;
}

} // namespace dfmcp::safety
