#include "http/basic_auth.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace kepler {
namespace {

// Only correct passwords are remembered, so this bounds little more than one entry per user
// (bcrypt reads 72 bytes at most: longer passwords with a correct prefix all match).
constexpr std::size_t max_remembered = 256;

/// Strict standard base64 with padding (what Go's StdEncoding accepts); nullopt otherwise.
std::optional<std::string> decode_base64(std::string_view text) {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t group = 0;
    int padding = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      const bool last_group = i + 4 == text.size();
      std::size_t value = 0;
      if (c == '=' && last_group && j >= 2 && (j == 3 || text[i + 3] == '=')) {
        ++padding;
      } else if (padding > 0 || (value = alphabet.find(c)) == std::string_view::npos) {
        return std::nullopt;
      }
      group = group << 6 | static_cast<std::uint32_t>(value);
    }
    out += static_cast<char>(group >> 16);
    if (padding < 2) out += static_cast<char>(group >> 8 & 0xff);
    if (padding < 1) out += static_cast<char>(group & 0xff);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<basic_credentials> parse_basic_authorization(std::string_view header) {
  constexpr std::string_view scheme = "Basic ";
  if (header.size() < scheme.size() || !iequals(header.substr(0, scheme.size()), scheme)) return std::nullopt;
  auto decoded = decode_base64(header.substr(scheme.size()));
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return basic_credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool is_bcrypt_hash(std::string_view hash) {
  static constexpr std::string_view bcrypt_base64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') return false;
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) || !std::isdigit(static_cast<unsigned char>(hash[5])))
    return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return hash.find_first_not_of(bcrypt_base64, 7) == std::string_view::npos;
}

bool bcrypt_matches(const std::string& password, const std::string& hash) {
  // crypt() stops at a NUL byte; Go's bcrypt does not, so such a password cannot match.
  if (password.find('\0') != std::string::npos) return false;
  auto data = std::make_unique<crypt_data>();  // about 32 KiB: not on the stack
  const char* out = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof *data);
  return out != nullptr && std::strlen(out) == hash.size() && CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
}

result<std::shared_ptr<const basic_auth>> basic_auth::create(std::map<std::string, std::string> users) {
  digest key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1)
    return make_error("no random bytes for the credentials cache key");
  return std::shared_ptr<const basic_auth>(new basic_auth(std::move(users), key));
}

basic_auth::digest basic_auth::digest_of(const basic_credentials& credentials) const {
  // The user's length first, so that ("ab", "c") and ("a", "bc") differ.
  std::string message = std::to_string(credentials.user.size()) + ":" + credentials.user + credentials.password;
  digest out{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), out.data(), &size);
  OPENSSL_cleanse(message.data(), message.size());
  return out;
}

bool basic_auth::remembered(const digest& d) const {
  std::lock_guard guard(mutex_);
  return verified_.count(d) != 0;
}

void basic_auth::remember(const digest& d) const {
  std::lock_guard guard(mutex_);
  if (!verified_.insert(d).second) return;
  order_.push_back(d);
  if (order_.size() > max_remembered) {
    verified_.erase(order_.front());
    order_.pop_front();
  }
}

basic_auth::verdict basic_auth::quick_check(std::string_view authorization) const {
  const auto credentials = parse_basic_authorization(authorization);
  if (!credentials) return verdict::denied;
  return remembered(digest_of(*credentials)) ? verdict::granted : verdict::needs_bcrypt;
}

bool basic_auth::verify(std::string_view authorization) const {
  const auto credentials = parse_basic_authorization(authorization);
  if (!credentials || users_.empty()) return false;
  const auto user = users_.find(credentials->user);
  // An unknown user is checked against a real hash (and denied whatever the result) so that
  // it takes as long as a known one.
  const auto& hash = user != users_.end() ? user->second : users_.begin()->second;
  const bool matches = bcrypt_matches(credentials->password, hash);
  if (!matches || user == users_.end()) return false;
  remember(digest_of(*credentials));
  return true;
}

}  // namespace kepler
