#include "support/pg_cluster.hpp"

#include "state/postgres.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace dfmcp::test {

namespace {

// The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin).
std::string find_bindir() {
  std::string best;
  std::error_code ec;
  for (const auto &entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = entry.path().string() + "/bin";
    if (std::filesystem::exists(bin + "/pg_ctl") && bin > best)
      best = bin;
  }
  return best;
}

// A port nobody listens on now (bound to port 0, read, released).
int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(s, reinterpret_cast<sockaddr *>(&addr), &len);
  ::close(s);
  return ntohs(addr.sin_port);
}

struct Ran {
  int code;
  std::string output;
};

Ran shell(const std::string &command) {
  std::string out;
  FILE *p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p)
    return {-1, "popen failed"};
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
    out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

} // namespace

PgCluster::PgCluster() {
  bindir_ = find_bindir();
  REQUIRE_MESSAGE(!bindir_.empty(), "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): "
                                    "apt-get install postgresql-15 (scripts/deps.sh --test does)");
  char tmpl[] = "/tmp/dfmcp-pg-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  dir_ = tmpl;
  if (::geteuid() == 0) {
    Ran chown = shell("chown postgres '" + dir_ + "'");
    REQUIRE_MESSAGE(chown.code == 0, "chown postgres " << dir_ << ": " << chown.output);
  }
  Ran init = shell(run_as_owner("'" + bindir_ + "/initdb' -D '" + dir_ + "/data' -A trust -U dfmcp --no-sync"));
  REQUIRE_MESSAGE(init.code == 0, "initdb failed: " << init.output);
  start();
}

PgCluster::~PgCluster() {
  if (running_)
    stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PgCluster::run_as_owner(const std::string &command) const {
  std::string quoted;
  for (char c : command)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  if (::geteuid() == 0)
    return "runuser -u postgres -- sh -c '" + quoted + "'";
  return "sh -c '" + quoted + "'";
}

void PgCluster::start() {
  std::string last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port = port_ != 0 && attempt == 0 ? port_ : free_port();
    Ran r = shell(run_as_owner("'" + bindir_ + "/pg_ctl' -D '" + dir_ + "/data' -l '" + dir_ +
                               "/log' -w -t 30 -o \"-p " + std::to_string(port) + " -k " + dir_ +
                               " -c listen_addresses=127.0.0.1 -c fsync=off\" start"));
    if (r.code == 0) {
      port_ = port;
      running_ = true;
      return;
    }
    last = r.output + shell("cat '" + dir_ + "/log'").output;
  }
  FAIL("pg_ctl start failed: " << last);
}

bool PgCluster::stop() {
  Ran r = shell(run_as_owner("'" + bindir_ + "/pg_ctl' -D '" + dir_ + "/data' -m fast -w stop"));
  running_ = false;
  if (r.code != 0)
    std::fprintf(stderr, "pg_ctl stop: %s\n", r.output.c_str());
  return r.code == 0;
}

std::string PgCluster::url(const std::string &database) const {
  return "postgresql://dfmcp:pw-s3cret-XYZ@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PgCluster::create_database() {
  std::string name = "t" + std::to_string(++databases_);
  auto conn = state::PgConnection::open(Secret(url("postgres")), std::chrono::seconds(10));
  REQUIRE_MESSAGE(conn, "connect: " << (conn ? "" : conn.error().message));
  auto r = (*conn)->exec("CREATE DATABASE " + name);
  REQUIRE_MESSAGE(r, "CREATE DATABASE: " << (r ? "" : r.error().message));
  return url(name);
}

} // namespace dfmcp::test
