#include "audit/audit_log.hpp"
#include "support/process.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace dfmcp;
using namespace dfmcp::test;

namespace {

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string &path, const std::string &content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

audit::Record record(std::string tool, std::string decision) {
  audit::Record r;
  r.transport = "stdio";
  r.client = "test";
  r.tool = std::move(tool);
  r.decision = std::move(decision);
  return r;
}

std::vector<std::string> lines_of(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

std::string join_lines(const std::vector<std::string> &lines) {
  std::string out;
  for (const std::string &l : lines)
    out += l + "\n";
  return out;
}

} // namespace

TEST_SUITE("audit") {

TEST_CASE("each line carries the hash of the line before it, from a genesis of zeros") {
  TempDir dir;
  std::string path = dir.path() + "/audit.jsonl";
  {
    auto log = audit::AuditLog::open(path);
    REQUIRE(log.has_value());
    (*log)->append(record("list_access_tokens", "allowed"));
    (*log)->append(record("create_access_token", "refused"));
    CHECK((*log)->records() == 2);
  }
  auto lines = lines_of(read_file(path));
  REQUIRE(lines.size() == 2);
  json first = json::parse(lines[0]), second = json::parse(lines[1]);
  CHECK(first["prev"] == audit::kGenesis);
  CHECK(first["seq"] == 1);
  CHECK(second["prev"] == audit::sha256_hex(lines[0]));
  CHECK(second["decision"] == "refused");
  auto report = audit::verify(path);
  REQUIRE(report.has_value());
  CHECK(report->status == audit::VerifyReport::Status::Intact);
  CHECK(report->lines == 2);
  CHECK(report->head == audit::sha256_hex(lines[1]));
}

TEST_CASE("the chain continues across restarts") {
  TempDir dir;
  std::string path = dir.path() + "/audit.jsonl";
  for (int run = 0; run < 3; ++run) {
    auto log = audit::AuditLog::open(path);
    REQUIRE(log.has_value());
    (*log)->append(record("get_token_ceiling", "allowed"));
  }
  auto report = audit::verify(path);
  CHECK(report->status == audit::VerifyReport::Status::Intact);
  CHECK(report->lines == 3);
}

TEST_CASE("an edited, removed or inserted line is reported at the first break") {
  TempDir dir;
  std::string path = dir.path() + "/audit.jsonl";
  {
    auto log = audit::AuditLog::open(path);
    for (int i = 0; i < 5; ++i)
      (*log)->append(record("list_access_tokens", "allowed"));
  }
  std::vector<std::string> good = lines_of(read_file(path));
  SUBCASE("edited") {
    auto lines = good;
    lines[2].replace(lines[2].find("allowed"), 7, "refused");
    write_file(path, join_lines(lines));
    auto r = audit::verify(path);
    CHECK(r->status == audit::VerifyReport::Status::Broken);
    CHECK(r->bad_line == 4);
    CHECK(r->problem.find("line 3 was edited") != std::string::npos);
  }
  SUBCASE("removed") {
    auto lines = good;
    lines.erase(lines.begin() + 1);
    write_file(path, join_lines(lines));
    CHECK(audit::verify(path)->bad_line == 2);
  }
  SUBCASE("inserted") {
    auto lines = good;
    lines.insert(lines.begin() + 3, lines[3]);
    write_file(path, join_lines(lines));
    CHECK(audit::verify(path)->status == audit::VerifyReport::Status::Broken);
  }
  SUBCASE("the first line removed") {
    auto lines = good;
    lines.erase(lines.begin());
    write_file(path, join_lines(lines));
    auto r = audit::verify(path);
    CHECK(r->bad_line == 1);
    CHECK(r->problem.find("does not start the chain") != std::string::npos);
  }
  SUBCASE("garbage") {
    auto lines = good;
    lines[4] = "not json";
    write_file(path, join_lines(lines));
    CHECK(audit::verify(path)->bad_line == 5);
  }
}

TEST_CASE("a line cut short by a crash is reported, then repaired at the next start") {
  TempDir dir;
  std::string path = dir.path() + "/audit.jsonl";
  {
    auto log = audit::AuditLog::open(path);
    (*log)->append(record("list_access_tokens", "allowed"));
    (*log)->append(record("list_access_tokens", "allowed"));
  }
  std::string text = read_file(path);
  write_file(path, text + R"({"seq":3,"tool":"create_acc)"); // the write a kill -9 interrupted
  auto r = audit::verify(path);
  CHECK(r->status == audit::VerifyReport::Status::IncompleteTail);
  CHECK(r->lines == 2);
  CHECK(r->problem.find("line 3 is incomplete") != std::string::npos);
  {
    auto log = audit::AuditLog::open(path);
    REQUIRE(log.has_value());
    (*log)->append(record("list_access_tokens", "allowed"));
  }
  auto after = audit::verify(path);
  CHECK(after->status == audit::VerifyReport::Status::Intact);
  CHECK(after->lines == 4); // 2 + the repair record + 1
  CHECK(read_file(path).find("\"event\":\"repaired\"") != std::string::npos);
}

TEST_CASE("one process writes an audit file at a time") {
  TempDir dir;
  std::string path = dir.path() + "/audit.jsonl";
  auto first = audit::AuditLog::open(path);
  REQUIRE(first.has_value());
  auto second = audit::AuditLog::open(path);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().find("in use by another datafast-mcp process") != std::string::npos);
}

TEST_CASE("audit lines never hold a key: strings are scrubbed") {
  TempDir dir;
  std::string path = dir.path() + "/audit.jsonl";
  {
    auto log = audit::AuditLog::open(path);
    audit::Record r = record("create_access_token", "refused");
    r.arguments = {{"name", "my key is dft_abcdefghijklmnop1234"}};
    r.reason = "echo dft_zyxwvutsrqponmlkj9876";
    (*log)->append(r);
  }
  std::string text = read_file(path);
  CHECK(text.find("dft_abcdefghijklmnop1234") == std::string::npos);
  CHECK(text.find("dft_zyxwvutsrqponmlkj9876") == std::string::npos);
  CHECK(text.find("dft_[redacted]") != std::string::npos);
}

}
