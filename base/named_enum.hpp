#pragma once
// Enums whose values have string forms (metric labels, configuration values), declared from
// one list of (enumerator, text) pairs so that the two cannot drift apart:
//
//   #define KEPLER_FRUITS(X) X(apple, "apple") X(sour_cherry, "sour-cherry")
//   KEPLER_NAMED_ENUM(fruit, KEPLER_FRUITS)
//
// declares `enum class fruit`, `to_string(fruit)` (the text) and `fruit_from_string(text)`
// (the enumerator whose text it is, if any). The enumerators keep the list's order.

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

#define KEPLER_NAMED_ENUM_ENUMERATOR_(id, text) id,
#define KEPLER_NAMED_ENUM_TEXT_(id, text) std::string_view(text),

#define KEPLER_NAMED_ENUM(type, LIST)                                                             \
  enum class type : unsigned char { LIST(KEPLER_NAMED_ENUM_ENUMERATOR_) };                        \
  inline constexpr std::array type##_texts{LIST(KEPLER_NAMED_ENUM_TEXT_)};                       \
  constexpr std::string_view to_string(type value) {                                             \
    return type##_texts[static_cast<std::size_t>(value)];                                        \
  }                                                                                               \
  constexpr std::optional<type> type##_from_string(std::string_view text) {                      \
    for (std::size_t i = 0; i < type##_texts.size(); ++i)                                        \
      if (type##_texts[i] == text) return static_cast<type>(i);                                  \
    return std::nullopt;                                                                          \
  }
