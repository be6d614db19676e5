#pragma once
// HTTP basic auth against bcrypt hashes (the exporter toolkit's `basic_auth_users`).

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace kepler {

/// A user name and password as sent by a client.
struct basic_credentials {
  std::string user;
  std::string password;
};

/// Decodes an `Authorization` header value of the Basic scheme; nullopt when it is absent,
/// another scheme, or malformed (bad base64, no ':').
std::optional<basic_credentials> parse_basic_authorization(std::string_view header);

/// Whether `hash` is a bcrypt hash the toolkit accepts: `$2a$`, `$2b$` or `$2y$`, a two-digit
/// cost 04..31, then 53 characters of bcrypt's base64 (salt and digest).
bool is_bcrypt_hash(std::string_view hash);

/// Whether `password` hashes to `hash` (libxcrypt; tens of milliseconds at cost 10).
bool bcrypt_matches(const std::string& password, const std::string& hash);

/// Checks credentials against the configured users. A bcrypt check costs tens of ms, so it is
/// split: quick_check() answers from what is already known (cheap, fine on the I/O thread),
/// verify() does the bcrypt work (for a worker thread). Successful checks are remembered as a
/// keyed digest (HMAC-SHA256 with a random per-process key) of user and password, never the
/// password itself, so a scraper pays bcrypt once, not on every scrape. Thread-safe.
class basic_auth {
 public:
  /// The users' bcrypt hashes, checked with a fresh random key for remembered checks; an error
  /// when the system has no random bytes to give.
  static result<std::shared_ptr<const basic_auth>> create(std::map<std::string, std::string> users);

  enum class verdict { granted, denied, needs_bcrypt };

  /// granted: verified before; denied: no or malformed credentials; needs_bcrypt: call verify().
  verdict quick_check(std::string_view authorization) const;

  /// The full check. An unknown user costs a bcrypt run too, so timing does not tell which
  /// user names exist.
  bool verify(std::string_view authorization) const;

 private:
  using digest = std::array<std::uint8_t, 32>;
  basic_auth(std::map<std::string, std::string> users, const digest& key) : users_(std::move(users)), key_(key) {}
  digest digest_of(const basic_credentials& credentials) const;
  bool remembered(const digest& d) const;
  void remember(const digest& d) const;

  std::map<std::string, std::string> users_;
  std::array<std::uint8_t, 32> key_{};
  mutable std::mutex mutex_;
  mutable std::set<digest> verified_;
  mutable std::deque<digest> order_;  // oldest first, to bound verified_
};

}  // namespace kepler
