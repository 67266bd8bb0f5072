// Secret: holds a credential (the parent dft_ token, a bearer token). It has no stream operator and
// no fmt formatter, so it cannot be logged or formatted by accident; reveal() is the one way out and
// is called only where the credential is put on the wire or compared.
#pragma once

#include <string>
#include <string_view>

namespace dfmcp {

class Secret {
public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret &) = default;
  Secret &operator=(const Secret &) = default;
  Secret(Secret &&other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  Secret &operator=(Secret &&other) noexcept {
    if (this != &other) {
      wipe();
      value_ = std::move(other.value_);
      other.wipe();
    }
    return *this;
  }
  ~Secret() { wipe(); }

  bool empty() const { return value_.empty(); }
  const std::string &reveal() const { return value_; }

  // DataFast's masked form of a dft_ token: "dft_" + the next 3 characters + "..." + the last 4.
  std::string display_key() const;

private:
  void wipe() noexcept {
    volatile char *p = value_.data();
    for (std::size_t i = 0; i < value_.size(); ++i)
      p[i] = 0;
    value_.clear();
  }
  std::string value_;
};

// Equal-time comparison of two byte strings (timing reveals only the length).
bool constant_time_equal(std::string_view a, std::string_view b);

// True when `display` is DataFast's displayKey of `token` ("dft_ab1...xyz9"; "…" accepted for "...").
bool display_key_matches(std::string_view display, const Secret &token);

// True when `display` has DataFast's displayKey shape, dft_ + 3 + "..." (or "…") + 4 characters,
// so that display_key_matches() can tell whether it is a given token's.
bool display_key_well_formed(std::string_view display);

// Replaces anything shaped like a DataFast token (dft_… or df_…) in `text` with a redaction marker.
std::string scrub_secrets(std::string_view text);

} // namespace dfmcp
