#pragma once
// Enums whose values have string forms (metric labels, configuration values), declared from
// one list of (enumerator, text) pairs so that the two cannot drift apart:
//
//   #define KEPLER_FRUITS(X) X(apple, "apple") X(sour_cherry, "sour-cherry")
//   KEPLER_NAMED_ENUM(fruit, KEPLER_FRUITS)
//
// declares `enum class fruit` (the enumerators in the list's order), `to_string(fruit)` (the
// text) and `enum_texts(fruit{})` (every text, in order), which parse_enum<fruit>(text) and
// enum_choices<fruit>() ("apple, sour-cherry", for messages) build on.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#define KEPLER_NAMED_ENUM_ENUMERATOR_(id, text) id,
#define KEPLER_NAMED_ENUM_TEXT_(id, text) std::string_view(text),

#define KEPLER_NAMED_ENUM(type, LIST)                                       \
  enum class type : unsigned char { LIST(KEPLER_NAMED_ENUM_ENUMERATOR_) };  \
  inline constexpr std::array type##_texts_{LIST(KEPLER_NAMED_ENUM_TEXT_)}; \
  constexpr const auto& enum_texts(type) { return type##_texts_; }          \
  constexpr std::string_view to_string(type value) { return type##_texts_[static_cast<std::size_t>(value)]; }

namespace kepler {

/// The enumerator whose text `text` is, if any.
template <class E>
constexpr std::optional<E> parse_enum(std::string_view text) {
  const auto& texts = enum_texts(E{});
  for (std::size_t i = 0; i < texts.size(); ++i)
    if (texts[i] == text) return static_cast<E>(i);
  return std::nullopt;
}

/// Every text of E, comma-separated, for messages ("one of debug, info, warn, error").
template <class E>
std::string enum_choices() {
  std::string out;
  for (auto text : enum_texts(E{})) {
    if (!out.empty()) out += ", ";
    out += text;
  }
  return out;
}

}  // namespace kepler
