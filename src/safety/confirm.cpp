#include "safety/confirm.hpp"

#include "audit/audit_log.hpp"
#include "util/random.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>

namespace dfmcp::safety {

namespace {

std::string b64url(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(data[k])); };
  for (; i + 2 < data.size(); i += 3) {
    unsigned n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int s = 18; s >= 0; s -= 6)
      out.push_back(kAlphabet[(n >> s) & 63]);
  }
  if (i + 1 == data.size()) {
    unsigned n = byte(i) << 16;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
  } else if (i + 2 == data.size()) {
    unsigned n = (byte(i) << 16) | (byte(i + 1) << 8);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> b64url_decode(std::string_view s) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char c : s) {
    int v = value(c);
    if (v < 0)
      return std::nullopt;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xFF));
    }
  }
  return out;
}

std::string hmac(const std::string &key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char *>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char *>(out), len);
}

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

std::string create_needs_confirmation(ConfirmMode mode, const policy::CreatePlan &plan) {
  if (mode == ConfirmMode::Never)
    return "";
  std::vector<std::string> broad;
  for (const std::string &p : plan.permissions)
    if (p == "*")
      broad.push_back("full access (*)");
    else if (p.ends_with(":write"))
      broad.push_back(p);
  if (plan.website_ids.empty())
    broad.push_back("all websites");
  if (!broad.empty())
    return "grants " + policy::join(broad, ", ");
  return mode == ConfirmMode::Always ? "every create needs confirmation (confirm: always)" : "";
}

json confirmation_request(const std::string &question, bool with_mode) {
  json params{{"message", question},
              {"requestedSchema",
               {{"type", "object"},
                {"properties",
                 {{"confirm",
                   {{"type", "boolean"},
                    {"title", "Allow this?"},
                    {"description", "Nothing is done unless you say yes."},
                    {"default", false}}}}},
                {"required", {"confirm"}}}}};
  if (with_mode)
    params["mode"] = "form";
  return params;
}

bool confirmed(const json &r) {
  return r.is_object() && r.value("action", "") == "accept" && r.contains("content") && r["content"].is_object() &&
         r["content"].contains("confirm") && r["content"]["confirm"] == true;
}

bool allows_form_elicitation(const json &caps) {
  if (!caps.is_object() || !caps.contains("elicitation") || !caps["elicitation"].is_object())
    return false;
  const json &e = caps["elicitation"];
  return e.contains("form") || !e.contains("url");
}

const std::string &StateSealer::key() {
  std::call_once(key_once_, [this] { key_ = random_hex(32); });
  return key_;
}

std::string StateSealer::seal(const std::string &client, const std::string &tool, const json &arguments,
                              std::chrono::seconds ttl) {
  json payload{{"c", client}, {"t", tool}, {"d", audit::sha256_hex(dump_json(arguments))},
               {"e", unix_now() + ttl.count()}, {"n", random_hex(16)}};
  std::string p = b64url(dump_json(payload));
  return p + "." + b64url(hmac(key(), p));
}

StateSealer::Check StateSealer::open(const std::string &state, const std::string &client, const std::string &tool,
                                     const json &arguments) {
  std::size_t dot = state.find('.');
  if (dot == std::string::npos)
    return Check::Invalid;
  std::string p = state.substr(0, dot);
  auto mac = b64url_decode(state.substr(dot + 1));
  std::string expected = hmac(key(), p);
  if (!mac || mac->size() != expected.size() || CRYPTO_memcmp(mac->data(), expected.data(), expected.size()) != 0)
    return Check::Invalid;
  auto decoded = b64url_decode(p);
  auto payload = decoded ? parse_json(*decoded) : unexpected(std::string("bad"));
  if (!payload || !payload->is_object())
    return Check::Invalid;
  const json &j = *payload;
  if (j.value("c", "") != client || j.value("t", "") != tool ||
      j.value("d", "") != audit::sha256_hex(dump_json(arguments)))
    return Check::Invalid;
  long long now = unix_now();
  if (!j.contains("e") || !j["e"].is_number_integer() || j["e"].get<long long>() < now)
    return Check::Expired;
  std::string nonce = j.value("n", "");
  std::lock_guard lock(mutex_);
  for (auto it = used_expiry_.begin(); it != used_expiry_.end();) {
    if (it->second < now) {
      used_.erase(it->first);
      it = used_expiry_.erase(it);
    } else {
      ++it;
    }
  }
  if (!used_.insert(nonce).second)
    return Check::Replayed;
  used_expiry_[nonce] = j["e"].get<long long>();
  return Check::Valid;
}

} // namespace dfmcp::safety
